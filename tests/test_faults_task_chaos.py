"""Task-level chaos after success: outputs that vanish, DashScope result URLs that expire early;
the task's own state never changes afterwards."""

from __future__ import annotations

import json
import time

import httpx
import oss2
import pytest
from alibabacloud_imm20200930.models import GetTaskRequest
from dashscope import VideoSynthesis
from dashscope_support import SAMPLE_IMAGE, SAMPLE_VIDEO

from emulator.testing.server import LiveServer
from tests.imm_support import convert, wait_for_task, world
from tests.test_faults_tasks import _imm_queue

GIF = [{"Image": {"Animations": [{"Format": "gif", "Interval": 2, "Number": 3,
                                   "URI": "oss://media/out/{barename}.{autoext}"}]}}]


def _wait_event(server: LiveServer, task_id: str, event: str) -> None:
    deadline = time.monotonic() + 30
    while event not in [e["event"] for e in server.admin("GET", f"tasks/{task_id}/events")["events"]]:
        assert time.monotonic() < deadline, f"no {event!r} in the timeline"
        time.sleep(0.05)


def test_imm_output_vanishes_after_success_and_the_task_stays_succeeded(emulator: LiveServer) -> None:
    client, bucket = world(emulator)
    emulator.admin("POST", "clock", {"frozen": True})
    emulator.add_fault({"service": "imm", "effect": {"output_vanish": {"after_seconds": 300}}, "times": 1})
    task_id = convert(client, GIF)
    assert wait_for_task(client, "p", task_id).status == "Succeeded"
    assert bucket.object_exists("out/counter.gif")  # there when the task says so
    emulator.advance(300)
    _wait_event(emulator, task_id, "output removed")
    with pytest.raises(oss2.exceptions.NoSuchKey):
        bucket.get_object("out/counter.gif")
    task = client.get_task(GetTaskRequest(project_name="p", task_type="MediaConvert", task_id=task_id)).body
    assert task.status == "Succeeded" and task.code == ""  # a Succeeded task never turns Failed
    assert bucket.get_object("in/counter.mp4").read()  # only the outputs went


def test_imm_notification_arrives_before_its_output_is_visible(emulator: LiveServer) -> None:
    queue = _imm_queue(emulator)
    client, bucket = world(emulator)
    emulator.admin("POST", "clock", {"frozen": True})
    emulator.add_fault({"service": "imm", "effect": {"notification": {"early_seconds": 30}}, "times": 1})
    task_id = convert(client, GIF, Notification={"MNS": {"TopicName": "imm-topic"}})
    message = queue.receive_message(10)  # the notification is there...
    assert json.loads(json.loads(message.message_body)["content"])["TaskId"] == task_id
    with pytest.raises(oss2.exceptions.NoSuchKey):  # ...before the output it announces
        bucket.get_object("out/counter.gif")
    assert not bucket.object_exists("out/counter.gif")
    emulator.advance(30)
    assert bucket.get_object("out/counter.gif").read()[:6] == b"GIF89a"
    assert wait_for_task(client, "p", task_id).status == "Succeeded"


def test_dashscope_result_url_expires_early(sdk: LiveServer) -> None:
    sdk.add_fault({"service": "dashscope", "effect": {"result_url_ttl_seconds": 60}, "times": 1})
    done = VideoSynthesis.wait(VideoSynthesis.async_call(
        model="wan2.2-animate-move", task="image2video", mode="wan-std",
        extra_input={"image_url": SAMPLE_IMAGE, "video_url": SAMPLE_VIDEO}))
    assert done.output.task_status == "SUCCEEDED"
    url = done.output["results"]["video_url"]
    assert httpx.get(url).status_code == 200
    sdk.advance(61)
    expired = httpx.get(url)
    assert expired.status_code == 403 and b"<Code>AccessDenied</Code>" in expired.content
    again = VideoSynthesis.fetch(done.output.task_id)
    assert again.output.task_status == "SUCCEEDED"  # the task stands; only its URL is gone


def test_mns_message_delivered_twice_the_copy_late_and_out_of_order(emulator: LiveServer) -> None:
    from mns.account import Account
    from mns.mns_exception import MNSExceptionBase
    from mns.queue import Message, QueueMeta

    queue = Account(emulator.url, emulator.access_key_id, emulator.access_key_secret).get_queue("jobs")
    queue.create(QueueMeta())
    queue.set_encoding(False)
    emulator.admin("POST", "clock", {"frozen": True})
    emulator.add_fault({"service": "mns", "match": {"queue": "jobs"},
                        "effect": {"redeliver": {"after_seconds": 30}}, "times": 1})
    first = queue.send_message(Message("job-1")).message_id
    queue.send_message(Message("job-2"))

    def take() -> tuple[str, str]:
        message = queue.receive_message(0)
        queue.delete_message(message.receipt_handle)
        return message.message_body, message.message_id

    assert [take()[0], take()[0]] == ["job-1", "job-2"]
    with pytest.raises(MNSExceptionBase):  # the copy is not visible yet
        queue.receive_message(0)
    emulator.advance(30)
    body, message_id = take()
    assert body == "job-1" and message_id != first  # after job-2, under a new id
