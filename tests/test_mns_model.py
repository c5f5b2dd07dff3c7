"""The model method IMM calls when a task ends, and MNS state surviving a restart."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from mns.account import Account
from mns.mns_common import TopicHelper
from mns.queue import Message, QueueMeta
from mns.subscription import SubscriptionMeta
from mns.topic import Base64TopicMessage, TopicMeta

from emulator.config import Config
from emulator.core.errors import ServiceError
from emulator.core.runtime import Runtime
from emulator.services.mns.model import MnsModel
from emulator.services.mns.notify import retry_delay
from emulator.services.mns.routes import build_mns
from emulator.testing.server import LiveServer

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def model() -> Iterator[MnsModel]:
    runtime = Runtime(Config(ephemeral=True))
    yield build_mns(runtime).model
    runtime.close()


def test_publish_message_fans_out_and_returns_the_message_id(model: MnsModel) -> None:
    model.create_queue("default", "imm-events", {})
    model.create_topic("default", "test-mns-topic", {})
    endpoint = TopicHelper.generate_queue_endpoint("cn-hangzhou", "1234567890123456", "imm-events")
    model.subscribe("default", "test-mns-topic", "q",
                    {"Endpoint": endpoint, "NotifyContentFormat": "SIMPLIFIED"})

    async def from_the_event_loop() -> str:  # IMM publishes from an asyncio task
        return model.publish_message("default", "test-mns-topic", '{"source":"acs.imm"}', tag="imm")

    message_id = asyncio.run(from_the_event_loop())
    assert len(message_id) == 32
    received = asyncio.run(model.receive("default", "imm-events", 1, 0))
    assert received[0].body == '{"source":"acs.imm"}'


def test_publish_message_to_a_missing_topic(model: MnsModel) -> None:
    with pytest.raises(ServiceError) as info:
        model.publish_message("default", "no-such-topic", "{}")
    assert (info.value.status, info.value.code) == (404, "TopicNotExist")


def test_state_survives_a_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with LiveServer(data_dir=data) as server:
        account = Account(server.url, server.access_key_id, server.access_key_secret)
        account.get_queue("kept").create(QueueMeta(vis_timeout=100))
        account.get_topic("kept-topic").create(TopicMeta())
        account.get_subscription("kept-topic", "s").subscribe(SubscriptionMeta(
            TopicHelper.generate_queue_endpoint(server.region, server.account_id, "kept"),
            notify_content_format="SIMPLIFIED"))
        queue = account.get_queue("kept")
        queue.send_message(Message("waiting"))
        queue.send_message(Message("in flight"))
        in_flight = queue.receive_message(0)
        assert in_flight.message_body == b"waiting"
    with LiveServer(data_dir=data) as server:
        account = Account(server.url, server.access_key_id, server.access_key_secret)
        queue = account.get_queue("kept")
        assert queue.get_attributes().visibility_timeout == 100
        assert queue.get_attributes().inactive_messages == 1
        assert queue.receive_message(0).message_body == b"in flight"
        queue.delete_message(in_flight.receipt_handle)  # the handle outlived the restart
        sub = account.get_subscription("kept-topic", "s").get_attributes()
        assert sub.notify_content_format == "SIMPLIFIED"
        account.get_topic("kept-topic").publish_message(Base64TopicMessage("after restart"))
        assert queue.receive_message(0).message_body == b"after restart"


def test_retry_schedules() -> None:
    exponential = []
    while (delay := retry_delay("EXPONENTIAL_DECAY_RETRY", len(exponential), lambda: 0.5)) is not None:
        exponential.append(delay)
    assert len(exponential) == 176
    assert exponential[:11] == [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 512]
    assert exponential.count(512) == 167
    backoff = [retry_delay("BACKOFF_RETRY", n, lambda: 0.999) for n in range(4)]
    assert all(10 <= d < 20 for d in backoff[:3]) and backoff[3] is None
