"""MNS messages through the unmodified aliyun-mns-sdk: send, receive (long polling), peek, delete,
visibility, delays, priorities and retention, all on the emulator's clock."""

from __future__ import annotations

import base64
import hashlib
import socket
import threading
import time
from email.utils import formatdate

import pytest
from mns.account import Account
from mns.mns_exception import MNSServerException
from mns.queue import Message, Queue, QueueMeta

from emulator.auth.mns import sign, string_to_sign
from emulator.testing.server import LiveServer

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def queue(emulator: LiveServer) -> Queue:
    account = Account(emulator.url, emulator.access_key_id, emulator.access_key_secret)
    q = account.get_queue("work")
    q.create(QueueMeta(vis_timeout=30))
    return q


def long_polls(emulator: LiveServer) -> int:
    return emulator.admin("GET", "health")["services"]["mns"]["long_polls"]


def error_type(call) -> str:
    with pytest.raises(MNSServerException) as info:
        call()
    return info.value.type


def test_send_receive_delete(queue: Queue) -> None:
    sent = queue.send_message(Message("任务 {\"a\": 1}"))
    wire_body = base64.b64encode("任务 {\"a\": 1}".encode()).decode()  # the SDK base64-encodes
    assert sent.message_body_md5 == hashlib.md5(wire_body.encode()).hexdigest().upper()
    got = queue.receive_message(0)
    assert got.message_body == "任务 {\"a\": 1}".encode()
    assert (got.message_id, got.dequeue_count, got.priority) == (sent.message_id, 1, 8)
    assert got.next_visible_time - got.first_dequeue_time == 30_000
    assert got.enqueue_time <= got.first_dequeue_time
    assert all(c.isalnum() or c in "-_=" for c in got.receipt_handle)
    queue.delete_message(got.receipt_handle)
    assert error_type(lambda: queue.receive_message(0)) == "MessageNotExist"
    assert error_type(lambda: queue.delete_message(got.receipt_handle)) == "MessageNotExist"


def test_body_is_stored_verbatim_without_encoding(queue: Queue) -> None:
    queue.set_encoding(False)
    queue.send_message(Message("<not base64 & raw>"))
    assert queue.receive_message_with_str_body(0).message_body == "<not base64 & raw>"


def test_invisible_message_comes_back_after_visibility_timeout(queue: Queue, emulator: LiveServer) -> None:
    queue.send_message(Message("again"))
    first = queue.receive_message(0)
    assert error_type(lambda: queue.receive_message(0)) == "MessageNotExist"
    assert queue.get_attributes().inactive_messages == 1
    emulator.advance(31)
    second = queue.receive_message(0)
    assert (second.message_id, second.dequeue_count) == (first.message_id, 2)
    assert second.first_dequeue_time == first.first_dequeue_time
    assert error_type(lambda: queue.delete_message(first.receipt_handle)) == "ReceiptHandleError"
    queue.delete_message(second.receipt_handle)


def test_change_visibility_gives_a_new_handle(queue: Queue, emulator: LiveServer) -> None:
    queue.send_message(Message("slow job"))
    got = queue.receive_message(0)
    changed = queue.change_message_visibility(got.receipt_handle, 100)
    assert changed.receipt_handle != got.receipt_handle
    assert int(changed.next_visible_time) >= got.next_visible_time + 60_000  # the SDK gives a str
    assert error_type(lambda: queue.delete_message(got.receipt_handle)) == "ReceiptHandleError"
    emulator.advance(40)
    assert error_type(lambda: queue.receive_message(0)) == "MessageNotExist"
    emulator.advance(70)
    assert queue.receive_message(0).dequeue_count == 2


def test_delayed_messages_and_priority(queue: Queue, emulator: LiveServer) -> None:
    queue.send_message(Message("later", delay_seconds=60))
    queue.send_message(Message("low", priority=16))
    queue.send_message(Message("high", priority=1))
    attrs = queue.get_attributes()
    assert (attrs.active_messages, attrs.delay_messages) == (2, 1)
    for expected in (b"high", b"low"):
        got = queue.receive_message(0)
        assert got.message_body == expected
        queue.delete_message(got.receipt_handle)
    assert error_type(lambda: queue.receive_message(0)) == "MessageNotExist"
    emulator.advance(61)
    assert queue.receive_message(0).message_body == b"later"


def test_queue_default_delay_applies(queue: Queue, emulator: LiveServer) -> None:
    meta = QueueMeta()
    meta.set_delay_seconds(120)
    queue.set_attributes(meta)
    queue.send_message(Message("waits"))
    assert error_type(queue.peek_message) == "MessageNotExist"
    emulator.advance(120)
    assert queue.peek_message().message_body == b"waits"


def test_retention_drops_old_messages(queue: Queue, emulator: LiveServer) -> None:
    meta = QueueMeta()
    meta.set_message_retention_period(60)
    queue.set_attributes(meta)
    queue.send_message(Message("short-lived"))
    emulator.advance(61)
    assert error_type(lambda: queue.receive_message(0)) == "MessageNotExist"
    assert queue.get_attributes().active_messages == 0


def test_batch_send_receive_peek_delete(queue: Queue) -> None:
    sent = queue.batch_send_message([Message(f"m{i}") for i in range(5)])
    assert len({m.message_id for m in sent}) == 5
    peeked = queue.batch_peek_message(3)
    assert [m.message_body for m in peeked] == [b"m0", b"m1", b"m2"]
    assert queue.peek_message().dequeue_count == 0
    got = queue.batch_receive_message(16, 0)
    assert [m.message_body for m in got] == [f"m{i}".encode() for i in range(5)]
    queue.batch_delete_message([m.receipt_handle for m in got[:4]])
    with pytest.raises(MNSServerException) as info:
        queue.batch_delete_message([got[4].receipt_handle, got[0].receipt_handle])
    assert info.value.type == "MessageNotExist"
    assert [e["ReceiptHandle"] for e in info.value.sub_errors] == [got[0].receipt_handle]
    assert error_type(lambda: queue.receive_message(0)) == "MessageNotExist"


def test_batch_send_reports_each_failure(queue: Queue) -> None:
    with pytest.raises(MNSServerException) as info:
        queue.batch_send_message([Message("fine"), Message("bad priority", priority=17)])
    errors = info.value.sub_errors
    assert errors[0].keys() == {"MessageId", "MessageBodyMD5"}
    assert errors[1]["ErrorCode"] == "InvalidArgument"
    assert queue.receive_message(0).message_body == b"fine"


def test_oversize_message_is_refused(queue: Queue) -> None:
    meta = QueueMeta()
    meta.set_maximum_message_size(1024)
    queue.set_attributes(meta)
    queue.set_encoding(False)
    queue.send_message(Message("x" * 1024))
    assert error_type(lambda: queue.send_message(Message("x" * 1025))) == "InvalidArgument"


def test_long_poll_returns_the_message_sent_meanwhile(queue: Queue, emulator: LiveServer) -> None:
    account = Account(emulator.url, emulator.access_key_id, emulator.access_key_secret)
    consumer = account.get_queue("work")  # its own connection: SDK clients are not thread-safe
    result: dict[str, object] = {}

    def receive() -> None:
        try:
            result["message"] = consumer.receive_message(10)
        except Exception as exc:  # reported below
            result["error"] = exc

    thread = threading.Thread(target=receive)
    thread.start()
    deadline = time.monotonic() + 10
    while long_polls(emulator) == 0 and time.monotonic() < deadline:
        time.sleep(0.01)  # until the receive is parked on the server
    assert long_polls(emulator) == 1
    queue.send_message(Message("wake up"))
    thread.join(30)
    assert not thread.is_alive()
    assert "error" not in result, result
    assert result["message"].message_body == b"wake up"


def test_long_poll_ends_with_message_not_exist_when_the_clock_passes(
        queue: Queue, emulator: LiveServer) -> None:
    result: dict[str, object] = {}
    account = Account(emulator.url, emulator.access_key_id, emulator.access_key_secret)

    def receive() -> None:
        try:
            account.get_queue("work").receive_message(30)
        except MNSServerException as exc:
            result["type"] = exc.type

    thread = threading.Thread(target=receive)
    thread.start()
    while thread.is_alive() and "type" not in result:
        emulator.advance(31)  # a poll that started after this move still ends at the next one
        thread.join(0.2)
    thread.join(30)
    assert result["type"] == "MessageNotExist"


def test_unknown_queue(emulator: LiveServer) -> None:
    account = Account(emulator.url, emulator.access_key_id, emulator.access_key_secret)
    missing = account.get_queue("missing")
    assert error_type(lambda: missing.send_message(Message("x"))) == "QueueNotExist"
    assert error_type(lambda: missing.receive_message(1)) == "QueueNotExist"


def test_a_consumer_that_hangs_up_takes_no_message(queue: Queue, emulator: LiveServer) -> None:
    with socket.create_connection(("127.0.0.1", emulator.port)) as sock:
        target = "/queues/work/messages?waitseconds=30"
        signed = {"x-mns-version": "2015-06-06", "date": formatdate(usegmt=True)}
        signature = sign(emulator.access_key_secret, string_to_sign("GET", target, signed))
        request = (f"GET {target} HTTP/1.1\r\nHost: {emulator.endpoint}\r\n"
                   + "".join(f"{k}: {v}\r\n" for k, v in signed.items())
                   + f"Authorization: MNS {emulator.access_key_id}:{signature}\r\n\r\n")
        sock.sendall(request.encode())
        deadline = time.monotonic() + 10
        while long_polls(emulator) == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert long_polls(emulator) == 1
    deadline = time.monotonic() + 10
    while long_polls(emulator) and time.monotonic() < deadline:
        time.sleep(0.01)  # the server notices the hang-up
    assert long_polls(emulator) == 0
    queue.send_message(Message("for someone still listening"))
    assert queue.receive_message(0).dequeue_count == 1


def test_receive_without_wait_uses_the_queue_polling_wait(queue: Queue, emulator: LiveServer) -> None:
    meta = QueueMeta()
    meta.set_polling_wait_seconds(20)
    queue.set_attributes(meta)
    consumer = Account(emulator.url, emulator.access_key_id, emulator.access_key_secret).get_queue("work")
    result: dict[str, object] = {}
    thread = threading.Thread(target=lambda: result.update(message=consumer.receive_message()))
    thread.start()
    deadline = time.monotonic() + 10
    while long_polls(emulator) == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert long_polls(emulator) == 1  # parked although the SDK sent no waitseconds
    queue.send_message(Message("polled"))
    thread.join(30)
    assert result["message"].message_body == b"polled"
