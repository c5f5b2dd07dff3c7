"""Presigned URLs expiring by the emulator's clock, PostObject form uploads, anonymous access."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import alibabacloud_oss_v2 as oss
import httpx
import oss2
import pytest

from emulator.testing.server import LiveServer
from tests.oss_clients import oss2_bucket, v2_client


@pytest.fixture
def bucket(emulator: LiveServer) -> oss2.Bucket:
    b = oss2_bucket(emulator, "media")
    b.create_bucket()
    b.put_object("dir/clip 1.mp4", b"video-bytes")
    return b


@pytest.mark.parametrize("version", ["v1", "v4"])
def test_presigned_get_expires_by_emulator_clock(emulator: LiveServer, bucket, version) -> None:
    signer = oss2_bucket(emulator, "media", version)
    url = signer.sign_url("GET", "dir/clip 1.mp4", 600, slash_safe=True)
    assert httpx.get(url).content == b"video-bytes"
    emulator.advance(601)
    expired = httpx.get(url)
    assert expired.status_code == 403
    assert b"<Code>AccessDenied</Code>" in expired.content and b"expired" in expired.content


def test_presigned_put_with_v2_presigner(emulator: LiveServer, bucket) -> None:
    client = v2_client(emulator)
    signed = client.presign(oss.PutObjectRequest(bucket="media", key="up/new file.txt",
                                                 content_type="text/plain"))
    response = httpx.put(signed.url, content=b"from a presigned url", headers=signed.signed_headers)
    assert response.status_code == 200
    assert bucket.get_object("up/new file.txt").read() == b"from a presigned url"
    tampered = signed.url.replace("up/new%20file.txt", "up/other.txt")
    assert httpx.put(tampered, content=b"x", headers=signed.signed_headers).status_code == 403


def _policy(expiration: str, conditions: list) -> str:
    document = json.dumps({"expiration": expiration, "conditions": conditions})
    return base64.b64encode(document.encode()).decode()


def _post(emulator: LiveServer, fields: dict[str, str], content: bytes, secret: str | None = None):
    signature = base64.b64encode(hmac.new((secret or emulator.access_key_secret).encode(),
                                          fields["policy"].encode(), hashlib.sha1).digest()).decode()
    form = {"OSSAccessKeyId": emulator.access_key_id, "Signature": signature, **fields}
    return httpx.post(f"{emulator.url}/media", data=form, files={"file": ("clip.mp4", content)})


def test_post_object_with_policy(emulator: LiveServer, bucket) -> None:
    policy = _policy("2099-01-01T00:00:00.000Z", [{"bucket": "media"}, ["starts-with", "$key", "uploads/"],
                                                  ["content-length-range", 1, 1024]])
    ok = _post(emulator, {"policy": policy, "key": "uploads/${filename}", "success_action_status": "200",
                          "x-oss-content-type": "video/mp4"}, b"posted")
    assert ok.status_code == 200 and ok.headers["ETag"]
    stored = bucket.get_object("uploads/clip.mp4")
    assert stored.read() == b"posted" and stored.headers["Content-Type"] == "video/mp4"
    created = _post(emulator, {"policy": policy, "key": "uploads/b.mp4", "success_action_status": "201"},
                    b"posted")
    assert created.status_code == 201 and b"<Key>uploads/b.mp4</Key>" in created.content
    outside = _post(emulator, {"policy": policy, "key": "elsewhere/c.mp4"}, b"posted")
    assert outside.status_code == 403 and b"Policy Condition failed" in outside.content
    too_big = _post(emulator, {"policy": policy, "key": "uploads/big.mp4"}, b"x" * 2000)
    assert too_big.status_code == 400 and b"EntityTooLarge" in too_big.content
    forged = _post(emulator, {"policy": policy, "key": "uploads/d.mp4"}, b"posted", secret="wrong")
    assert forged.status_code == 403 and b"SignatureDoesNotMatch" in forged.content
    expired = _post(emulator, {"policy": _policy("2000-01-01T00:00:00.000Z", []), "key": "uploads/e.mp4"},
                    b"posted")
    assert expired.status_code == 403 and b"Policy expired" in expired.content
    bad_range = _policy("2099-01-01T00:00:00.000Z", [["content-length-range", "a", 9]])
    broken = _post(emulator, {"policy": bad_range, "key": "uploads/f.mp4"}, b"posted")
    assert broken.status_code == 400 and b"InvalidPolicyDocument" in broken.content
    assert not bucket.object_exists("elsewhere/c.mp4") and not bucket.object_exists("uploads/big.mp4")
    assert not bucket.object_exists("uploads/d.mp4") and not bucket.object_exists("uploads/e.mp4")


def test_post_object_forbid_overwrite(emulator: LiveServer, bucket) -> None:
    policy = _policy("2099-01-01T00:00:00.000Z", [])
    fields = {"policy": policy, "key": "dir/clip 1.mp4", "x-oss-forbid-overwrite": "true"}
    response = _post(emulator, fields, b"new")
    assert response.status_code == 409 and b"FileAlreadyExists" in response.content
    assert bucket.get_object("dir/clip 1.mp4").read() == b"video-bytes"


def test_anonymous_access_follows_bucket_acl(emulator: LiveServer, bucket) -> None:
    url = f"{emulator.url}/media/dir/clip%201.mp4"
    assert httpx.get(url).status_code == 403
    bucket.put_bucket_acl(oss2.BUCKET_ACL_PUBLIC_READ)
    assert httpx.get(url).content == b"video-bytes"
    assert httpx.put(url, content=b"overwrite").status_code == 403


def test_unverified_mode_accepts_any_signature(tmp_path) -> None:
    with LiveServer(extra_args=["--no-verify-signatures"]) as server:
        b = oss2_bucket(server, "media", secret="anything")
        b.create_bucket()
        b.put_object("k", b"v")
        assert oss2_bucket(server, "media").get_object("k").read() == b"v"
