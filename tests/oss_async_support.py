"""What the OSS asynchronous-processing tests share: the bucket holding the source, the base64
of the process string, waiting for a task with a deadline, a task run through
alibabacloud-oss-v2, and an MNS queue subscribed to a notification topic."""

from __future__ import annotations

import base64
import time
from pathlib import Path

import alibabacloud_oss_v2 as oss
import oss2
from mns.account import Account
from mns.mns_common import TopicHelper
from mns.queue import Queue, QueueMeta
from mns.subscription import SubscriptionMeta
from mns.topic import TopicMeta

from emulator.testing.server import LiveServer
from tests.oss_clients import oss2_bucket


def media_bucket(emulator: LiveServer, source: Path) -> oss2.Bucket:
    """The bucket `media` (oss2, V1) holding `source` as v.mp4."""
    bucket = oss2_bucket(emulator, "media")
    bucket.create_bucket()
    bucket.put_object_from_file("v.mp4", str(source))
    return bucket


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def wait_for(emulator: LiveServer, task_id: str, deadline: float = 120) -> dict:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        task = next(t for t in emulator.tasks() if t["task_id"] == task_id)
        if task["status"] != "Running":
            return task
        time.sleep(0.1)
    raise AssertionError(f"task {task_id} still running")


def v2_succeeded(emulator: LiveServer, client: oss.Client, process: str, key: str = "v.mp4") -> None:
    """Submit `process` on media/`key` through the v2 SDK and wait until it succeeds."""
    result = client.async_process_object(oss.AsyncProcessObjectRequest(bucket="media", key=key,
                                                                      process=process))
    assert wait_for(emulator, result.task_id)["status"] == "Success"


def subscribed_queue(emulator: LiveServer, topic: str, queue_name: str) -> Queue:
    """A new queue (raw bodies) receiving what is published to the new `topic`."""
    account = Account(emulator.url, emulator.access_key_id, emulator.access_key_secret)
    account.get_topic(topic).create(TopicMeta())
    queue = account.get_queue(queue_name)
    queue.create(QueueMeta())
    queue.set_encoding(False)
    endpoint = TopicHelper.generate_queue_endpoint(emulator.region, emulator.account_id, queue_name)
    account.get_subscription(topic, f"to-{queue_name}").subscribe(
        SubscriptionMeta(endpoint, notify_content_format="SIMPLIFIED"))
    return queue
