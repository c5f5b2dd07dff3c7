"""Helpers for the IMM tests: SDK clients aimed at a live emulator, and waiting for tasks."""

from __future__ import annotations

import io
import json
from pathlib import Path

import oss2
from alibabacloud_imm20200930 import models as imm_models
from alibabacloud_imm20200930.client import Client
from alibabacloud_tea_openapi.utils_models import Config
from PIL import Image, ImageSequence

from emulator.media.framecode import read_frame_index
from emulator.testing import wait_for_imm_task
from emulator.testing.server import LiveServer


def imm_client(server: LiveServer, secret: str | None = None, access_key_id: str | None = None,
               endpoint: str | None = None, signature_algorithm: str | None = None) -> Client:
    extra = {"signature_algorithm": signature_algorithm} if signature_algorithm else {}
    return Client(Config(access_key_id=access_key_id or server.access_key_id,
                         access_key_secret=secret or server.access_key_secret,
                         endpoint=endpoint or server.endpoint, protocol="http", **extra))


wait_for_task = wait_for_imm_task  # the plugin's helper, which users get too


FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def oss_bucket(server: LiveServer, name: str = "media") -> oss2.Bucket:
    bucket = oss2.Bucket(oss2.Auth(server.access_key_id, server.access_key_secret), server.url, name)
    bucket.create_bucket()
    return bucket


def world(server: LiveServer, fixture: str = "counter_320x240_10fps_12s_gop10.mp4",
          key: str = "in/counter.mp4", project: str = "p") -> tuple[Client, oss2.Bucket]:
    """A bucket `media` holding `fixture` at `key`, and a project `p`."""
    bucket = oss_bucket(server)
    bucket.put_object_from_file(key, str(FIXTURES / fixture))
    client = imm_client(server)
    client.create_project(imm_models.CreateProjectRequest(project_name=project))
    return client, bucket


def convert(client: Client, targets: list[dict], sources: list[dict] | None = None, project: str = "p",
            **extra: object) -> str:
    """Submit a CreateMediaConvertTask built from plain JSON-like dicts; the TaskId."""
    request = {"ProjectName": project, "Sources": sources or [{"URI": "oss://media/in/counter.mp4"}],
               "Targets": targets, **extra}
    model = imm_models.CreateMediaConvertTaskRequest().from_map(json.loads(json.dumps(request)))
    return client.create_media_convert_task(model).body.task_id


def animation_frames(data: bytes, content=None) -> tuple[Image.Image, list[int], list[int]]:
    """The image, the source frame index shown in each frame, and each frame's duration (ms)."""
    image = Image.open(io.BytesIO(data))
    indices, durations = [], []
    for frame in ImageSequence.Iterator(image):
        indices.append(read_frame_index(frame.convert("RGB"), content))
        durations.append(frame.info.get("duration"))
    return image, indices, durations
