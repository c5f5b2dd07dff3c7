"""MNS topics and subscriptions through the unmodified aliyun-mns-sdk: fan-out to queues in every
NotifyContentFormat, FilterTag, and HTTP pushes with retries on the emulator clock."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.etree import ElementTree as ET

import pytest
from mns.account import Account
from mns.mns_common import TopicHelper
from mns.mns_exception import MNSServerException
from mns.mns_request import (
    SetSubscriptionAttributesRequest,
    SetSubscriptionAttributesResponse,
    SetTopicAttributesRequest,
    SetTopicAttributesResponse,
)
from mns.queue import QueueMeta
from mns.subscription import SubscriptionMeta
from mns.topic import Base64TopicMessage, TopicMessage, TopicMeta

from emulator.testing.server import LiveServer

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
NS = "{http://mns.aliyuncs.com/doc/v1/}"


@pytest.fixture
def account(emulator: LiveServer) -> Account:
    return Account(emulator.url, emulator.access_key_id, emulator.access_key_secret)


def queue_endpoint(emulator: LiveServer, name: str) -> str:
    return TopicHelper.generate_queue_endpoint(emulator.region, emulator.account_id, name)


def error_type(call) -> str:
    with pytest.raises(MNSServerException) as info:
        call()
    return info.value.type


def test_topic_lifecycle(account: Account, emulator: LiveServer) -> None:
    topic = account.get_topic("events")
    assert topic.create(TopicMeta(maximum_message_size=2048)) == f"{emulator.url}/topics/events"
    assert topic.create(TopicMeta(maximum_message_size=2048)).endswith("/topics/events")
    assert error_type(lambda: topic.create(TopicMeta(maximum_message_size=4096))) == "TopicAlreadyExist"
    attrs = topic.get_attributes()
    assert (attrs.topic_name, attrs.maximum_message_size, attrs.message_count) == ("events", 2048, 0)
    assert attrs.message_retention_period == 86400

    account.get_client().set_topic_attributes(SetTopicAttributesRequest("events", 8192, True),
                                              SetTopicAttributesResponse())
    attrs = topic.get_attributes()
    assert (attrs.maximum_message_size, attrs.logging_enabled) == (8192, True)

    account.get_topic("events-2").create(TopicMeta())
    assert account.list_topic(prefix="events", ret_number=1) == (
        [f"{emulator.url}/topics/events"], "events-2")
    topic.delete()
    assert error_type(topic.get_attributes) == "TopicNotExist"
    assert error_type(lambda: topic.publish_message(TopicMessage("x"))) == "TopicNotExist"


def test_subscription_lifecycle(account: Account, emulator: LiveServer) -> None:
    account.get_topic("t").create(TopicMeta())
    sub = account.get_subscription("t", "to-inbox")
    endpoint = queue_endpoint(emulator, "inbox")
    meta = SubscriptionMeta(endpoint, "EXPONENTIAL_DECAY_RETRY", "SIMPLIFIED", "video")
    assert sub.subscribe(meta) == f"{emulator.url}/topics/t/subscriptions/to-inbox"
    assert sub.subscribe(meta).endswith("/subscriptions/to-inbox")
    changed = SubscriptionMeta(endpoint, "BACKOFF_RETRY", "JSON")
    assert error_type(lambda: sub.subscribe(changed)) == "SubscriptionAlreadyExist"
    attrs = sub.get_attributes()
    assert (attrs.endpoint, attrs.notify_strategy, attrs.notify_content_format, attrs.filter_tag) == (
        endpoint, "EXPONENTIAL_DECAY_RETRY", "SIMPLIFIED", "video")
    assert attrs.topic_owner == emulator.account_id

    request = SetSubscriptionAttributesRequest("t", "to-inbox", notify_strategy="BACKOFF_RETRY")
    account.get_client().set_subscription_attributes(request, SetSubscriptionAttributesResponse())
    assert sub.get_attributes().notify_strategy == "BACKOFF_RETRY"

    account.get_subscription("t", "other").subscribe(SubscriptionMeta(endpoint))
    urls, marker = account.get_topic("t").list_subscription()
    assert urls == [f"{emulator.url}/topics/t/subscriptions/other",
                    f"{emulator.url}/topics/t/subscriptions/to-inbox"] and marker == ""
    sub.unsubscribe()
    assert error_type(sub.get_attributes) == "SubscriptionNotExist"
    bad = SubscriptionMeta(endpoint, "SOMETIMES")
    assert error_type(lambda: account.get_subscription("t", "bad").subscribe(bad)) == "InvalidArgument"


def test_simplified_base64_message_reaches_default_encoding_queues_once(
        account: Account, emulator: LiveServer) -> None:
    topic = account.get_topic("jobs-done")
    topic.create(TopicMeta())
    for name in ("q-a", "q-b"):
        account.get_queue(name).create(QueueMeta())
        account.get_subscription("jobs-done", name).subscribe(
            SubscriptionMeta(queue_endpoint(emulator, name), notify_content_format="SIMPLIFIED"))
    published = topic.publish_message(Base64TopicMessage('{"job": "done", "名": 1}'))
    assert published.message_id
    for name in ("q-a", "q-b"):
        queue = account.get_queue(name)  # default: base64-decodes what it receives
        got = queue.receive_message(0)
        assert got.message_body == '{"job": "done", "名": 1}'.encode()
        queue.delete_message(got.receipt_handle)
        assert error_type(lambda q=queue: q.receive_message(0)) == "MessageNotExist"


def test_xml_and_json_envelopes(account: Account, emulator: LiveServer) -> None:
    topic = account.get_topic("envelopes")
    topic.create(TopicMeta())
    for fmt in ("XML", "JSON"):
        account.get_queue(f"env-{fmt.lower()}").create(QueueMeta())
        account.get_subscription("envelopes", fmt.lower()).subscribe(
            SubscriptionMeta(queue_endpoint(emulator, f"env-{fmt.lower()}"), notify_content_format=fmt))
    published = topic.publish_message(TopicMessage("hello <topic>", "video"))

    xml_queue = account.get_queue("env-xml")
    xml_queue.set_encoding(False)
    root = ET.fromstring(xml_queue.receive_message_with_str_body(0).message_body)
    fields = {child.tag.removeprefix(NS): child.text for child in root}
    assert root.tag == NS + "Notification"
    assert fields["Message"] == "hello <topic>" and fields["MessageTag"] == "video"
    assert (fields["TopicName"], fields["SubscriptionName"]) == ("envelopes", "xml")
    assert fields["MessageId"] == published.message_id and fields["TopicOwner"] == emulator.account_id
    assert fields["MessageMD5"] == published.message_body_md5 and int(fields["PublishTime"]) > 0

    json_queue = account.get_queue("env-json")
    json_queue.set_encoding(False)
    body = json.loads(json_queue.receive_message_with_str_body(0).message_body)
    assert body["Message"] == "hello <topic>" and body["SubscriptionName"] == "json"
    assert body["MessageId"] == published.message_id and body["PublishTime"].isdigit()


def test_filter_tag(account: Account, emulator: LiveServer) -> None:
    topic = account.get_topic("tagged")
    topic.create(TopicMeta())
    account.get_queue("videos").create(QueueMeta())
    account.get_queue("all").create(QueueMeta())
    account.get_subscription("tagged", "videos").subscribe(SubscriptionMeta(
        queue_endpoint(emulator, "videos"), notify_content_format="SIMPLIFIED", filter_tag="video"))
    account.get_subscription("tagged", "all").subscribe(SubscriptionMeta(
        queue_endpoint(emulator, "all"), notify_content_format="SIMPLIFIED"))
    topic.publish_message(Base64TopicMessage("an image", "image"))
    topic.publish_message(Base64TopicMessage("a video", "video"))
    assert [m.message_body for m in account.get_queue("videos").batch_receive_message(16, 0)] == [b"a video"]
    assert sorted(m.message_body for m in account.get_queue("all").batch_receive_message(16, 0)) == [
        b"a video", b"an image"]


class Receiver:
    """A loopback HTTP subscriber that fails its first `failures` pushes with 500."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.pushes: list[tuple[dict[str, str], bytes, int]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = 500 if len(receiver.pushes) < receiver.failures else 204
                receiver.pushes.append(({k.lower(): v for k, v in self.headers.items()}, body, status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/notifications"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, count: int, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while len(self.pushes) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(self.pushes) >= count, self.pushes


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(failures=1)
    yield r
    r.server.shutdown()


def test_http_push_is_retried_on_the_emulator_clock(
        account: Account, emulator: LiveServer, receiver: Receiver) -> None:
    topic = account.get_topic("hooks")
    topic.create(TopicMeta())
    account.get_subscription("hooks", "web").subscribe(
        SubscriptionMeta(receiver.url, "BACKOFF_RETRY", "SIMPLIFIED"))
    published = topic.publish_message(TopicMessage("task finished", "imm"))
    receiver.wait_for(1)  # the first push is immediate, and it fails
    headers, body, _ = receiver.pushes[0]
    assert body == b"task finished"
    assert headers["x-mns-message-id"] == published.message_id
    assert headers["x-mns-message-tag"] == "imm"
    assert base64.b64decode(headers["x-mns-signing-cert-url"]).startswith(b"http")
    assert headers["x-mns-request-id"] and headers["authorization"]
    assert base64.b64decode(headers["content-md5"]) == hashlib.md5(body).hexdigest().encode()
    assert topic.get_attributes().message_count == 1
    emulator.advance(20)  # BACKOFF_RETRY waits 10-20 s
    receiver.wait_for(2)
    assert receiver.pushes[1][1] == b"task finished" and receiver.pushes[1][2] == 204
    deadline = time.monotonic() + 10
    while topic.get_attributes().message_count and time.monotonic() < deadline:
        time.sleep(0.01)
    assert topic.get_attributes().message_count == 0
    assert finished_push(emulator, published.message_id)["outcomes"] == ["500", "204"]
    emulator.advance(60)
    # A retry falling due at that move would be sent before a message published after it.
    later = topic.publish_message(TopicMessage("after the move", "imm"))
    receiver.wait_for(3)
    assert [body for _, body, _ in receiver.pushes] == [b"task finished", b"task finished", b"after the move"]
    assert finished_push(emulator, later.message_id)["outcomes"] == ["204"]


def finished_push(server: LiveServer, message_id: str, timeout: float = 10) -> dict:
    """The emulator's record of a finished push delivery of that message (it waits for one)."""
    deadline = time.monotonic() + timeout
    while True:
        pushes = [p for p in server.admin("GET", "health")["services"]["mns"]["recent_pushes"]
                  if p["message_id"] == message_id]
        if pushes:
            return pushes[0]
        assert time.monotonic() < deadline, f"the push of {message_id} did not finish"
        time.sleep(0.02)


def test_http_push_xml_envelope(account: Account, emulator: LiveServer) -> None:
    receiver = Receiver(failures=0)
    try:
        account.get_topic("xml-hooks").create(TopicMeta())
        account.get_subscription("xml-hooks", "web").subscribe(SubscriptionMeta(receiver.url))
        account.get_topic("xml-hooks").publish_message(TopicMessage("payload"))
        receiver.wait_for(1)
        headers, body, _ = receiver.pushes[0]
        assert headers["content-type"].startswith("text/xml")
        assert ET.fromstring(body).find(NS + "Message").text == "payload"
    finally:
        receiver.server.shutdown()


def test_non_loopback_endpoints_are_never_contacted(account: Account, emulator: LiveServer) -> None:
    account.get_topic("outside").create(TopicMeta())
    account.get_subscription("outside", "web").subscribe(SubscriptionMeta("http://192.0.2.1/hook"))
    published = account.get_topic("outside").publish_message(TopicMessage("x"))
    assert finished_push(emulator, published.message_id)["outcomes"][0].startswith("refused")


def test_loopback_rule_for_host_names(account: Account, emulator: LiveServer) -> None:
    """`localhost` is loopback and gets the push; DNS names are never resolved, so even one that
    would resolve to 127.0.0.1 is refused without being contacted."""
    receiver = Receiver(failures=0)
    try:
        port = receiver.server.server_address[1]
        topic = account.get_topic("names")
        topic.create(TopicMeta())
        endpoints = {"by-name": f"http://localhost:{port}/hook", "upper": f"http://LOCALHOST:{port}/hook",
                     "dns": f"http://127.0.0.1.nip.io:{port}/hook", "suffix": f"http://localhost.test:{port}/hook"}
        for name, endpoint in endpoints.items():
            account.get_subscription("names", name).subscribe(SubscriptionMeta(endpoint))
        published = topic.publish_message(TopicMessage("who gets this"))
        deadline = time.monotonic() + 10
        while True:
            done = [p for p in emulator.admin("GET", "health")["services"]["mns"]["recent_pushes"]
                    if p["message_id"] == published.message_id]
            if len(done) == len(endpoints):
                break
            assert time.monotonic() < deadline, done
            time.sleep(0.02)
        outcomes = {p["subscription"]: p["outcomes"] for p in done}
        assert outcomes["by-name"] == outcomes["upper"] == ["204"]
        assert outcomes["dns"] == ["refused: 127.0.0.1.nip.io is not a loopback address"]
        assert outcomes["suffix"] == ["refused: localhost.test is not a loopback address"]
        assert len(receiver.pushes) == 2  # only the two loopback subscriptions were contacted
    finally:
        receiver.server.shutdown()
