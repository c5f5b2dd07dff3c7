"""MNS queues through the unmodified aliyun-mns-sdk against a live emulator."""

from __future__ import annotations

import http.client

import pytest
from mns.account import Account
from mns.mns_exception import MNSServerException
from mns.queue import QueueMeta

from emulator.testing.server import LiveServer

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def account(emulator: LiveServer) -> Account:
    return Account(emulator.url, emulator.access_key_id, emulator.access_key_secret)


def server_error(call) -> MNSServerException:
    with pytest.raises(MNSServerException) as info:
        call()
    assert info.value.request_id and info.value.host_id  # all four <Error> children came back
    return info.value


def test_create_get_set_delete(account: Account, emulator: LiveServer) -> None:
    queue = account.get_queue("jobs")
    url = queue.create(QueueMeta(vis_timeout=60, polling_wait_sec=10))
    assert url == f"{emulator.url}/queues/jobs"
    attrs = queue.get_attributes()
    assert (attrs.queue_name, attrs.visibility_timeout, attrs.polling_wait_seconds) == ("jobs", 60, 10)
    assert (attrs.maximum_message_size, attrs.message_retention_period, attrs.delay_seconds) == (
        65536, 345600, 0)
    assert attrs.logging_enabled is False
    assert attrs.create_time == attrs.last_modify_time > 0

    meta = QueueMeta()
    meta.set_delay_seconds(5)
    meta.set_logging_enabled(True)
    queue.set_attributes(meta)
    attrs = queue.get_attributes()
    assert (attrs.delay_seconds, attrs.visibility_timeout, attrs.logging_enabled) == (5, 60, True)

    queue.delete()
    assert server_error(queue.get_attributes).type == "QueueNotExist"


def test_create_is_201_then_204_when_identical_409_when_different(
        account: Account, emulator: LiveServer) -> None:
    queue = account.get_queue("same")
    assert queue.create(QueueMeta(vis_timeout=40)).endswith("/queues/same")
    assert queue.create(QueueMeta(vis_timeout=40)).endswith("/queues/same")  # 204 has Location too
    error = server_error(lambda: queue.create(QueueMeta(vis_timeout=41)))
    assert error.type == "QueueAlreadyExist"
    assert queue.get_attributes().visibility_timeout == 40


@pytest.mark.parametrize("meta, field", [
    (QueueMeta(vis_timeout=43201), "VisibilityTimeout"),
    (QueueMeta(max_msg_size=1023), "MaximumMessageSize"),
    (QueueMeta(msg_ttl=59), "MessageRetentionPeriod"),
    (QueueMeta(delay_sec=604801), "DelaySeconds"),
    (QueueMeta(polling_wait_sec=31), "PollingWaitSeconds"),
])
def test_out_of_range_attributes_are_invalid_argument(account: Account, meta: QueueMeta, field: str) -> None:
    error = server_error(lambda: account.get_queue("ranges").create(meta))
    assert error.type == "InvalidArgument"
    assert field in error.message
    assert server_error(account.get_queue("ranges").get_attributes).type == "QueueNotExist"


def test_list_prefix_ret_number_marker(account: Account, emulator: LiveServer) -> None:
    for name in ("a-1", "a-2", "a-3", "b-1"):
        account.get_queue(name).create(QueueMeta())
    urls, marker = account.list_queue(prefix="a-", ret_number=2)
    assert urls == [f"{emulator.url}/queues/a-1", f"{emulator.url}/queues/a-2"]
    assert marker
    urls, marker = account.list_queue(prefix="a-", ret_number=2, marker=marker)
    assert urls == [f"{emulator.url}/queues/a-3"] and marker == ""
    assert len(account.list_queue()[0]) == 4


def test_list_with_meta(account: Account) -> None:
    from mns.mns_request import ListQueueRequest, ListQueueResponse

    account.get_queue("meta-q").create(QueueMeta(vis_timeout=77))
    req, resp = ListQueueRequest("meta-"), ListQueueResponse()
    req.with_meta = True
    account.get_client().list_queue(req, resp)
    assert resp.queuemeta_list[0]["QueueName"] == "meta-q"
    assert resp.queuemeta_list[0]["VisibilityTimeout"] == "77"


def test_wrong_secret_and_unknown_key_are_refused(emulator: LiveServer, account: Account) -> None:
    account.get_queue("private").create(QueueMeta())
    wrong = Account(emulator.url, emulator.access_key_id, "not-the-secret").get_queue("private")
    error = server_error(wrong.get_attributes)
    assert error.type == "SignatureDoesNotMatch"
    unknown = Account(emulator.url, "LTAI-nobody", "whatever").get_queue("private")
    assert server_error(unknown.get_attributes).type == "InvalidAccessKeyId"


def test_request_id_header_is_lowercase(emulator: LiveServer) -> None:
    conn = http.client.HTTPConnection(emulator.endpoint)
    conn.request("GET", "/queues/nope", headers={"x-mns-version": "2015-06-06"})
    response = conn.getresponse()
    body = response.read().decode()
    assert response.status == 400
    assert "x-mns-request-id" in dict(response.getheaders())
    assert "<Code>MissingAuthorizationHeader</Code>" in body and "<HostId>" in body


def test_signatures_can_be_switched_off() -> None:
    with LiveServer(extra_args=["--no-verify-signatures"]) as server:
        anyone = Account(server.url, "LTAI-anyone", "any-secret")
        anyone.get_queue("open").create(QueueMeta())
        default = Account(server.url, server.access_key_id, server.access_key_secret)
        assert default.get_queue("open").get_attributes().queue_name == "open"  # same namespace
