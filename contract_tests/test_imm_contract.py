"""IMM through alibabacloud-imm20200930: projects, a video-to-animation task, errors.

Against the cloud these need ALIYUN_IMM_PROJECT (an existing project; creating projects needs a
RAM role) and the bucket of ALIYUN_OSS_BUCKET in the same region.
"""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from alibabacloud_imm20200930 import models as m
from PIL import Image, ImageSequence
from Tea.exceptions import TeaException

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


@pytest.fixture
def project(target, unique):
    client = target.imm_client()
    if target.imm_project:  # the cloud: an existing project (creating one needs a RAM role)
        yield target.imm_project
        return
    client.create_project(m.CreateProjectRequest(project_name=unique))
    yield unique
    client.delete_project(m.DeleteProjectRequest(project_name=unique))


def _wait(client, project: str, task_id: str, timeout: float = 600):
    deadline = time.monotonic() + timeout
    while True:
        body = client.get_task(m.GetTaskRequest(project_name=project, task_type="MediaConvert",
                                                task_id=task_id)).body
        if body.status != "Running":
            return body
        assert time.monotonic() < deadline, f"task {task_id} still Running"
        time.sleep(0.2)


def test_video_to_animated_webp(target, project, unique) -> None:
    bucket = target.oss2_bucket()
    source = f"{target.key_prefix}{unique}/brewing.mov"
    bucket.put_object_from_file(source, str(FIXTURES / "brewing.mov"))
    client = target.imm_client()
    request = m.CreateMediaConvertTaskRequest().from_map({
        "ProjectName": project, "UserData": '{"run": "contract"}',
        "Sources": [{"URI": f"oss://{target.bucket_name}/{source}", "StartTime": 5, "Duration": 10}],
        "Targets": [{"Image": {"Animations": [{
            "Format": "webp", "FrameRate": 10, "Interval": 1, "Width": 0.5, "Height": 0.5, "ScaleType": "fit",
            "URI": f"oss://{target.bucket_name}/{target.key_prefix}{unique}/animation.{{autoext}}"}]}}]})
    task_id = client.create_media_convert_task(request).body.task_id
    task = _wait(client, project, task_id)
    assert task.status == "Succeeded", (task.code, task.message)
    assert task.user_data == '{"run": "contract"}'
    image = Image.open(io.BytesIO(bucket.get_object(f"{target.key_prefix}{unique}/animation.webp").read()))
    durations = []
    for frame in ImageSequence.Iterator(image):
        frame.load()  # Pillow fills a WebP frame's info when it decodes it
        durations.append(frame.info["duration"])
    assert len(durations) == 10 and image.size == (160, 90)
    assert set(durations) == {100}


def test_unknown_task_and_project(target, project, unique) -> None:
    client = target.imm_client()
    with pytest.raises(TeaException) as err:
        client.get_task(m.GetTaskRequest(project_name=project, task_type="MediaConvert",
                                         task_id="MediaConvert-00000000-0000-0000-0000-000000000000"))
    assert err.value.code == "ResourceNotFound"
    with pytest.raises(TeaException) as err:
        client.get_project(m.GetProjectRequest(project_name=unique + "-missing"))
    assert err.value.code == "ResourceNotFound"


def test_invalid_target_is_refused_before_a_task_exists(target, project) -> None:
    client = target.imm_client()
    request = m.CreateMediaConvertTaskRequest().from_map({
        "ProjectName": project, "Sources": [{"URI": "not-an-oss-uri"}],
        "Targets": [{"Image": {"Animations": [{"Format": "webp", "URI": "oss://b/a.webp"}]}}]})
    with pytest.raises(TeaException) as err:
        client.create_media_convert_task(request)
    assert err.value.code == "InvalidArgument"
