"""IMM task behaviour a user sees over a socket, through the official SDKs: a task left Running by a
server killed with SIGKILL is resumed by the next server on the same data directory; a failed
task's MNS notification; a notification that cannot be delivered, in the task's timeline."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

from alibabacloud_imm20200930 import models as m

from emulator.testing.server import LiveServer
from tests.imm_support import animation_frames, convert, imm_client, wait_for_task, world

GIF = [{"Image": {"Animations": [{"Format": "gif", "Interval": 2, "Number": 3,
                                   "URI": "oss://media/out/{barename}.{autoext}"}]}}]


def _events(server: LiveServer, task_id: str) -> list[dict]:
    return server.admin("GET", f"tasks/{task_id}/events")["events"]


def _wait_for_event(server: LiveServer, task_id: str, name: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        found = [e for e in _events(server, task_id) if e["event"] == name]
        if found:
            return found[0]
        assert time.monotonic() < deadline, f"no {name!r} event for {task_id}"
        time.sleep(0.05)


def _status(server: LiveServer, task_id: str) -> str:
    request = m.GetTaskRequest(project_name="p", task_type="MediaConvert", task_id=task_id)
    return imm_client(server).get_task(request).body.status


def test_task_left_running_by_a_killed_server_is_resumed(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with LiveServer(data_dir=data) as first:
        client, _ = world(first)
        first.add_fault({"service": "imm", "effect": {"task_stall": True}, "times": 1})
        task_id = convert(client, GIF)
        _wait_for_event(first, task_id, "fault applied")  # it started, and waits on the stall
        assert _status(first, task_id) == "Running"
        first.process.send_signal(signal.SIGKILL)  # no shutdown: the task is left Running on disk
        assert first.process.wait(10) == -signal.SIGKILL
    with LiveServer(data_dir=data) as second:
        # A stall rule that outlived the kill would hold the resumed task too: end it.
        second.admin("DELETE", "faults")
        assert _status(second, task_id) in ("Running", "Succeeded")
        task = wait_for_task(imm_client(second), "p", task_id)
        assert (task.status, task.code, task.progress) == ("Succeeded", "", 100), task.message
        assert "resumed" in [e["event"] for e in _events(second, task_id)]
        bucket = _media_bucket(second)
        image, indices, durations = animation_frames(bucket.get_object("out/counter.gif").read())
        assert (image.format, image.size) == ("GIF", (320, 240))
        assert indices == [0, 20, 40] and set(durations) == {2000}


def _media_bucket(server: LiveServer):
    import oss2

    return oss2.Bucket(oss2.Auth(server.access_key_id, server.access_key_secret), server.url, "media")


def _queue_on_topic(server: LiveServer, topic: str, queue_name: str):
    from mns.account import Account
    from mns.mns_common import TopicHelper
    from mns.queue import QueueMeta
    from mns.subscription import SubscriptionMeta
    from mns.topic import TopicMeta

    account = Account(server.url, server.access_key_id, server.access_key_secret)
    queue = account.get_queue(queue_name)
    queue.create(QueueMeta())
    queue.set_encoding(False)
    account.get_topic(topic).create(TopicMeta())
    endpoint = TopicHelper.generate_queue_endpoint(server.region, server.account_id, queue_name)
    account.get_subscription(topic, "to-queue").subscribe(SubscriptionMeta(endpoint,
                                                                           notify_content_format="SIMPLIFIED"))
    return queue


def test_failed_task_notification_envelope(emulator: LiveServer) -> None:
    queue = _queue_on_topic(emulator, "imm-events", "imm-done")
    client, _ = world(emulator)
    task_id = convert(client, GIF, sources=[{"URI": "oss://media/in/none.mp4"}], UserData="job-7",
                      Notification={"MNS": {"TopicName": "imm-events"}})
    task = wait_for_task(client, "p", task_id)
    assert (task.status, task.code) == ("Failed", "ResourceNotFound")
    envelope = json.loads(queue.receive_message(10).message_body)
    assert (envelope["source"], envelope["type"]) == ("acs.imm", "imm:Task:MediaConvert")
    assert envelope["subject"] == (f"acs:imm:{emulator.region}:{emulator.account_id}:p/imm:Task:MediaConvert")
    assert envelope["id"] == task.event_id and envelope["time"].isdigit()
    content = json.loads(envelope["content"])
    assert {k: content[k] for k in ("ProjectName", "TaskId", "TaskType", "Status", "Code", "Message",
                                    "UserData", "StartTime", "EndTime")} == {
        "ProjectName": "p", "TaskId": task_id, "TaskType": "MediaConvert", "Status": "Failed",
        "Code": "ResourceNotFound", "Message": task.message, "UserData": "job-7",
        "StartTime": task.start_time, "EndTime": task.end_time}
    assert content["Sources"] == [{"URI": "oss://media/in/none.mp4", "SubtitleSources": None}]
    assert content["Targets"][0]["Image"]["Animations"] is None  # nothing was written


def test_undeliverable_notification_is_in_the_timeline(emulator: LiveServer) -> None:
    client, bucket = world(emulator)
    task_id = convert(client, GIF, Notification={"MNS": {"TopicName": "no-such-topic"}})
    assert wait_for_task(client, "p", task_id).status == "Succeeded"  # the result stands
    failed = _wait_for_event(emulator, task_id, "notification failed")
    assert (failed["channel"], failed["topic"], failed["code"]) == ("MNS", "no-such-topic", "TopicNotExist")
    assert "notification published" not in [e["event"] for e in _events(emulator, task_id)]
    assert bucket.object_exists("out/counter.gif")
