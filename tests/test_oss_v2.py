"""alibabacloud-oss-v2 (V4 default, and V1) against a live emulator."""

from __future__ import annotations

import os

import alibabacloud_oss_v2 as oss
import pytest

from emulator.testing.server import LiveServer
from tests.oss_clients import v2_client


@pytest.fixture(params=["v4", "v1"])
def client(request, emulator: LiveServer) -> oss.Client:
    c = v2_client(emulator, request.param)
    c.put_bucket(oss.PutBucketRequest(bucket="media"))
    return c


def test_objects_and_listing(client: oss.Client) -> None:
    keys = ["a.txt", "dir/a b.mp4", "dir/x+y%z.bin", "目录/文件.txt"]
    for key in keys:
        result = client.put_object(oss.PutObjectRequest(bucket="media", key=key, body=key.encode(),
                                                        metadata={"origin": "test"}))
        assert result.status_code == 200 and result.hash_crc64
    assert client.is_bucket_exist("media") and not client.is_bucket_exist("nope")
    assert client.is_object_exist("media", "dir/a b.mp4")
    assert not client.is_object_exist("media", "dir/missing")
    listed = client.list_objects_v2(oss.ListObjectsV2Request(bucket="media", delimiter="/"))
    assert [o.key for o in listed.contents] == ["a.txt"]
    assert [p.prefix for p in listed.common_prefixes] == ["dir/", "目录/"]
    paginator = client.list_objects_v2_paginator(limit=1)
    seen = [o.key for page in paginator.iter_page(oss.ListObjectsV2Request(bucket="media"))
            for o in page.contents]
    assert seen == sorted(keys, key=lambda k: k.encode())
    got = client.get_object(oss.GetObjectRequest(bucket="media", key="dir/x+y%z.bin"))
    assert got.body.content == b"dir/x+y%z.bin" and got.metadata == {"origin": "test"}
    head = client.head_object(oss.HeadObjectRequest(bucket="media", key="a.txt"))
    assert head.content_length == 5
    ranged = client.get_object(oss.GetObjectRequest(bucket="media", key="a.txt", range_header="bytes=1-2"))
    assert ranged.body.content == b".t"
    client.copy_object(oss.CopyObjectRequest(bucket="media", key="copy.txt", source_key="a.txt"))
    assert client.get_object(oss.GetObjectRequest(bucket="media", key="copy.txt")).body.content == b"a.txt"
    deleted = client.delete_multiple_objects(oss.DeleteMultipleObjectsRequest(
        bucket="media", objects=[oss.DeleteObject(key=k) for k in keys]))
    assert sorted(d.key for d in deleted.deleted_objects) == sorted(keys)


def test_uploader_and_downloader(client: oss.Client, tmp_path) -> None:
    data = os.urandom(13 * 1024 * 1024)
    src = tmp_path / "src.bin"
    src.write_bytes(data)
    result = client.uploader(part_size=5 * 1024 * 1024).upload_file(
        oss.PutObjectRequest(bucket="media", key="big/file.bin"), str(src))
    assert result.etag.endswith('-3"')
    dst = tmp_path / "dst.bin"
    client.downloader(part_size=4 * 1024 * 1024).download_file(
        oss.GetObjectRequest(bucket="media", key="big/file.bin"), str(dst))
    assert dst.read_bytes() == data


def test_service_errors(client: oss.Client, emulator: LiveServer) -> None:
    with pytest.raises(oss.exceptions.OperationError) as err:
        client.get_object(oss.GetObjectRequest(bucket="media", key="missing"))
    service_error = err.value.unwrap()
    assert (service_error.status_code, service_error.code) == (404, "NoSuchKey")
    assert service_error.request_id
    with pytest.raises(oss.exceptions.OperationError) as err:
        v2_client(emulator, secret="wrong").get_object(oss.GetObjectRequest(bucket="media", key="x"))
    assert err.value.unwrap().code == "SignatureDoesNotMatch"
    with pytest.raises(oss.exceptions.OperationError) as err:
        client.delete_bucket(oss.DeleteBucketRequest(bucket="missing-bucket"))
    assert err.value.unwrap().code == "NoSuchBucket"
