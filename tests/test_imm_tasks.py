"""GetTask / ListTasks, validation before a task exists, and failed tasks, through the official
alibabacloud-imm20200930 SDK (and oss2 for the sources) against a live emulator."""

from __future__ import annotations

import json

import pytest
from alibabacloud_imm20200930 import models as m
from alibabacloud_tea_openapi.exceptions import ClientException

from emulator.testing.server import LiveServer
from tests.imm_support import FIXTURES, convert, imm_client, wait_for_task, world

GIF = [{"Image": {"Animations": [{"Format": "gif", "URI": "oss://media/out/a.gif", "Interval": 4}]}}]


def test_get_task_echoes_user_data_tags_and_definition(emulator: LiveServer) -> None:
    client, _ = world(emulator)
    task_id = convert(client, GIF, UserData='{"order": 42}', Tags={"k": "v"})
    task = wait_for_task(client, "p", task_id)
    assert (task.project_name, task.task_type, task.task_id) == ("p", "MediaConvert", task_id)
    assert task.user_data == '{"order": 42}'
    assert task.tags == {"k": "v"}
    assert task.event_id
    assert task.task_request_definition is None
    full = client.get_task(m.GetTaskRequest(project_name="p", task_type="MediaConvert", task_id=task_id,
                                            request_definition=True)).body
    definition = json.loads(full.task_request_definition)
    assert definition["Sources"] == [{"URI": "oss://media/in/counter.mp4", "Subtitles": []}]
    assert definition["Targets"][0]["Image"]["Animations"][0]["URI"] == "oss://media/out/a.gif"
    assert definition["UserData"] == '{"order": 42}'


def test_get_task_unknown(emulator: LiveServer) -> None:
    client, _ = world(emulator)
    with pytest.raises(ClientException) as err:
        client.get_task(m.GetTaskRequest(project_name="p", task_type="MediaConvert",
                                         task_id="MediaConvert-x"))
    assert (err.value.code, err.value.status_code) == ("ResourceNotFound", 400)
    assert "Task" in err.value.message


def test_list_tasks_filters_pages_and_sorts(emulator: LiveServer) -> None:
    client, _ = world(emulator)
    ok = [convert(client, GIF, Tags={"n": str(i)}) for i in range(3)]
    bad = convert(client, GIF, sources=[{"URI": "oss://media/in/missing.mp4"}])
    for task_id in [*ok, bad]:
        wait_for_task(client, "p", task_id)
    seen, token = [], None
    while True:
        body = client.list_tasks(m.ListTasksRequest(project_name="p", max_results=3, next_token=token)).body
        assert body.max_results == "3"
        seen += [t.task_id for t in body.tasks]
        token = body.next_token
        if not token:
            break
    assert seen == sorted([*ok, bad])
    failed = client.list_tasks(m.ListTasksRequest(project_name="p", status="Failed")).body.tasks
    assert [t.task_id for t in failed] == [bad]
    newest_first = client.list_tasks(m.ListTasksRequest(project_name="p", sort="StartTime", order="desc",
                                                        task_types=["MediaConvert"])).body.tasks
    assert [t.task_id for t in newest_first] == [bad, *reversed(ok)]
    assert client.list_tasks(m.ListTasksRequest(project_name="p", task_types=["VideoLabelClassification"])
                             ).body.tasks == []
    assert [t.tags for t in client.list_tasks(m.ListTasksRequest(project_name="p", tag_selector="n=1"))
            .body.tasks] == [{"n": "1"}]


@pytest.mark.parametrize("fixture, code, words", [
    (None, "ResourceNotFound", "oss://media/in/counter.mp4"),
    ("not_video.txt", "InvalidArgument", "not a video"),
    ("corrupt.mp4", "InvalidArgument", "not a video"),
])
def test_bad_sources_fail_the_task(emulator: LiveServer, fixture: str | None, code: str, words: str) -> None:
    client, bucket = world(emulator)
    if fixture is None:
        bucket.delete_object("in/counter.mp4")
    else:
        bucket.put_object_from_file("in/counter.mp4", str(FIXTURES / fixture))
    task = wait_for_task(client, "p", convert(client, GIF))
    assert (task.status, task.code) == ("Failed", code)
    assert words in task.message
    assert task.end_time


def _anim(**fields: object) -> list[dict]:
    return [{"Image": {"Animations": [{"Format": "gif", "URI": "oss://media/o.gif", **fields}]}}]


def _snapshot(**fields: object) -> list[dict]:
    return [{"Image": {"Snapshots": [{"Format": "jpg", "URI": "oss://media/s.jpg", **fields}]}}]


@pytest.mark.parametrize("change, field", [
    ({"Sources": None}, "Sources"),
    ({"Sources": [{"URI": "http://media/in.mp4"}]}, "Sources[0].URI"),
    ({"Sources": [{"URI": "oss://media/in.mp4", "StartTime": -1}]}, "Sources[0].StartTime"),
    ({"Targets": [{"URI": "oss://media/o.mp4", "Container": "mp4", **_anim()[0]}]}, "Targets[0].URI"),
    ({"Targets": _anim(Format="bmp")}, "Targets[0].Image.Animations[0].Format"),
    ({"Targets": [{"Image": {"Animations": [{"URI": "oss://media/o.gif"}]}}]},
     "Targets[0].Image.Animations[0].Format"),
    ({"Targets": [{"Image": {"Animations": [{"Format": "gif"}]}}]}, "Targets[0].Image.Animations[0].URI"),
    ({"Targets": _anim(Width=5000)}, "Targets[0].Image.Animations[0].Width"),
    ({"Targets": _anim(Height=320.5)}, "Targets[0].Image.Animations[0].Height"),
    ({"Targets": _anim(ScaleType="zoom")}, "Targets[0].Image.Animations[0].ScaleType"),
    ({"Targets": _anim(FrameRate=0)}, "Targets[0].Image.Animations[0].FrameRate"),
    ({"Targets": _anim(Interval=-1)}, "Targets[0].Image.Animations[0].Interval"),
    ({"Targets": _anim(Number=1.5)}, "Targets[0].Image.Animations[0].Number"),
    ({"Targets": _anim(URI="oss://media/{nosuchvar}.gif")}, "Targets[0].Image.Animations[0].URI"),
    ({"Targets": [{"Image": {"Snapshots": [{"Format": "gif", "URI": "oss://media/s.gif"}]}}]},
     "Targets[0].Image.Snapshots[0].Format"),
    ({"UserData": "x" * 2049}, "UserData"),
    ({"Targets": _snapshot(Mode="scene")}, "Targets[0].Image.Snapshots[0].Mode"),
    ({"Targets": _snapshot(Mode="dhash")}, "Targets[0].Image.Snapshots[0].Mode"),
    ({"Targets": _snapshot(Mode="average")}, "Targets[0].Image.Snapshots[0].Number"),
    ({"Targets": _snapshot(Threshold=101)}, "Targets[0].Image.Snapshots[0].Threshold"),
])
def test_invalid_requests_name_the_field(emulator: LiveServer, change: dict, field: str) -> None:
    client = imm_client(emulator)
    client.create_project(m.CreateProjectRequest(project_name="p"))
    request = {"ProjectName": "p", "Sources": [{"URI": "oss://media/in.mp4"}], "Targets": _anim(), **change}
    model = m.CreateMediaConvertTaskRequest().from_map({k: v for k, v in request.items() if v is not None})
    with pytest.raises(ClientException) as err:
        client.create_media_convert_task(model)
    assert (err.value.code, err.value.status_code) == ("InvalidArgument", 400)
    assert field in err.value.message
    assert client.list_tasks(m.ListTasksRequest(project_name="p")).body.tasks == []


def test_unknown_project(emulator: LiveServer) -> None:
    with pytest.raises(ClientException) as err:
        convert(imm_client(emulator), GIF, project="nope")
    assert err.value.code == "ResourceNotFound"


def test_admin_api_lists_imm_tasks_and_their_timeline(emulator: LiveServer) -> None:
    client, _ = world(emulator)
    task_id = convert(client, GIF)
    wait_for_task(client, "p", task_id)
    [listed] = emulator.admin("GET", "tasks?service=imm")["tasks"]
    assert (listed["task_id"], listed["status"], listed["project"]) == (task_id, "Succeeded", "p")
    events = [e["event"] for e in emulator.admin("GET", f"tasks/{task_id}/events")["events"]]
    assert events[:3] == ["submitted", "started", "rendering"]
    assert events[-2:] == ["output written", "finished"]
