"""MNS queues and topics through aliyun-mns-sdk: send, receive, visibility, fan-out, errors."""

from __future__ import annotations

import pytest
from mns.mns_common import TopicHelper
from mns.mns_exception import MNSExceptionBase
from mns.queue import Message, QueueMeta
from mns.subscription import SubscriptionMeta
from mns.topic import Base64TopicMessage, TopicMeta


@pytest.fixture
def queue(target, unique):
    q = target.mns_account().get_queue(unique)
    meta = QueueMeta()
    meta.set_visibilitytimeout(30)
    q.create(meta)
    yield q
    q.delete()


def test_send_receive_delete(queue) -> None:
    sent = queue.send_message(Message("job-1"))
    assert sent.message_id
    received = queue.receive_message(3)
    assert received.message_body == b"job-1" and received.dequeue_count == 1
    queue.delete_message(received.receipt_handle)
    with pytest.raises(MNSExceptionBase) as err:
        queue.receive_message(1)
    assert err.value.type == "MessageNotExist"


@pytest.mark.emulator_only
def test_message_comes_back_after_visibility_timeout(queue, target) -> None:
    queue.send_message(Message("job-2"))
    first = queue.receive_message(1)
    target.server.advance(31)
    again = queue.receive_message(1)
    assert again.message_id == first.message_id and again.dequeue_count == 2


def test_topic_fans_out_to_queue(target, unique, queue) -> None:
    account = target.mns_account()
    topic = account.get_topic(unique)
    topic.create(TopicMeta())
    try:
        endpoint = TopicHelper.generate_queue_endpoint(target.region, target.account_id, queue.queue_name)
        account.get_subscription(unique, "to-queue").subscribe(
            SubscriptionMeta(endpoint, notify_content_format="SIMPLIFIED"))
        topic.publish_message(Base64TopicMessage("fan-out"))
        assert queue.receive_message(10).message_body == b"fan-out"
    finally:
        topic.delete()


def test_missing_queue_error(target, unique) -> None:
    with pytest.raises(MNSExceptionBase) as err:
        target.mns_account().get_queue(unique + "-missing").get_attributes()
    assert err.value.type == "QueueNotExist"
