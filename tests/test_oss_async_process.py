"""x-oss-async-process through oss2 and oss-v2: video/animation saved with sys/saveas, the task in
/_emulator/tasks (with its timeline and task fault rules), the MNS notification, refusals."""

from __future__ import annotations

import io
import json
from pathlib import Path

import oss2
import pytest
from PIL import Image, ImageSequence

from emulator.media.framecode import read_frame_index
from emulator.testing.server import LiveServer
from tests.oss_async_support import b64, media_bucket, subscribed_queue, v2_succeeded, wait_for
from tests.oss_clients import v2_client

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "counter_320x240_10fps_12s_gop10.mp4"


@pytest.fixture
def bucket(emulator: LiveServer) -> oss2.Bucket:
    return media_bucket(emulator, FIXTURE)


def frames_of(data: bytes) -> tuple[Image.Image, list[int], list[int]]:
    image = Image.open(io.BytesIO(data))
    indices, durations = [], []
    for frame in ImageSequence.Iterator(image):
        indices.append(read_frame_index(frame.convert("RGB")))
        durations.append(frame.info.get("duration"))
    return image, indices, durations


def test_animation_saved_and_notified(bucket: oss2.Bucket, emulator: LiveServer) -> None:
    queue = subscribed_queue(emulator, "done", "inbox")
    result = bucket.async_process_object(
        "v.mp4", f"video/animation,f_gif,w_160,inter_1000,num_5,ss_2000,fps_5|sys/saveas,o_{b64('a/v.gif')}"
                 f"/notify,topic_{b64('done')}")
    assert result.status == 200 and result.task_id and result.event_id and result.async_request_id
    task = wait_for(emulator, result.task_id)
    assert task["status"] == "Success" and task["task_type"] == "AsyncProcessObject"
    image, indices, durations = frames_of(bucket.get_object("a/v.gif").read())
    assert (image.format, image.size) == ("GIF", (160, 120))
    assert indices == [20, 30, 40, 50, 60] and set(durations) == {200}
    message = json.loads(queue.receive_message(wait_seconds=10).message_body)
    assert (message["TaskId"], message["EventId"], message["Status"]) == (result.task_id, result.event_id,
                                                                          "Success")
    assert message["Targets"] == [{"URI": "oss://media/a/v.gif"}]
    events = [e["event"] for e in emulator.admin("GET", f"tasks/{result.task_id}/events")["events"]]
    assert events[0] == "submitted" and "output written" in events and "notification published" in events


def test_v2_sdk_webp_and_fault_rules(bucket: oss2.Bucket, emulator: LiveServer) -> None:
    client = v2_client(emulator)
    v2_succeeded(
        emulator, client, f"video/animation,f_webp,inter_2000|sys/saveas,o_{b64('v.webp')}")
    image, indices, _ = frames_of(bucket.get_object("v.webp").read())
    assert image.format == "WEBP" and image.size == (320, 240) and indices == list(range(0, 120, 20))
    emulator.add_fault({"service": "oss", "match": {"action": "AsyncProcessObject"},
                        "effect": {"task_fail": {"code": "InternalError", "message": "boom"}}})
    failed = bucket.async_process_object("v.mp4", f"video/animation,f_gif|sys/saveas,o_{b64('never.gif')}")
    task = wait_for(emulator, failed.task_id)
    assert (task["status"], task["code"]) == ("Failed", "InternalError")
    assert not bucket.object_exists("never.gif")


@pytest.mark.parametrize(("process", "status", "code"), [
    ("video/animation,f_gif", 400, "InvalidArgument"),  # no sys/saveas
    ("video/animation,f_bmp|sys/saveas,o_eA", 400, "InvalidArgument"),
    ("video/animation,w_10,f_gif|sys/saveas,o_eA", 400, "InvalidArgument"),
    ("audio/concat,f_mp3|sys/saveas,o_eA", 400, "NotImplemented"),
    ("doc/convert|sys/saveas,o_eA", 400, "NotImplemented"),
    ("video/animation,f_gif|sys/saveas,o_eA,b_bm93aGVyZQ", 404, "NoSuchBucket"),
    ("video/animation,f_gif|sys/saveas,o_eA/notify,x_1", 400, "MissingArgument")])
def test_refused_at_submit(bucket: oss2.Bucket, emulator: LiveServer, process: str, status: int,
                           code: str) -> None:
    with pytest.raises(oss2.exceptions.OssError) as err:
        bucket.async_process_object("v.mp4", process)
    assert (err.value.status, err.value.code) == (status, code)
    assert not [t for t in emulator.tasks() if t["service"] == "oss"]


def test_a_source_that_is_not_a_video_fails_the_task(bucket: oss2.Bucket, emulator: LiveServer) -> None:
    bucket.put_object("t.txt", b"text")
    result = bucket.async_process_object("t.txt", f"video/animation,f_gif|sys/saveas,o_{b64('x.gif')}")
    task = wait_for(emulator, result.task_id)
    assert (task["status"], task["code"]) == ("Failed", "InvalidArgument")
    assert not bucket.object_exists("x.gif")
