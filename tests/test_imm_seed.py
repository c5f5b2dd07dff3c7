"""The seed document's two request examples, as written, through the official SDKs: oss2 uploads
the video, alibabacloud-imm20200930 converts it, oss2 downloads the animated WebP."""

from __future__ import annotations

import io
import json
from pathlib import Path

import oss2
import pytest
from alibabacloud_imm20200930 import models as m
from PIL import Image, ImageSequence

from emulator.media.framecode import read_frame_index
from emulator.testing.server import LiveServer
from tests.imm_support import imm_client, wait_for_task

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SOURCE_FPS = 10  # fixtures/brewing.mov: 320x180, 10 fps, 32 s


def seed_world(emulator: LiveServer) -> oss2.Bucket:
    bucket = oss2.Bucket(oss2.Auth(emulator.access_key_id, emulator.access_key_secret), emulator.url,
                         "test-bucket")
    bucket.create_bucket()
    bucket.put_object_from_file("video-demo/brewing.mov", str(FIXTURES / "brewing.mov"))
    imm_client(emulator).create_project(m.CreateProjectRequest(project_name="test-project"))
    return bucket


def decode(data: bytes) -> tuple[Image.Image, list[int], list[int]]:
    image = Image.open(io.BytesIO(data))
    indices, durations = [], []
    for frame in ImageSequence.Iterator(image):
        indices.append(read_frame_index(frame.convert("RGB")))
        durations.append(frame.info["duration"])
    return image, indices, durations


SEED_EXAMPLE_1 = {
    "ProjectName": "test-project",
    "Notification": {"MNS": {"TopicName": "test-mns-topic"}},
    "Sources": [{"URI": "oss://test-bucket/video-demo/brewing.mov"}],
    "Targets": [{"Image": {"Animations": [{
        "Format": "webp", "FrameRate": 15, "Height": 0.5, "Interval": 1, "ScaleType": "fit",
        "URI": "oss://test-bucket/video-demo/animation.{autoext}", "Width": 0.5}]}}],
}
SEED_EXAMPLE_2 = {**SEED_EXAMPLE_1, "Sources": [
    {"Duration": 25, "StartTime": 5, "URI": "oss://test-bucket/video-demo/brewing.mov"}]}


def sdk_request(example: dict) -> m.CreateMediaConvertTaskRequest:
    """The JSON example turned into the SDK's request model, as the OpenAPI Explorer does."""
    return m.CreateMediaConvertTaskRequest().from_map(json.loads(json.dumps(example)))


@pytest.mark.parametrize("example, first_second, frames", [
    (SEED_EXAMPLE_1, 0, 32),  # the whole 32 s video, one frame per second
    (SEED_EXAMPLE_2, 5, 25),  # seconds 5..29
])
def test_seed_examples_make_an_animated_webp(emulator: LiveServer, example: dict, first_second: int,
                                             frames: int) -> None:
    bucket = seed_world(emulator)
    client = imm_client(emulator)
    created = client.create_media_convert_task(sdk_request(example)).body
    assert created.task_id.startswith("MediaConvert-")
    assert created.event_id
    first = client.get_task(m.GetTaskRequest(project_name="test-project", task_type="MediaConvert",
                                             task_id=created.task_id)).body
    assert first.status == "Running"
    assert first.end_time is None

    done = wait_for_task(client, "test-project", created.task_id)
    assert (done.status, done.code, done.message) == ("Succeeded", "", "")
    assert done.progress == 100
    assert done.end_time >= done.start_time

    image, indices, durations = decode(bucket.get_object("video-demo/animation.webp").read())
    assert image.format == "WEBP"
    assert image.size == (160, 90)  # half of 320x180
    assert indices == [(first_second + k) * SOURCE_FPS for k in range(frames)]
    assert set(durations) == {67}  # 1/15 s in WebP's milliseconds, the last frame included

    billing = emulator.admin("GET", "billing")["imm"]["items"]
    assert billing == [{"namespace": "default", "project": "test-project", "billable_item": "MediaAnimation",
                        "quantity": frames, "unit": "frame"}]


def test_seed_notification_reaches_an_mns_queue(emulator: LiveServer) -> None:
    """test-mns-topic, subscribed by a queue, receives IMM's completion envelope (aliyun-mns-sdk)."""
    from mns.account import Account
    from mns.mns_common import TopicHelper
    from mns.queue import QueueMeta
    from mns.subscription import SubscriptionMeta
    from mns.topic import TopicMeta

    account = Account(emulator.url, emulator.access_key_id, emulator.access_key_secret)
    queue = account.get_queue("imm-events")
    queue.create(QueueMeta())
    queue.set_encoding(False)  # IMM publishes the plain JSON envelope
    account.get_topic("test-mns-topic").create(TopicMeta())
    endpoint = TopicHelper.generate_queue_endpoint(emulator.region, emulator.account_id, "imm-events")
    account.get_subscription("test-mns-topic", "to-queue").subscribe(
        SubscriptionMeta(endpoint, notify_content_format="SIMPLIFIED"))

    seed_world(emulator)
    client = imm_client(emulator)
    task_id = client.create_media_convert_task(sdk_request(SEED_EXAMPLE_2)).body.task_id
    assert wait_for_task(client, "test-project", task_id).status == "Succeeded"
    message = queue.receive_message(wait_seconds=10)
    envelope = json.loads(message.message_body)
    assert (envelope["source"], envelope["type"]) == ("acs.imm", "imm:Task:MediaConvert")
    content = json.loads(envelope["content"])
    assert (content["TaskId"], content["Status"], content["ProjectName"]) == (task_id, "Succeeded",
                                                                              "test-project")
    assert content["Targets"][0]["Image"]["Animations"] == [{"URI": "oss://test-bucket/video-demo/animation.webp"}]
