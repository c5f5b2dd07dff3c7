"""Task and notification fault rules as applications see them through the official SDKs."""

from __future__ import annotations

import time
from collections.abc import Iterator

import dashscope
import pytest
from dashscope import VideoSynthesis
from dashscope_support import SAMPLE_IMAGE, SAMPLE_VIDEO, get_task, wait_for

from emulator.testing.server import LiveServer

DATA_INSPECTION = {"service": "dashscope", "match": {"model": "wan2.2-animate-move"},
                   "effect": {"task_fail": {"code": "DataInspectionFailed",
                                            "message": "Output data may contain inappropriate content."}},
                   "times": 1}


@pytest.fixture
def sdk(emulator: LiveServer) -> Iterator[LiveServer]:
    saved = dashscope.base_http_api_url, dashscope.api_key
    dashscope.base_http_api_url = emulator.url + "/api/v1"
    dashscope.api_key = "sk-emulator"
    yield emulator
    dashscope.base_http_api_url, dashscope.api_key = saved


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
