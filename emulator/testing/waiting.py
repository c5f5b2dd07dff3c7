"""Waiting for asynchronous tasks the way a test should: poll with a deadline, never a bare sleep."""

from __future__ import annotations

import time
from typing import Any


def wait_for_imm_task(client: Any, project: str, task_id: str, task_type: str = "MediaConvert",
                      timeout: float = 120, interval: float = 0.1) -> Any:
    """GetTask until the task leaves Running; the GetTask body. Raises TimeoutError at the deadline."""
    from alibabacloud_imm20200930.models import GetTaskRequest

    deadline = time.monotonic() + timeout
    while True:
        request = GetTaskRequest(project_name=project, task_type=task_type, task_id=task_id)
        body = client.get_task(request).body
        if body.status != "Running":
            return body
        if time.monotonic() > deadline:
            raise TimeoutError(f"IMM task {task_id} still Running after {timeout} s")
        time.sleep(interval)
