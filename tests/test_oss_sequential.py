"""`?sequential` multipart uploads through oss2 and alibabacloud-oss-v2: parts in order, and the
completed object's Content-MD5 (which a plain multipart object lacks)."""

from __future__ import annotations

import base64
import hashlib
import os

import alibabacloud_oss_v2 as oss
import oss2
import pytest

from emulator.testing.server import LiveServer
from tests.oss_clients import oss2_bucket, v2_client

PART = 100 * 1024


@pytest.fixture
def bucket(emulator: LiveServer) -> oss2.Bucket:
    b = oss2_bucket(emulator, "media")
    b.create_bucket()
    return b


def _md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def test_resumable_upload_in_sequential_mode_keeps_the_object_md5(bucket: oss2.Bucket, tmp_path) -> None:
    data = os.urandom(3 * PART + 17)
    path = tmp_path / "file.bin"
    path.write_bytes(data)
    oss2.resumable_upload(bucket, "plain.bin", str(path), multipart_threshold=PART, part_size=PART,
                          store=oss2.ResumableStore(root=str(tmp_path)))
    plain = bucket.get_object("plain.bin")
    assert plain.read() == data and plain.resp.headers.get("Content-MD5") is None
    oss2.resumable_upload(bucket, "seq.bin", str(path), multipart_threshold=PART, part_size=PART,
                          num_threads=1, params={"sequential": ""},
                          store=oss2.ResumableStore(root=str(tmp_path)))
    seq = bucket.get_object("seq.bin")
    assert seq.read() == data and seq.resp.headers["Content-MD5"] == _md5(data)
    assert bucket.head_object("seq.bin").headers["Content-MD5"] == _md5(data)
    assert seq.etag == plain.etag and seq.etag.endswith("-4")  # the multipart ETag either way


def test_parts_out_of_order_are_refused(bucket: oss2.Bucket) -> None:
    upload_id = bucket.init_multipart_upload("k.bin", params={"sequential": ""}).upload_id
    with pytest.raises(oss2.exceptions.PartNotSequential):
        bucket.upload_part("k.bin", upload_id, 2, b"b" * PART)
    assert bucket.list_parts("k.bin", upload_id).parts == []
    first = bucket.upload_part("k.bin", upload_id, 1, b"a" * PART)
    first = bucket.upload_part("k.bin", upload_id, 1, b"a" * PART)  # the last part again is fine
    second = bucket.upload_part("k.bin", upload_id, 2, b"b")
    with pytest.raises(oss2.exceptions.PartNotSequential):
        bucket.upload_part("k.bin", upload_id, 4, b"d")
    with pytest.raises(oss2.exceptions.PartNotSequential):
        bucket.complete_multipart_upload("k.bin", upload_id, [oss2.models.PartInfo(2, second.etag)])
    assert not bucket.object_exists("k.bin")
    bucket.complete_multipart_upload("k.bin", upload_id, [oss2.models.PartInfo(1, first.etag),
                                                          oss2.models.PartInfo(2, second.etag)])
    assert bucket.head_object("k.bin").headers["Content-MD5"] == _md5(b"a" * PART + b"b")


def _v2_multipart(client: oss.Client, key: str, parts: list[bytes], **extra) -> None:
    upload_id = client.initiate_multipart_upload(oss.InitiateMultipartUploadRequest(
        bucket="media", key=key, **extra)).upload_id
    done = [oss.UploadPart(part_number=n, etag=client.upload_part(oss.UploadPartRequest(
        bucket="media", key=key, upload_id=upload_id, part_number=n, body=body)).etag)
        for n, body in enumerate(parts, 1)]
    client.complete_multipart_upload(oss.CompleteMultipartUploadRequest(
        bucket="media", key=key, upload_id=upload_id,
        complete_multipart_upload=oss.CompleteMultipartUpload(parts=done)))


def test_v2_multipart_with_sequential(emulator: LiveServer, bucket: oss2.Bucket) -> None:
    client = v2_client(emulator)
    parts = [os.urandom(PART), os.urandom(PART), b"tail"]
    _v2_multipart(client, "plain.bin", parts)
    _v2_multipart(client, "seq.bin", parts, parameters={"sequential": ""})
    plain = client.head_object(oss.HeadObjectRequest(bucket="media", key="plain.bin"))
    seq = client.head_object(oss.HeadObjectRequest(bucket="media", key="seq.bin"))
    assert plain.object_type == seq.object_type == "Multipart" and plain.etag == seq.etag
    assert plain.content_md5 is None and seq.content_md5 == _md5(b"".join(parts))
