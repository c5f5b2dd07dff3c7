"""Task and notification fault rules as applications see them through the official SDKs."""

from __future__ import annotations

import json
import time

import pytest
from alibabacloud_imm20200930.models import GetTaskRequest
from dashscope import VideoSynthesis
from dashscope_support import SAMPLE_IMAGE, SAMPLE_VIDEO, get_task, wait_for

from emulator.testing.server import LiveServer
from tests.imm_support import convert, wait_for_task, world

DATA_INSPECTION = {"service": "dashscope", "match": {"model": "wan2.2-animate-move"},
                   "effect": {"task_fail": {"code": "DataInspectionFailed",
                                            "message": "Output data may contain inappropriate content."}},
                   "times": 1}


def _animate():
    rsp = VideoSynthesis.async_call(model="wan2.2-animate-move", task="image2video", mode="wan-std",
                                    extra_input={"image_url": SAMPLE_IMAGE, "video_url": SAMPLE_VIDEO})
    assert rsp.status_code == 200, rsp
    return rsp


def _events(server: LiveServer, task_id: str) -> list[str]:
    return [e["event"] for e in server.admin("GET", f"tasks/{task_id}/events")["events"]]


def test_issue_example_task_fail_once(sdk: LiveServer) -> None:
    rule = sdk.add_fault(DATA_INSPECTION)
    failed = VideoSynthesis.wait(_animate())
    assert failed.status_code == 200  # FAILED tasks answer 200 with output.code
    assert failed.output.task_status == "FAILED"
    assert failed.output["code"] == "DataInspectionFailed"
    assert failed.output["message"] == "Output data may contain inappropriate content."
    second = VideoSynthesis.wait(_animate())
    assert second.output.task_status == "SUCCEEDED"  # times: 1
    task_id = failed.output.task_id
    events = sdk.admin("GET", f"tasks/{task_id}/events")["events"]
    assert any(e["event"] == "fault applied" and e.get("rule") == rule["id"] for e in events)
    listed = {t["task_id"]: t["status"] for t in sdk.tasks() if t["service"] == "dashscope"}
    assert listed == {task_id: "FAILED", second.output.task_id: "SUCCEEDED"}


def test_throttled_poll_reaches_wait(sdk: LiveServer) -> None:
    rsp = _animate()
    sdk.add_fault({"service": "dashscope", "match": {"action": "GetTask"}, "effect": {"throttle": True},
                   "times": 1})
    throttled = VideoSynthesis.wait(rsp)
    assert throttled.status_code == 429 and throttled.code == "Throttling.RateQuota"
    assert VideoSynthesis.wait(rsp).output.task_status == "SUCCEEDED"


def test_submit_throttle_in_dashscope_shape(sdk: LiveServer) -> None:
    sdk.add_fault({"service": "dashscope", "match": {"model": "wan2.2-animate-mix"},
                   "effect": {"throttle": {"retry_after": 2}}, "times": 1})
    refused = VideoSynthesis.async_call(model="wan2.2-animate-mix", task="image2video", mode="wan-std",
                                        extra_input={"image_url": SAMPLE_IMAGE, "video_url": SAMPLE_VIDEO})
    assert refused.status_code == 429 and refused.code == "Throttling.RateQuota"
    assert _animate().status_code == 200  # another model does not match


def test_stall_until_removed_and_duration_on_the_clock(sdk: LiveServer) -> None:
    stall = sdk.add_fault({"service": "dashscope", "effect": {"task_stall": True}, "times": 1})
    task_id = _animate().output.task_id
    running = wait_for(sdk.url, task_id, statuses=("RUNNING",))
    assert running["output"]["task_status"] == "RUNNING"
    sdk.admin("DELETE", f"faults/{stall['id']}")
    assert wait_for(sdk.url, task_id)["output"]["task_status"] == "SUCCEEDED"
    sdk.add_fault({"service": "dashscope", "effect": {"task_duration_seconds": 600}, "times": 1})
    slow = _animate().output.task_id
    wait_for(sdk.url, slow, statuses=("RUNNING",))
    deadline = time.monotonic() + 60
    while "output written" not in _events(sdk, slow):  # rendered; now it waits for the clock
        assert time.monotonic() < deadline, "the render did not finish"
        time.sleep(0.1)
    assert get_task(sdk.url, slow).json()["output"]["task_status"] == "RUNNING"
    sdk.advance(600)
    assert wait_for(sdk.url, slow)["output"]["task_status"] == "SUCCEEDED"


# ---- IMM -------------------------------------------------------------------------------------

GIF = [{"Image": {"Animations": [{"Format": "gif", "Interval": 2, "Number": 3,
                                   "URI": "oss://media/out/{barename}.{autoext}"}]}}]


def _imm_queue(server: LiveServer):
    from mns.account import Account
    from mns.mns_common import TopicHelper
    from mns.queue import QueueMeta
    from mns.subscription import SubscriptionMeta
    from mns.topic import TopicMeta

    account = Account(server.url, server.access_key_id, server.access_key_secret)
    queue = account.get_queue("imm-events")
    queue.create(QueueMeta())
    queue.set_encoding(False)
    account.get_topic("imm-topic").create(TopicMeta())
    endpoint = TopicHelper.generate_queue_endpoint(server.region, server.account_id, "imm-events")
    account.get_subscription("imm-topic", "to-queue").subscribe(
        SubscriptionMeta(endpoint, notify_content_format="SIMPLIFIED"))
    return queue


def _received(queue) -> list[str]:
    from mns.mns_exception import MNSExceptionBase

    bodies = []
    while True:
        try:
            message = queue.receive_message(0)
        except MNSExceptionBase:
            return bodies
        bodies.append(json.loads(json.loads(message.message_body)["content"])["TaskId"])
        queue.delete_message(message.receipt_handle)


def test_imm_task_fail_at_progress(emulator: LiveServer) -> None:
    client, bucket = world(emulator)
    emulator.add_fault({"service": "imm", "match": {"project": "p"}, "times": 1,
                        "effect": {"task_fail": {"code": "InternalError", "message": "injected",
                                                 "at_progress": 40}}})
    failed = wait_for_task(client, "p", convert(client, GIF))
    assert (failed.status, failed.code, failed.message, failed.progress) == ("Failed", "InternalError",
                                                                             "injected", 40)
    assert not bucket.object_exists("out/counter.gif")
    assert wait_for_task(client, "p", convert(client, GIF)).status == "Succeeded"


def test_imm_task_duration_follows_the_clock(emulator: LiveServer) -> None:
    client, _ = world(emulator)
    emulator.add_fault({"service": "imm", "effect": {"task_duration_seconds": 3600}, "times": 1})
    task_id = convert(client, GIF)
    deadline = time.monotonic() + 60
    while "output written" not in _events(emulator, task_id):
        assert time.monotonic() < deadline, "the render did not finish"
        time.sleep(0.1)
    assert client.get_task(GetTaskRequest(project_name="p", task_type="MediaConvert",
                                          task_id=task_id)).body.status == "Running"
    emulator.advance(3600)
    assert wait_for_task(client, "p", task_id).status == "Succeeded"


@pytest.mark.parametrize(("effect", "copies"), [({"drop": True}, 0), ({"duplicate": 2}, 3)])
def test_imm_notification_dropped_or_duplicated(emulator: LiveServer, effect: dict, copies: int) -> None:
    queue = _imm_queue(emulator)
    client, _ = world(emulator)
    emulator.add_fault({"service": "imm", "match": {"topic": "imm-topic"},
                        "effect": {"notification": effect}, "times": 1})
    task_id = convert(client, GIF, Notification={"MNS": {"TopicName": "imm-topic"}})
    assert wait_for_task(client, "p", task_id).status == "Succeeded"
    settled = "notification dropped" if copies == 0 else "notification published"
    deadline = time.monotonic() + 30
    while _events(emulator, task_id).count(settled) < max(copies, 1):
        assert time.monotonic() < deadline, "the notification was not sent"
        time.sleep(0.05)
    assert _received(queue) == [task_id] * copies


def test_imm_notification_delayed_on_the_clock(emulator: LiveServer) -> None:
    queue = _imm_queue(emulator)
    client, _ = world(emulator)
    emulator.add_fault({"service": "imm", "effect": {"notification": {"delay_seconds": 120}}, "times": 1})
    task_id = convert(client, GIF, Notification={"MNS": {"TopicName": "imm-topic"}})
    assert wait_for_task(client, "p", task_id).status == "Succeeded"
    deadline = time.monotonic() + 30
    while "fault applied" not in _events(emulator, task_id):  # the rule was taken: publish is next
        assert time.monotonic() < deadline, "the notification rule was not applied"
        time.sleep(0.05)
    # Without the delay the publish follows the rule in the same step, so it would show by now.
    assert "notification published" not in _events(emulator, task_id)
    assert _received(queue) == []
    emulator.advance(120)
    message = queue.receive_message(10)
    assert json.loads(json.loads(message.message_body)["content"])["TaskId"] == task_id
