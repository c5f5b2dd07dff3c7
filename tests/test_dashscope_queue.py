"""The task state machine with --speed realistic: the queue, one running task per account, FIFO,
cancel only while PENDING, and the documented minutes on the emulator clock (fast-forwarded)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import httpx
import pytest
from dashscope_support import get_task, submit, wait_for

from emulator.testing.server import LiveServer


@pytest.fixture(scope="module")
def realistic_server() -> Iterator[LiveServer]:
    with LiveServer(extra_args=["--speed", "realistic"]) as server:
        yield server


@pytest.fixture
def realistic(realistic_server: LiveServer) -> LiveServer:
    realistic_server.reset()
    return realistic_server


def cancel(server: LiveServer, task_id: str) -> httpx.Response:
    return httpx.post(f"{server.url}/api/v1/tasks/{task_id}/cancel",
                      headers={"Authorization": "Bearer sk-emulator"}, timeout=30)


def seconds(stamp: str) -> float:
    return datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S.%f").timestamp()


def test_cancel_only_while_pending(realistic):
    task_id = submit(realistic.url).json()["output"]["task_id"]
    pending = get_task(realistic.url, task_id).json()["output"]
    assert pending["task_status"] == "PENDING"
    assert set(pending) == {"task_id", "task_status", "submit_time"}
    response = cancel(realistic, task_id)
    assert response.status_code == 200
    assert set(response.json()) == {"request_id"}
    body = get_task(realistic.url, task_id).json()
    assert body["output"]["task_status"] == "CANCELED" and "end_time" in body["output"]
    assert "usage" not in body
    again = cancel(realistic, task_id)
    assert again.status_code == 400
    assert again.json()["code"] == "UnsupportedOperation"
    assert again.json()["message"] == ("Failed to cancel the task, please confirm if the task is in "
                                       "PENDING status.")


def test_one_task_runs_at_a_time_in_submit_order(realistic):
    first, second, third = (submit(realistic.url).json()["output"]["task_id"] for _ in range(3))
    realistic.advance(16)  # past the queue time
    running = wait_for(realistic.url, first, ("RUNNING",))["output"]
    assert seconds(running["scheduled_time"]) - seconds(running["submit_time"]) >= 15
    assert get_task(realistic.url, second).json()["output"]["task_status"] == "PENDING"
    assert cancel(realistic, first).status_code == 400  # running: too late
    assert cancel(realistic, third).status_code == 200  # still queued

    realistic.advance(5.2 * 28 + 1)  # the documented processing minutes for 5.2 s of wan-std
    done = wait_for(realistic.url, first, ("SUCCEEDED", "FAILED"))["output"]
    assert done["task_status"] == "SUCCEEDED"
    assert seconds(done["end_time"]) - seconds(done["scheduled_time"]) >= 5.2 * 28
    started = wait_for(realistic.url, second, ("RUNNING",))["output"]
    assert seconds(started["scheduled_time"]) >= seconds(done["end_time"])
    realistic.advance(5.2 * 28 + 1)
    assert wait_for(realistic.url, second)["output"]["task_status"] == "SUCCEEDED"
    assert get_task(realistic.url, third).json()["output"]["task_status"] == "CANCELED"


def test_queued_tasks_survive_a_restart(tmp_path):
    args = ["--speed", "realistic"]
    with LiveServer(data_dir=tmp_path, extra_args=args) as server:
        task_id = submit(server.url).json()["output"]["task_id"]
    with LiveServer(data_dir=tmp_path, extra_args=args) as server:
        assert get_task(server.url, task_id).json()["output"]["task_status"] == "PENDING"
        server.advance(16)
        wait_for(server.url, task_id, ("RUNNING",))
        server.advance(5.2 * 28 + 1)
        assert wait_for(server.url, task_id)["output"]["task_status"] == "SUCCEEDED"
