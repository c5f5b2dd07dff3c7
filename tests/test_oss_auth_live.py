"""OSS authentication failures other than a wrong signature, over a socket: malformed Authorization
headers, bad V4 scopes and dates, malformed presigned parameters, clock skew; and PostObject with a
V4 signature. Each refusal comes in OSS's XML error shape with its status, and stores nothing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime, timedelta, timezone
from email.utils import formatdate
from xml.etree import ElementTree as ET

import httpx
import pytest

from emulator.testing.server import LiveServer
from tests.oss_clients import oss2_bucket

REGION = "cn-hangzhou"


@pytest.fixture
def bucket(emulator: LiveServer):
    b = oss2_bucket(emulator, "media")
    b.create_bucket()
    b.put_object("k", b"original")
    return b


def oss_error(response: httpx.Response) -> tuple[int, str, str]:
    """(status, Code, Message) of an OSS XML error, checking its shape."""
    root = ET.fromstring(response.content)
    fields = {child.tag: child.text or "" for child in root}
    assert root.tag == "Error" and {"Code", "Message", "RequestId", "HostId"} <= set(fields), fields
    assert response.headers["x-oss-request-id"] == fields["RequestId"]
    return response.status_code, fields["Code"], fields["Message"]


def v1_signature(secret: str, string_to_sign: str) -> str:
    digest = hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def v4_key(secret: str, date8: str, region: str = REGION) -> bytes:
    key = hmac.new(("aliyun_v4" + secret).encode(), date8.encode(), hashlib.sha256).digest()
    for part in (region, "oss", "aliyun_v4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def put(emulator: LiveServer, headers: dict[str, str], query: str = "") -> httpx.Response:
    return httpx.put(f"{emulator.url}/media/k{query}", content=b"overwritten", headers=headers, timeout=30)


def v4_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def test_malformed_authorization_headers(emulator: LiveServer, bucket) -> None:
    ak = emulator.access_key_id
    now = v4_now()
    cases = [
        ({"Authorization": f"OSS {ak}"}, (400, "InvalidArgument")),  # no ":signature"
        ({"Authorization": "Bearer sk-emulator"}, (400, "InvalidArgument")),  # not an OSS scheme
        ({"Authorization": f"OSS4-HMAC-SHA256 Credential={ak}/{now[:8]}/{REGION}/oss/aliyun_v4_request",
          "x-oss-date": now}, (400, "InvalidArgument")),  # no Signature
        ({"Authorization": "OSS4-HMAC-SHA256 garbage", "x-oss-date": now}, (400, "InvalidArgument")),
    ]
    for headers, expected in cases:
        assert oss_error(put(emulator, headers))[:2] == expected, headers
    assert bucket.get_object("k").read() == b"original"


def test_bad_v4_scope_and_date(emulator: LiveServer, bucket) -> None:
    ak, now = emulator.access_key_id, v4_now()
    signature = "0" * 64
    scope_too_short = f"OSS4-HMAC-SHA256 Credential={ak}/{now[:8]}/{REGION}/oss,Signature={signature}"
    assert oss_error(put(emulator, {"Authorization": scope_too_short, "x-oss-date": now}))[:2] == (
        400, "InvalidArgument")
    wrong_terminator = (f"OSS4-HMAC-SHA256 Credential={ak}/{now[:8]}/{REGION}/oss/aws4_request,"
                        f"Signature={signature}")
    assert oss_error(put(emulator, {"Authorization": wrong_terminator, "x-oss-date": now}))[:2] == (
        400, "InvalidArgument")
    other_day = (datetime.now(timezone.utc) - timedelta(days=1)).strftime("%Y%m%d")
    mismatched = (f"OSS4-HMAC-SHA256 Credential={ak}/{other_day}/{REGION}/oss/aliyun_v4_request,"
                  f"Signature={signature}")
    assert oss_error(put(emulator, {"Authorization": mismatched, "x-oss-date": now}))[:2] == (
        403, "SignatureDoesNotMatch")
    scoped = (f"OSS4-HMAC-SHA256 Credential={ak}/{now[:8]}/{REGION}/oss/aliyun_v4_request,"
              f"Signature={signature}")
    assert oss_error(put(emulator, {"Authorization": scoped}))[:2] == (403, "AccessDenied")  # no x-oss-date
    assert oss_error(put(emulator, {"Authorization": scoped, "x-oss-date": now[:8] + "Tnoon"}))[:2] == (
        400, "InvalidArgument")
    assert bucket.get_object("k").read() == b"original"


def test_malformed_presigned_parameters(emulator: LiveServer, bucket) -> None:
    ak = emulator.access_key_id
    v1_cases = [f"?OSSAccessKeyId={ak}&Signature=abc&Expires=soon", f"?OSSAccessKeyId={ak}&Signature=abc"]
    for query in v1_cases:
        assert oss_error(put(emulator, {}, query))[:2] == (403, "AccessDenied"), query
    now = v4_now()
    credential = f"{ak}%2F{now[:8]}%2F{REGION}%2Foss%2Faliyun_v4_request"
    base = f"?x-oss-signature-version=OSS4-HMAC-SHA256&x-oss-credential={credential}&x-oss-date={now}"
    for query in (base + "&x-oss-expires=60",  # no signature
                  base + "&x-oss-expires=never&x-oss-signature=" + "0" * 64,
                  base.replace(f"&x-oss-date={now}", "") + "&x-oss-expires=60&x-oss-signature=" + "0" * 64):
        assert oss_error(put(emulator, {}, query))[:2] == (403, "AccessDenied"), query
    assert bucket.get_object("k").read() == b"original"


@pytest.mark.parametrize("minutes", [-16, 16])
def test_clock_skew_beyond_15_minutes(emulator: LiveServer, bucket, minutes: int) -> None:
    """Correctly signed with the right key, but dated too far from now (either way)."""
    date = formatdate((datetime.now(timezone.utc) + timedelta(minutes=minutes)).timestamp(), usegmt=True)
    signature = v1_signature(emulator.access_key_secret, f"PUT\n\n\n{date}\n/media/k")
    response = put(emulator, {"Date": date, "Authorization": f"OSS {emulator.access_key_id}:{signature}"})
    assert oss_error(response)[:2] == (403, "RequestTimeTooSkewed")
    near = formatdate((datetime.now(timezone.utc) + timedelta(minutes=minutes / 4)).timestamp(), usegmt=True)
    signature = v1_signature(emulator.access_key_secret, f"GET\n\n\n{near}\n/media/k")
    within = httpx.get(f"{emulator.url}/media/k", headers={
        "Date": near, "Authorization": f"OSS {emulator.access_key_id}:{signature}"})
    assert within.status_code == 200 and within.content == b"original"


def post_v4(emulator: LiveServer, key: str, content: bytes, secret: str | None = None,
            conditions: list | None = None, credential: str | None = None) -> httpx.Response:
    now = v4_now()
    credential = credential or f"{emulator.access_key_id}/{now[:8]}/{REGION}/oss/aliyun_v4_request"
    document = {"expiration": "2099-01-01T00:00:00.000Z", "conditions": [
        {"bucket": "media"}, {"x-oss-signature-version": "OSS4-HMAC-SHA256"},
        {"x-oss-credential": credential}, {"x-oss-date": now}, *(conditions or [])]}
    policy = base64.b64encode(json.dumps(document).encode()).decode()
    signature = hmac.new(v4_key(secret or emulator.access_key_secret, now[:8]), policy.encode(),
                         hashlib.sha256).hexdigest()
    form = {"key": key, "policy": policy, "x-oss-signature-version": "OSS4-HMAC-SHA256",
            "x-oss-credential": credential, "x-oss-date": now, "x-oss-signature": signature,
            "success_action_status": "201"}
    return httpx.post(f"{emulator.url}/media", data=form, files={"file": ("clip.mp4", content)}, timeout=30)


def test_post_object_with_a_v4_signature(emulator: LiveServer, bucket) -> None:
    posted = post_v4(emulator, "uploads/v4.mp4", b"posted with v4",
                     conditions=[["starts-with", "$key", "uploads/"]])
    assert posted.status_code == 201, posted.text
    assert ET.fromstring(posted.content).find("Key").text == "uploads/v4.mp4"
    assert bucket.get_object("uploads/v4.mp4").read() == b"posted with v4"
    forged = post_v4(emulator, "uploads/forged.mp4", b"x", secret="wrong-secret")
    assert oss_error(forged)[:2] == (403, "SignatureDoesNotMatch")
    outside = post_v4(emulator, "elsewhere/v4.mp4", b"x", conditions=[["starts-with", "$key", "uploads/"]])
    assert oss_error(outside)[:2] == (403, "AccessDenied")
    short_scope = post_v4(emulator, "uploads/scope.mp4", b"x",
                          credential=f"{emulator.access_key_id}/{v4_now()[:8]}/{REGION}")
    # Which code OSS gives for a short V4 POST scope is not documented: refused, in OSS's shape.
    assert short_scope.status_code in (400, 403) and oss_error(short_scope)[1] in (
        "InvalidArgument", "SignatureDoesNotMatch", "AccessDenied")
    for key in ("uploads/forged.mp4", "elsewhere/v4.mp4", "uploads/scope.mp4"):
        assert not bucket.object_exists(key), key
