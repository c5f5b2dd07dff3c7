"""Broken transfers and corrupted data (truncate, bandwidth, hang, slow_headers, corrupt) as the
official SDKs meet them on a live server."""

from __future__ import annotations

import hashlib
import time

import alibabacloud_oss_v2 as oss
import httpx
import oss2
import pytest
import requests
from alibabacloud_imm20200930 import models as imm_models
from alibabacloud_tea_util.models import RuntimeOptions

from emulator.testing.server import LiveServer
from tests.imm_support import imm_client
from tests.oss_clients import oss2_bucket, v2_client

BODY = bytes(range(256)) * 64  # 16 KiB: small, and every byte position distinct enough


@pytest.fixture
def bucket(emulator: LiveServer) -> oss2.Bucket:
    b = oss2_bucket(emulator, "media")
    b.create_bucket()
    b.put_object("clip.bin", BODY, headers={"x-oss-meta-owner": "alice"})
    return b


def _get(emulator: LiveServer, action: str = "GetObject") -> list[dict]:
    return emulator.admin("GET", f"requests?service=oss&action={action}")["requests"]


def test_v2_downloader_resumes_a_truncated_download(emulator: LiveServer, bucket, tmp_path) -> None:
    rule = emulator.add_fault({"service": "oss", "match": {"action": "GetObject"},
                               "effect": {"truncate": {"fraction": 0.5}}, "times": 1})
    target = tmp_path / "clip.bin"
    v2_client(emulator).downloader().download_file(
        oss.GetObjectRequest(bucket="media", key="clip.bin"), str(target))
    assert target.read_bytes() == BODY  # and the SDK's CRC64 check of the whole file passed
    gets = _get(emulator)
    assert len(gets) == 2 and gets[0]["fault"]["id"] == rule["id"] and gets[1]["fault"] is None
    report = emulator.admin("GET", "faults/report")["rules"][0]
    assert report["hits"][0]["next"]["kind"] == "retry"
    assert bucket.get_object("clip.bin").read() == BODY  # nothing stored changed


def test_oss2_raises_on_a_truncated_download_and_the_next_read_works(emulator: LiveServer,
                                                                      bucket) -> None:
    emulator.add_fault({"service": "oss", "match": {"action": "GetObject"},
                        "effect": {"truncate": {"bytes": 1000}}, "times": 1})
    # oss2 neither retries nor wraps a body cut mid-way: the read raises requests' own error
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        bucket.get_object("clip.bin").read()
    assert bucket.get_object("clip.bin").read() == BODY


def test_truncate_sends_the_headers_and_the_first_bytes(emulator: LiveServer, bucket) -> None:
    emulator.add_fault({"service": "oss", "effect": {"truncate": {"bytes": 100}}, "times": 1})
    received = bytearray()
    with pytest.raises(httpx.TransportError), \
            httpx.stream("GET", bucket.sign_url("GET", "clip.bin", 600)) as response:
        assert response.headers["content-length"] == str(len(BODY))
        for chunk in response.iter_raw():
            received += chunk
    assert bytes(received) == BODY[:100]


@pytest.mark.parametrize("client", ["oss2", "v2"])
def test_corrupted_body_fails_the_sdk_crc64_check(emulator: LiveServer, bucket, client: str,
                                                  tmp_path) -> None:
    emulator.add_fault({"service": "oss", "match": {"action": "GetObject"},
                        "effect": {"corrupt": {"bytes": 3}}, "times": 2 if client == "oss2" else 1})
    target = tmp_path / "clip.bin"
    if client == "oss2":
        # get_object_to_file checks CRC64 itself; a plain read leaves the comparison to the caller
        with pytest.raises(oss2.exceptions.InconsistentError):
            bucket.get_object_to_file("clip.bin", str(target))
        streamed = bucket.get_object("clip.bin")
        assert streamed.read() != BODY and streamed.client_crc != streamed.server_crc
    else:
        with pytest.raises(oss.downloader.DownloadError) as err:
            v2_client(emulator).downloader().download_file(
                oss.GetObjectRequest(bucket="media", key="clip.bin"), str(target))
        assert isinstance(err.value.unwrap(), oss.exceptions.InconsistentError)
    assert bucket.get_object("clip.bin").read() == BODY  # the stored object never changed


def test_corrupt_keeps_the_advertised_checksums(emulator: LiveServer, bucket) -> None:
    url = bucket.sign_url("GET", "clip.bin", 600)
    clean = httpx.get(url)
    emulator.add_fault({"service": "oss", "effect": {"corrupt": True}, "times": 1})
    broken = httpx.get(url)
    assert broken.headers["x-oss-hash-crc64ecma"] == clean.headers["x-oss-hash-crc64ecma"]
    assert broken.headers["etag"] == clean.headers["etag"]
    assert len(broken.content) == len(BODY)
    assert sum(a != b for a, b in zip(broken.content, BODY, strict=True)) == 1


def test_corrupt_headers_garbles_metadata_and_etag_only(emulator: LiveServer, bucket) -> None:
    clean = bucket.head_object("clip.bin")
    emulator.add_fault({"service": "oss", "match": {"action": "HeadObject"},
                        "effect": {"corrupt": {"headers": ["ETag", "x-oss-meta-*"]}}, "times": 1})
    broken = bucket.head_object("clip.bin")
    assert broken.etag != clean.etag and broken.headers["x-oss-meta-owner"] != "alice"
    assert broken.headers["x-oss-hash-crc64ecma"] == clean.headers["x-oss-hash-crc64ecma"]
    assert bucket.head_object("clip.bin").headers["x-oss-meta-owner"] == "alice"


def test_bandwidth_paces_download_and_upload(emulator: LiveServer, bucket) -> None:
    emulator.add_fault({"service": "oss", "match": {"action": "GetObject"},
                        "effect": {"bandwidth": {"kib_per_second": 64}}, "times": 1})
    started = time.monotonic()
    assert bucket.get_object("clip.bin").read() == BODY
    paced = time.monotonic() - started
    # 16 KiB at 64 KiB/s is a quarter second at least: a floor the wire cannot beat, not a timing
    assert paced >= 0.2
    emulator.add_fault({"service": "oss", "match": {"action": "PutObject"},
                        "effect": {"bandwidth": {"kib_per_second": 64}}, "times": 1})
    bucket.put_object("up.bin", BODY)
    assert hashlib.md5(bucket.get_object("up.bin").read()).digest() == hashlib.md5(BODY).digest()
    assert [g["fault"]["effect"] for g in _get(emulator, "PutObject") if g["fault"]] == ["bandwidth"]


def test_slow_headers_answers_late_after_the_write_took_effect(emulator: LiveServer, bucket) -> None:
    emulator.add_fault({"service": "oss", "match": {"action": "PutObject"},
                        "effect": {"slow_headers": {"ms": 3000}}, "times": 1})
    impatient = oss2.Bucket(oss2.Auth(emulator.access_key_id, emulator.access_key_secret), emulator.url,
                            "media", connect_timeout=0.5)
    with pytest.raises(oss2.exceptions.RequestError):
        impatient.put_object("late.bin", b"landed")
    # the client gave up, but the write landed: what an application must check for
    assert bucket.get_object("late.bin").read() == b"landed"


def test_imm_client_times_out_on_hang_and_the_server_stays_up(emulator: LiveServer) -> None:
    client = imm_client(emulator)
    client.create_project(imm_models.CreateProjectRequest(project_name="p"))
    emulator.add_fault({"service": "imm", "match": {"action": "GetProject"},
                        "effect": {"hang": {"max_seconds": 5}}, "times": 1})
    options = RuntimeOptions(read_timeout=500, connect_timeout=500, autoretry=False)
    with pytest.raises(Exception) as err:  # noqa: PT011 - Tea wraps the timeout in its own error
        client.get_project_with_options(imm_models.GetProjectRequest(project_name="p"), options)
    assert "timed out" in str(err.value).lower() or "timeout" in str(err.value).lower()
    assert client.get_project(imm_models.GetProjectRequest(project_name="p")).body.project.project_name == "p"


def test_hang_ends_at_its_maximum_with_a_closed_connection(emulator: LiveServer, bucket) -> None:
    emulator.add_fault({"service": "oss", "effect": {"hang": {"max_seconds": 0.3}}, "times": 1})
    with pytest.raises(httpx.TransportError):
        httpx.get(bucket.sign_url("GET", "clip.bin", 600), timeout=10)
    assert bucket.get_object("clip.bin").read() == BODY
