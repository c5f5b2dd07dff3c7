"""Isolation sweep: namespace A stores something in every service; namespace B, knowing A's names,
ids and AccessKey id (never A's secret), tries every read, list and write path, the URLs the emulator
accepts included (presigned URLs, copy sources, IMM source URIs, DashScope input URLs, MNS queue and
topic names, the admin API's per-namespace endpoints). Nothing of A is reached or changed, and B's
answers are those for a name that never existed (B cannot infer that A has it)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import httpx
import oss2
import pytest
from alibabacloud_imm20200930 import models as m
from alibabacloud_tea_openapi.exceptions import ClientException
from dashscope_support import SAMPLE_IMAGE, get_task, submit, wait_for
from mns.account import Account
from mns.mns_exception import MNSExceptionBase
from mns.queue import Message, QueueMeta
from mns.topic import TopicMessage, TopicMeta

from emulator.services.dashscope.inputs import ASSETS
from emulator.testing.server import LiveServer, Namespace
from tests.imm_support import imm_client, wait_for_task

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "counter_320x240_10fps_12s_gop10.mp4"
SECRET = b"A-SECRET-TEXT"


def _outcome(call: Callable[[], object]) -> tuple[str, object]:
    """("ok", result) or (error code, status) for an SDK call."""
    try:
        return "ok", call()
    except oss2.exceptions.OssError as err:
        return err.code or str(err.status), err.status
    except ClientException as err:
        return err.code, err.status_code
    except MNSExceptionBase as err:
        return err.type, getattr(err, "status", None)


def _refused_like_nothing(real: Callable[[], object], never: Callable[[], object]) -> str:
    """B's call on A's name answers exactly as the same call on a name nobody has."""
    got, missing = _outcome(real), _outcome(never)
    assert got[0] != "ok", got
    assert got == missing, (got, missing)
    return got[0]


def _bucket(ns: Namespace, name: str, v4: bool = False, access_key_id: str | None = None) -> oss2.Bucket:
    ak = access_key_id or ns.access_key_id
    auth = oss2.AuthV4(ak, ns.access_key_secret) if v4 else oss2.Auth(ak, ns.access_key_secret)
    return oss2.Bucket(auth, ns.url, name, region="cn-hangzhou")


@pytest.fixture
def world(emulator: LiveServer) -> dict:
    """A's things in every service."""
    a, b = emulator.create_namespace(), emulator.create_namespace()
    iso = _bucket(a, "iso")
    iso.create_bucket()
    iso.put_object("secret.txt", SECRET)
    iso.put_object_from_file("clip.mp4", str(FIXTURE))
    iso.put_object_from_file("img.jpeg", str(ASSETS / "move_input_image.jpeg"))
    iso.put_object_from_file("dance.mp4", str(ASSETS / "move_input_video.mp4"))
    imm = imm_client(emulator, secret=a.access_key_secret, access_key_id=a.access_key_id)
    imm.create_project(m.CreateProjectRequest(project_name="pa"))
    request = m.CreateMediaConvertTaskRequest().from_map(
        {
            "ProjectName": "pa",
            "Sources": [{"URI": "oss://iso/clip.mp4"}],
            "Targets": [
                {"Image": {"Animations": [{"Format": "gif", "URI": "oss://iso/out/a.gif", "Number": 3}]}}
            ],
        }
    )
    imm_task = imm.create_media_convert_task(request).body.task_id
    assert wait_for_task(imm, "pa", imm_task).status == "Succeeded"
    dashscope_task = submit(emulator.url, key=a.dashscope_api_key).json()["output"]["task_id"]
    account = Account(emulator.url, a.access_key_id, a.access_key_secret)
    queue = account.get_queue("qa")
    queue.create(QueueMeta())
    queue.send_message(Message("A-SECRET-MSG"))
    account.get_topic("ta").create(TopicMeta())
    return {"a": a, "b": b, "imm_task": imm_task, "dashscope_task": dashscope_task}


def _a_is_intact(server: LiveServer, world: dict) -> None:
    a = world["a"]
    iso = _bucket(a, "iso")
    assert iso.get_object("secret.txt").read() == SECRET
    assert sorted(o.key for o in oss2.ObjectIterator(iso)) == [
        "clip.mp4",
        "dance.mp4",
        "img.jpeg",
        "out/a.gif",
        "secret.txt",
    ]
    imm = imm_client(server, secret=a.access_key_secret, access_key_id=a.access_key_id)
    assert imm.get_project(m.GetProjectRequest(project_name="pa")).body.project.project_name == "pa"
    account = Account(server.url, a.access_key_id, a.access_key_secret)
    assert account.get_queue("qa").get_attributes().active_messages == 1
    assert [url.rsplit("/", 1)[1] for url in account.list_topic()[0]] == ["ta"]
    assert (
        get_task(server.url, world["dashscope_task"], a.dashscope_api_key).json()["output"]["task_status"]
        != "UNKNOWN"
    )


def test_oss(emulator: LiveServer, world: dict) -> None:
    a, b = world["a"], world["b"]
    theirs, nobodys = _bucket(b, "iso"), _bucket(b, "never-was")
    mine = _bucket(b, "mine")
    mine.create_bucket()
    for call in (
        "get_object",
        "head_object",
        "get_object_meta",
        "delete_object",
        "get_object_acl",
        "get_object_tagging",
    ):
        _refused_like_nothing(
            lambda c=call: getattr(theirs, c)("secret.txt"), lambda c=call: getattr(nobodys, c)("secret.txt")
        )
    _refused_like_nothing(
        lambda: theirs.put_object("secret.txt", b"B"), lambda: nobodys.put_object("secret.txt", b"B")
    )
    _refused_like_nothing(lambda: theirs.list_objects(), lambda: nobodys.list_objects())
    _refused_like_nothing(lambda: theirs.get_bucket_info(), lambda: nobodys.get_bucket_info())
    _refused_like_nothing(
        lambda: theirs.init_multipart_upload("m"), lambda: nobodys.init_multipart_upload("m")
    )
    _refused_like_nothing(lambda: theirs.list_multipart_uploads(), lambda: nobodys.list_multipart_uploads())
    assert "iso" not in [
        bk.name
        for bk in oss2.BucketIterator(
            oss2.Service(oss2.Auth(b.access_key_id, b.access_key_secret), emulator.url)
        )
    ]
    # Copy sources: A's bucket named as the source of B's copy and part copy.
    _refused_like_nothing(
        lambda: mine.copy_object("iso", "secret.txt", "copied"),
        lambda: mine.copy_object("never-was", "secret.txt", "copied"),
    )
    upload = mine.init_multipart_upload("parts").upload_id
    _refused_like_nothing(
        lambda: mine.upload_part_copy("iso", "secret.txt", (0, 4), "parts", upload, 1),
        lambda: mine.upload_part_copy("never-was", "secret.txt", (0, 4), "parts", upload, 1),
    )
    assert [o.key for o in oss2.ObjectIterator(mine)] == []
    # URLs: B's own presigned URL names B's world; one with A's AccessKey id but B's secret is forged;
    # unsigned, path-style and virtual-hosted, is anonymous.
    for v4 in (False, True):
        own = httpx.get(_bucket(b, "iso", v4).sign_url("GET", "secret.txt", 600), timeout=10)
        assert own.status_code == 404 and SECRET not in own.content
        forged = httpx.get(
            _bucket(b, "iso", v4, access_key_id=a.access_key_id).sign_url("GET", "secret.txt", 600),
            timeout=10,
        )
        assert forged.status_code == 403 and b"SignatureDoesNotMatch" in forged.content
    for response in (
        httpx.get(f"{emulator.url}/iso/secret.txt", timeout=10),
        httpx.get(
            f"{emulator.url}/secret.txt", headers={"Host": "iso.oss-cn-hangzhou.aliyuncs.com"}, timeout=10
        ),
        httpx.put(f"{emulator.url}/iso/secret.txt", content=b"anon", timeout=10),
    ):
        assert response.status_code in (403, 404) and SECRET not in response.content
    _a_is_intact(emulator, world)


def test_imm(emulator: LiveServer, world: dict) -> None:
    b = world["b"]
    client = imm_client(emulator, secret=b.access_key_secret, access_key_id=b.access_key_id)
    _refused_like_nothing(
        lambda: client.get_project(m.GetProjectRequest(project_name="pa")),
        lambda: client.get_project(m.GetProjectRequest(project_name="never-was")),
    )
    for name in ("pa", "never-was"):
        assert (
            _outcome(
                lambda n=name: client.update_project(m.UpdateProjectRequest(project_name=n, description="B"))
            )[0]
            != "ok"
        )
    assert "pa" not in [
        p.project_name for p in client.list_projects(m.ListProjectsRequest()).body.projects or []
    ]
    _refused_like_nothing(
        lambda: client.get_task(
            m.GetTaskRequest(project_name="pa", task_type="MediaConvert", task_id=world["imm_task"])
        ),
        lambda: client.get_task(
            m.GetTaskRequest(project_name="pa", task_type="MediaConvert", task_id="never-was")
        ),
    )
    # B's own project, with A's objects as sources and A's bucket as target.
    client.create_project(m.CreateProjectRequest(project_name="pb"))
    _refused_like_nothing(
        lambda: client.detect_media_meta(
            m.DetectMediaMetaRequest(project_name="pb", source_uri="oss://iso/clip.mp4")
        ),
        lambda: client.detect_media_meta(
            m.DetectMediaMetaRequest(project_name="pb", source_uri="oss://never-was/clip.mp4")
        ),
    )
    mine = _bucket(b, "mine")
    mine.create_bucket()
    mine.put_object_from_file("clip.mp4", str(FIXTURE))
    for source, target in (
        ("oss://iso/clip.mp4", "oss://mine/out.gif"),
        ("oss://mine/clip.mp4", "oss://iso/b.gif"),
    ):
        request = m.CreateMediaConvertTaskRequest().from_map(
            {
                "ProjectName": "pb",
                "Sources": [{"URI": source}],
                "Targets": [{"Image": {"Animations": [{"Format": "gif", "URI": target, "Number": 3}]}}],
            }
        )
        code, answer = _outcome(lambda r=request: client.create_media_convert_task(r))
        if code == "ok":
            assert wait_for_task(client, "pb", answer.body.task_id).status == "Failed"
    assert sorted(o.key for o in oss2.ObjectIterator(mine)) == ["clip.mp4"]
    _refused_like_nothing(lambda: client.list_tasks(m.ListTasksRequest(project_name="pa")),
                          lambda: client.list_tasks(m.ListTasksRequest(project_name="never-was")))
    _a_is_intact(emulator, world)


def test_dashscope(emulator: LiveServer, world: dict) -> None:
    a, b = world["a"], world["b"]
    key, task = b.dashscope_api_key, world["dashscope_task"]
    assert get_task(emulator.url, task, key).json()["output"]["task_status"] == "UNKNOWN"
    auth = {"Authorization": f"Bearer {key}"}
    assert (
        httpx.post(f"{emulator.url}/api/v1/tasks/{task}/cancel", headers=auth, timeout=10).json()["code"]
        == httpx.post(f"{emulator.url}/api/v1/tasks/never-was/cancel", headers=auth, timeout=10).json()[
            "code"
        ]
    )
    assert task not in httpx.get(f"{emulator.url}/api/v1/tasks", headers=auth, timeout=10).text
    policy = httpx.get(
        f"{emulator.url}/api/v1/uploads",
        params={"action": "getPolicy", "model": "wan2.2-animate-move"},
        headers=auth,
        timeout=10,
    ).json()["data"]
    assert a.access_key_id not in json.dumps(policy)
    # Input URLs into A's private objects: unsigned, oss:// (resolved in B's world), forged presigned.
    forged_v1 = _bucket(b, "iso", access_key_id=a.access_key_id).sign_url("GET", "dance.mp4", 600)
    forged_v4 = _bucket(b, "iso", True, access_key_id=a.access_key_id).sign_url("GET", "dance.mp4", 600)
    for video_url, headers in (
        (f"{emulator.url}/iso/dance.mp4", {}),
        (forged_v1, {}),
        (forged_v4, {}),
        ("oss://iso/dance.mp4", {"X-DashScope-OssResourceResolve": "enable"}),
    ):
        emulator.advance(1)  # under the submit rate
        answer = submit(
            emulator.url,
            {
                "model": "wan2.2-animate-move",
                "input": {"image_url": SAMPLE_IMAGE, "video_url": video_url},
                "parameters": {"mode": "wan-std"},
            },
            key=key,
            headers=headers,
        )
        if answer.status_code == 200:
            done = wait_for(emulator.url, answer.json()["output"]["task_id"], key=key)
            assert done["output"]["task_status"] == "FAILED", (video_url, done)
        else:
            assert 400 <= answer.status_code < 500
    _a_is_intact(emulator, world)


def test_mns(emulator: LiveServer, world: dict) -> None:
    b = world["b"]
    account = Account(emulator.url, b.access_key_id, b.access_key_secret)
    theirs, nobodys = account.get_queue("qa"), account.get_queue("never-was")
    for call in ("peek_message", "receive_message", "get_attributes"):
        _refused_like_nothing(lambda c=call: getattr(theirs, c)(), lambda c=call: getattr(nobodys, c)())
    _refused_like_nothing(
        lambda: theirs.send_message(Message("B")), lambda: nobodys.send_message(Message("B"))
    )
    _refused_like_nothing(
        lambda: theirs.delete_message("not-a-handle"), lambda: nobodys.delete_message("not-a-handle")
    )
    assert account.list_queue()[0] == []
    topic, no_topic = account.get_topic("ta"), account.get_topic("never-was")
    _refused_like_nothing(
        lambda: topic.publish_message(TopicMessage("B")), lambda: no_topic.publish_message(TopicMessage("B"))
    )
    _refused_like_nothing(lambda: topic.get_attributes(), lambda: no_topic.get_attributes())
    _refused_like_nothing(lambda: topic.list_subscription(), lambda: no_topic.list_subscription())
    assert account.list_topic()[0] == []
    # B's own queue of the same name is B's: A's message is not in it.
    theirs.create(QueueMeta())
    assert _outcome(theirs.receive_message)[0] == "MessageNotExist"
    _a_is_intact(emulator, world)


def test_admin_per_namespace_endpoints(emulator: LiveServer, world: dict) -> None:
    a, b = world["a"], world["b"]
    ns = b.namespace
    get = lambda path: httpx.get(f"{emulator.url}/_emulator/{path}", timeout=10)  # noqa: E731
    for task in (world["imm_task"], world["dashscope_task"]):
        assert task not in get(f"tasks?namespace={ns}").text
        assert get(f"tasks/{task}/events?namespace={ns}").status_code == 404
        assert get(f"console/tasks/{task}?namespace={ns}").status_code == 404
    journal = get(f"requests?namespace={ns}").json()["requests"]
    assert {e["namespace"] for e in journal} <= {ns}
    assert a.access_key_id not in get(f"requests?namespace={ns}&limit=100000").text
    billing = get(f"billing?namespace={ns}").text
    assert billing == get(f"billing?namespace={emulator.create_namespace().namespace}").text  # B did nothing
    assert "iso" not in get(f"console/buckets?namespace={ns}").text
    for path in (
        "console/buckets/iso/objects",
        "console/buckets/iso/meta?key=secret.txt",
        "console/buckets/iso/content?key=secret.txt",
        "console/mns/queues/qa/peek",
    ):
        answer = get(f"{path}{'&' if '?' in path else '?'}namespace={ns}")
        assert answer.status_code == 404 and b"A-SECRET" not in answer.content, (path, answer.text)
    assert "qa" not in get(f"console/mns?namespace={ns}").text
    assert re.search(r'"(qa|ta)"', get(f"console/mns?namespace={ns}").text) is None
    # Resetting and deleting B touch nothing of A.
    emulator.reset(ns)
    b.delete()
    _a_is_intact(emulator, world)
