"""In-process unit tests: key regions, oss:// uploads and this emulator's own (presigned) OSS URLs
resolved through the OSS model, the check_image event, UTC+8 times."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from dashscope_support import SUBMIT, seed_body

from emulator.auth.dashscope import authenticate, bearer_key, host_region
from emulator.auth.oss import presign_v1_get
from emulator.config import Config
from emulator.core.errors import ServiceError
from emulator.core.pipeline import asgi_app
from emulator.core.runtime import Runtime
from emulator.services.dashscope import content
from emulator.services.dashscope.inputs import ASSETS, UPLOAD_BUCKET
from emulator.services.dashscope.routes import build_dashscope
from emulator.services.dashscope.wire import format_time
from emulator.services.oss.model import OssModel

BASE = "http://127.0.0.1:9088"
HEADERS = {"Authorization": "Bearer sk-emulator", "X-DashScope-Async": "enable"}


def test_host_binds_keys_to_regions():
    assert host_region("dashscope-intl.aliyuncs.com") == "ap-southeast-1"
    assert host_region("ws1.ap-southeast-1.maas.aliyuncs.com:443") == "ap-southeast-1"
    assert host_region("dashscope.aliyuncs.com") == "cn-beijing"
    assert host_region("127.0.0.1:9088") is None and host_region("[::1]:9088") is None
    assert bearer_key("Bearer  sk-1 ") == "sk-1" and bearer_key("Basic x") is None and bearer_key("") is None


def test_unverified_keys_map_to_the_default_namespace(tmp_path):
    runtime = Runtime(Config(ephemeral=True))
    try:
        creds, region = authenticate(runtime.accounts, "Bearer anything", "dashscope.aliyuncs.com", False)
        assert (creds.namespace, region) == ("default", "cn-beijing")
        with pytest.raises(ServiceError) as err:
            authenticate(runtime.accounts, "Bearer anything", "127.0.0.1", True)
        assert (err.value.status, err.value.code) == (401, "InvalidApiKey")
    finally:
        runtime.close()


def test_times_are_utc_plus_8_with_milliseconds():
    assert format_time(0.5) == "1970-01-01 08:00:00.500"


@pytest.fixture
def service():
    runtime = Runtime(Config(ephemeral=True))
    oss = OssModel(runtime)
    built = build_dashscope(runtime, oss)
    yield runtime, oss, built
    runtime.close()


async def run_task(app, body, headers=HEADERS, deadline: float = 180) -> dict:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as client:
        response = await client.post(SUBMIT, json=body, headers=headers)
        assert response.status_code == 200, response.text
        task_id = response.json()["output"]["task_id"]
        end = time.monotonic() + deadline
        while True:
            got = (await client.get(f"/api/v1/tasks/{task_id}", headers=HEADERS)).json()
            if got["output"]["task_status"] in ("SUCCEEDED", "FAILED"):
                return got
            assert time.monotonic() < end, got
            await asyncio.sleep(0.1)


def test_oss_uploads_resolve_for_48_hours_and_say_how_the_image_was_checked(service):
    runtime, oss, built = service
    oss.create_bucket("default", UPLOAD_BUCKET)
    key = "dashscope-instant/abc/2026-01-01/req/person.jpeg"
    oss.put_file("default", UPLOAD_BUCKET, key, ASSETS / "move_input_image.jpeg", "image/jpeg")
    body = seed_body(image_url="oss://" + key)
    resolve = {**HEADERS, "X-DashScope-OssResourceResolve": "enable"}
    done = asyncio.run(run_task(asgi_app(built, runtime), body, resolve))
    assert done["output"]["task_status"] == "SUCCEEDED", done
    events = [e["event"] for e in runtime.events.list("default", done["output"]["task_id"])]
    assert events[:3] == ["submitted", "started", "inputs checked"]
    assert "check_image passed" in events and events[-1] == "finished"
    passed = next(e for e in runtime.events.list("default", done["output"]["task_id"])
                  if e["event"] == "check_image passed")
    assert passed["detector"] == content.DETECTOR

    runtime.clock.advance(48 * 3600 + 1)
    expired = asyncio.run(run_task(asgi_app(built, runtime), body, resolve))
    assert expired["output"]["code"] == "InvalidParameter.DataInspection"
    missing = asyncio.run(run_task(asgi_app(built, runtime), seed_body(image_url="oss://dashscope-instant/none.png"),
                                   resolve))
    assert missing["output"]["code"] == "InvalidParameter.DataInspection"


def test_own_oss_urls_need_a_valid_signature_or_a_public_bucket(service):
    runtime, oss, built = service
    oss.create_bucket("default", "media")
    oss.put_file("default", "media", "ref/dance.mp4", ASSETS / "move_input_video.mp4", "video/mp4")
    creds = runtime.accounts.default

    def signed(expires: float, secret: str = creds.access_key_secret) -> str:
        return presign_v1_get(BASE, creds.access_key_id, secret, "media", "ref/dance.mp4", int(expires))

    now = runtime.clock.now()
    ok = asyncio.run(run_task(asgi_app(built, runtime), seed_body(video_url=signed(now + 600))))
    assert ok["output"]["task_status"] == "SUCCEEDED", ok
    no_auth = ("InvalidParameter.DataInspection",
               "Don't have authorization to access the media resource during the data inspection process.")
    for url in (signed(now - 1), signed(now + 600, "wrong-secret"), f"{BASE}/media/ref/dance.mp4"):
        runtime.clock.advance(1)
        failed = asyncio.run(run_task(asgi_app(built, runtime), seed_body(video_url=url)))["output"]
        assert (failed["code"], failed["message"]) == no_auth, url
    oss.set_bucket_acl("default", "media", "public-read")
    public = asyncio.run(run_task(asgi_app(built, runtime), seed_body(video_url=f"{BASE}/media/ref/dance.mp4",
                                                              model="wan2.2-animate-mix")))
    assert public["output"]["task_status"] == "SUCCEEDED"


def test_reset_forgets_queues_and_limits(service):
    runtime, oss, built = service
    model = built.model
    model.limits.check(("default", "submit"), 1)
    with pytest.raises(ServiceError):
        model.limits.check(("default", "submit"), 1)
    model.reset(None)
    model.limits.check(("default", "submit"), 1)


def test_virtual_hosted_oss_urls_resolve_like_path_style_ones(service):
    runtime, oss, built = service
    oss.create_bucket("default", "media")
    oss.put_bytes("default", "media", "a/b.jpg", b"x", "image/jpeg")
    creds = runtime.accounts.default
    path_style = presign_v1_get(BASE, creds.access_key_id, creds.access_key_secret, "media", "a/b.jpg",
                                int(runtime.clock.now()) + 60)
    virtual = path_style.replace("http://127.0.0.1:9088/media/", "http://media.127.0.0.1:9088/")
    own = {"127.0.0.1:9088"}
    expected = oss.object_path("default", "media", "a/b.jpg")
    assert built.model.inputs.locate("default", path_style, own).path == expected
    assert built.model.inputs.locate("default", virtual, own).path == expected
    with pytest.raises(ServiceError) as err:
        built.model.inputs.locate("default", virtual.replace("media.", "other."), own)
    assert err.value.code == "InvalidParameter.DataInspection"
