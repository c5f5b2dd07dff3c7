"""Wire bugs the official OSS SDKs hit (issue 11's list), each through oss2 (V1 and V4) or
alibabacloud-oss-v2 against a live emulator."""

from __future__ import annotations

import base64
import hashlib
import os

import alibabacloud_oss_v2 as oss
import httpx
import oss2
import pytest

from emulator.testing.server import LiveServer
from tests.oss_clients import oss2_bucket, v2_client


@pytest.fixture(params=["v1", "v4"])
def buckets(request, emulator: LiveServer) -> tuple[oss2.Bucket, oss2.Bucket]:
    source, target = (oss2_bucket(emulator, name, request.param) for name in ("src-media", "dst-media"))
    source.create_bucket()
    target.create_bucket()
    return source, target


def test_upload_part_copy_copies_the_bytes_across_buckets(buckets) -> None:
    source, target = buckets
    data = os.urandom(300 * 1024)
    source.put_object("big.bin", data)
    upload_id = target.init_multipart_upload("copied.bin").upload_id
    first = target.upload_part_copy("src-media", "big.bin", (0, 200 * 1024 - 1), "copied.bin", upload_id, 1)
    second = target.upload_part_copy("src-media", "big.bin", (200 * 1024, len(data) - 1), "copied.bin",
                                     upload_id, 2)
    assert first.etag == hashlib.md5(data[:200 * 1024]).hexdigest().upper()
    parts = target.list_parts("copied.bin", upload_id).parts
    assert [(p.part_number, p.size) for p in parts] == [(1, 200 * 1024), (2, 100 * 1024)]
    target.complete_multipart_upload("copied.bin", upload_id, [oss2.models.PartInfo(1, first.etag),
                                                               oss2.models.PartInfo(2, second.etag)])
    assert target.get_object("copied.bin").read() == data


def test_upload_part_copy_honours_source_conditions(buckets) -> None:
    source, target = buckets
    source.put_object("cond.bin", b"x" * 1024)
    upload_id = target.init_multipart_upload("cond.bin").upload_id
    with pytest.raises(oss2.exceptions.PreconditionFailed):
        target.upload_part_copy("src-media", "cond.bin", (0, 1023), "cond.bin", upload_id, 1,
                                headers={"x-oss-copy-source-if-match": '"0000"'})
    assert target.list_parts("cond.bin", upload_id).parts == []


def test_upload_part_answers_its_content_md5(buckets) -> None:
    _, target = buckets
    upload_id = target.init_multipart_upload("md5.bin").upload_id
    data = b"part data"
    result = target.upload_part("md5.bin", upload_id, 1, data)
    assert result.resp.headers["Content-MD5"] == base64.b64encode(hashlib.md5(data).digest()).decode()


def test_non_ascii_metadata_is_signed_over_its_utf8_bytes(buckets) -> None:
    source, _ = buckets
    source.put_object("meta.txt", b"hi", headers={"x-oss-meta-author": "张三".encode()})
    sent = source.head_object("meta.txt").headers["x-oss-meta-author"]
    # HTTP headers carry bytes; requests reads them as latin-1.
    assert sent.encode("latin-1").decode("utf-8") == "张三"


def test_keys_with_control_characters_can_be_batch_deleted(buckets) -> None:
    source, _ = buckets
    keys = ["bell\x07.txt", "tab-free\x01\x1f.bin"]
    for key in keys:
        source.put_object(key, b"x")
    deleted = source.batch_delete_objects(keys).deleted_keys
    assert sorted(deleted) == sorted(keys)
    assert not any(source.object_exists(key) for key in keys)


def test_a_stored_text_content_type_is_returned_verbatim(buckets) -> None:
    source, _ = buckets
    source.put_object("note.txt", b"plain", headers={"Content-Type": "text/plain"})
    assert source.get_object("note.txt").headers["Content-Type"] == "text/plain"


def test_a_put_without_content_type_stores_octet_stream(emulator: LiveServer) -> None:
    bucket = oss2_bucket(emulator, "raw-puts")
    bucket.create_bucket()
    url = bucket.sign_url("PUT", "clip.mp4", 600)
    assert httpx.put(url, content=b"not really a video", timeout=30).status_code == 200
    assert bucket.head_object("clip.mp4").headers["Content-Type"] == "application/octet-stream"


def test_v2_copier_copies_a_big_object_part_by_part(emulator: LiveServer) -> None:
    client = v2_client(emulator)
    client.put_bucket(oss.PutBucketRequest(bucket="v2-copy"))
    data = os.urandom(1024 * 1024 + 17)
    client.put_object(oss.PutObjectRequest(bucket="v2-copy", key="src.bin", body=data))
    copier = client.copier(part_size=256 * 1024, multipart_copy_threshold=512 * 1024)
    copier.copy(oss.CopyObjectRequest(bucket="v2-copy", key="dst.bin", source_bucket="v2-copy",
                                      source_key="src.bin"))
    got = client.get_object(oss.GetObjectRequest(bucket="v2-copy", key="dst.bin"))
    assert got.body.read() == data


def test_list_multipart_uploads_pages_in_key_order_with_prefixes(buckets) -> None:
    _, target = buckets
    started = [(key, target.init_multipart_upload(key).upload_id)
               for key in ["b/2.mp4", "a.mp4", "b/1.mp4", "c/x/1.mp4", "a.mp4", "d.mp4"]]
    everything = [(u.key, u.upload_id) for u in oss2.MultipartUploadIterator(target, max_uploads=2)]
    assert [k for k, _ in everything] == sorted(k for k, _ in started)
    assert sorted(everything) == sorted(started)

    first = target.list_multipart_uploads(delimiter="/", max_uploads=3)
    assert [u.key for u in first.upload_list] == ["a.mp4", "a.mp4"] and first.prefix_list == ["b/"]
    assert first.is_truncated and first.next_key_marker == "b/"
    rest = target.list_multipart_uploads(delimiter="/", key_marker=first.next_key_marker,
                                         upload_id_marker=first.next_upload_id_marker)
    assert rest.prefix_list == ["c/"] and [u.key for u in rest.upload_list] == ["d.mp4"]
    assert not rest.is_truncated

    only_b = target.list_multipart_uploads(prefix="b/")
    assert [u.key for u in only_b.upload_list] == ["b/1.mp4", "b/2.mp4"]
