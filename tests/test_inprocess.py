"""mock_aliyun(): the real host names served in-process to httpx clients, sync and async."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
from email.utils import formatdate

import httpx
import pytest

from emulator.testing import mock_aliyun


def _oss_headers(method: str, resource: str, secret: str = "emulator-secret") -> dict[str, str]:
    date = formatdate(usegmt=True)
    signature = base64.b64encode(hmac.new(secret.encode(), f"{method}\n\n\n{date}\n{resource}".encode(),
                                          hashlib.sha1).digest()).decode()
    return {"Date": date, "Authorization": f"OSS LTAI-emulator:{signature}"}


def test_virtual_hosted_oss_through_httpx() -> None:
    with mock_aliyun() as cloud:
        host = "https://media.oss-cn-hangzhou.aliyuncs.com"
        assert httpx.put(host + "/", headers=_oss_headers("PUT", "/media/")).status_code == 200
        put = httpx.put(host + "/a b.txt", content=b"hi", headers=_oss_headers("PUT", "/media/a b.txt"))
        assert put.status_code == 200 and put.headers["x-oss-hash-crc64ecma"]
        got = httpx.get(host + "/a b.txt", headers=_oss_headers("GET", "/media/a b.txt"))
        assert got.content == b"hi"
        bad = httpx.get(host + "/a b.txt", headers=_oss_headers("GET", "/media/a b.txt", "wrong"))
        assert bad.status_code == 403 and b"SignatureDoesNotMatch" in bad.content
        assert [r["action"] for r in cloud.requests()] == ["PutBucket", "PutObject", "GetObject",
                                                           "GetObject"]


def test_admin_calls_and_faults_work_in_process() -> None:
    with mock_aliyun() as cloud:
        before = cloud.admin("GET", "clock")["epoch"]
        assert cloud.advance(600)["epoch"] >= before + 600
        cloud.add_fault({"service": "oss", "effect": {"reset": True}, "times": 1})
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.get("https://media.oss-cn-hangzhou.aliyuncs.com/k")
        cloud.add_fault({"service": "oss", "effect": {"http_error": {"status": 503, "code": "Busy"}}})
        busy = httpx.get("https://media.oss-cn-hangzhou.aliyuncs.com/k")
        assert busy.status_code == 503 and b"<Code>Busy</Code>" in busy.content


@mock_aliyun()
def test_decorator_form() -> None:
    health = httpx.get("http://aliyun-emulator.local/_emulator/health")
    assert health.json()["status"] == "ok"


def test_async_clients() -> None:
    async def main() -> int:
        async with mock_aliyun():
            async with httpx.AsyncClient() as client:
                response = await client.get("https://media.oss-cn-hangzhou.aliyuncs.com/",
                                            headers=_oss_headers("GET", "/media/"))
                return response.status_code

    assert asyncio.run(main()) == 404  # NoSuchBucket: a fresh emulator per mock


def test_other_hosts_are_not_intercepted() -> None:
    with mock_aliyun(), pytest.raises(httpx.ConnectError):
        httpx.get("http://127.0.0.1:9/", timeout=1)


def test_each_service_host_pattern_reaches_its_service() -> None:
    """The DashScope, IMM and MNS host names (every form HOST_PATTERNS lists) reach the emulator's
    service of that name; near misses do not match and go to the network as usual."""
    dashscope_body = {"model": "wan2.2-animate-move", "parameters": {"mode": "wan-std"}, "input": {
        "image_url": "https://help-static-aliyun-doc.aliyuncs.com/a.jpeg",
        "video_url": "https://help-static-aliyun-doc.aliyuncs.com/b.mp4"}}
    path = "/api/v1/services/aigc/image2video/video-synthesis"
    with mock_aliyun():
        for host, key in [("dashscope-intl.aliyuncs.com", "sk-emulator"),
                          ("dashscope.aliyuncs.com", "sk-emulator-cn"),
                          ("ws-1.cn-beijing.maas.aliyuncs.com", "sk-emulator-cn")]:
            response = httpx.post(f"https://{host}{path}", json=dashscope_body, headers={
                "Authorization": f"Bearer {key}", "X-DashScope-Async": "enable"})
            assert response.status_code == 200 and response.json()["output"]["task_status"] == "PENDING", host
        wrong_region = httpx.post(f"https://dashscope-intl.aliyuncs.com{path}", json=dashscope_body, headers={
            "Authorization": "Bearer sk-emulator-cn", "X-DashScope-Async": "enable"})
        assert (wrong_region.status_code, wrong_region.json()["code"]) == (401, "InvalidApiKey")  # Host kept
        for host in ("imm.cn-hangzhou.aliyuncs.com", "imm-vpc.cn-beijing.aliyuncs.com"):
            imm = httpx.post(f"https://{host}/", params={"Action": "ListProjects", "Version": "2020-09-30"})
            body = imm.json()  # IMM's RPC error JSON
            assert (imm.status_code, body["Code"]) == (400, "MissingAuthorization"), host
            assert {"RequestId", "HostId", "Message", "Recommend"} <= set(body)
        mns_host = "1234567890123456.mns.cn-hangzhou.aliyuncs.com"
        mns = httpx.get(f"https://{mns_host}/queues", headers={"x-mns-version": "2015-06-06"})
        assert mns.status_code == 400 and mns.headers["x-mns-request-id"]  # MNS's error XML
        assert b"<Code>MissingAuthorizationHeader</Code>" in mns.content
        assert f"<HostId>http://{mns_host}</HostId>".encode() in mns.content
        for near_miss in ("https://dashscope-intl.aliyuncs.com.invalid/", "https://imm.aliyuncs.com.invalid/",
                          "https://mns.cn-hangzhou.aliyuncs.com.invalid/"):
            with pytest.raises(httpx.ConnectError):
                httpx.get(near_miss, timeout=2)
