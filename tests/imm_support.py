"""Helpers for the IMM tests: SDK clients aimed at a live emulator, and waiting for tasks."""

from __future__ import annotations

import time

from alibabacloud_imm20200930 import models as imm_models
from alibabacloud_imm20200930.client import Client
from alibabacloud_tea_openapi.utils_models import Config

from emulator.testing.server import LiveServer


def imm_client(server: LiveServer, secret: str | None = None, access_key_id: str | None = None,
               endpoint: str | None = None, signature_algorithm: str | None = None) -> Client:
    extra = {"signature_algorithm": signature_algorithm} if signature_algorithm else {}
    return Client(Config(access_key_id=access_key_id or server.access_key_id,
                         access_key_secret=secret or server.access_key_secret,
                         endpoint=endpoint or server.endpoint, protocol="http", **extra))


def wait_for_task(client: Client, project: str, task_id: str,
                  timeout: float = 60) -> imm_models.GetTaskResponseBody:
    """Poll GetTask until the task leaves Running (a deadline, not a sleep-and-hope)."""
    deadline = time.monotonic() + timeout
    while True:
        body = client.get_task(imm_models.GetTaskRequest(
            project_name=project, task_type="MediaConvert", task_id=task_id)).body
        if body.status != "Running":
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"task {task_id} still Running after {timeout} s")
        time.sleep(0.05)
