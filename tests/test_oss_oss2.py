"""oss2 (V1 default and AuthV4) against a live emulator: buckets, objects, listing, multipart."""

from __future__ import annotations

import hashlib
import os

import oss2
import pytest

from emulator.testing.server import LiveServer
from tests.oss_clients import oss2_bucket

KEYS = ["plain.txt", "dir/a b.mp4", "dir/sub/x+y.bin", "dir/100%.txt", "视频/片段 1.mov", "z/"]


@pytest.fixture(params=["v1", "v4"])
def bucket(request, emulator: LiveServer) -> oss2.Bucket:
    b = oss2_bucket(emulator, "media", request.param)
    b.create_bucket(oss2.BUCKET_ACL_PRIVATE)
    return b


def test_object_round_trip_with_metadata(bucket: oss2.Bucket) -> None:
    data = os.urandom(10_000)
    result = bucket.put_object("dir/a b.mp4", data, headers={
        "x-oss-meta-author": "emu", "Content-Type": "video/mp4", "Cache-Control": "no-cache"})
    assert result.etag == hashlib.md5(data).hexdigest().upper()
    got = bucket.get_object("dir/a b.mp4")
    assert got.read() == data
    assert got.headers["Content-Type"] == "video/mp4"
    assert got.headers["x-oss-meta-author"] == "emu"
    assert got.headers["Cache-Control"] == "no-cache"
    meta = bucket.head_object("dir/a b.mp4")
    assert meta.content_length == len(data) and meta.etag == result.etag
    assert int(meta.headers["x-oss-hash-crc64ecma"]) == result.crc


def test_range_reads(bucket: oss2.Bucket) -> None:
    data = bytes(range(256)) * 4
    bucket.put_object("r.bin", data)
    assert bucket.get_object("r.bin", byte_range=(10, 19)).read() == data[10:20]
    assert bucket.get_object("r.bin", byte_range=(None, 5)).read() == data[-5:]
    assert bucket.get_object("r.bin", byte_range=(1000, None)).read() == data[1000:]
    whole = bucket.get_object("r.bin", byte_range=(5000, 6000))  # unsatisfiable: whole object, 200
    assert whole.status == 200 and whole.read() == data
    with pytest.raises(oss2.exceptions.ServerError) as err:
        bucket.get_object("r.bin", byte_range=(5000, 6000), headers={"x-oss-range-behavior": "standard"})
    assert err.value.status == 416 and err.value.code == "InvalidRange"


def test_listing_v1_and_v2_with_awkward_keys(bucket: oss2.Bucket) -> None:
    for key in KEYS:
        bucket.put_object(key, key.encode())
    assert sorted(o.key for o in oss2.ObjectIterator(bucket)) == sorted(KEYS)
    assert sorted(o.key for o in oss2.ObjectIteratorV2(bucket, max_keys=2)) == sorted(KEYS)
    top = bucket.list_objects_v2(delimiter="/")
    assert [o.key for o in top.object_list] == ["plain.txt"]
    assert top.prefix_list == ["dir/", "z/", "视频/"]
    under = bucket.list_objects(prefix="dir/", delimiter="/")
    assert [o.key for o in under.object_list] == ["dir/100%.txt", "dir/a b.mp4"]
    assert under.prefix_list == ["dir/sub/"]
    page = bucket.list_objects(max_keys=2)
    assert page.is_truncated and len(page.object_list) == 2
    rest = bucket.list_objects(marker=page.next_marker)
    assert [o.key for o in page.object_list + rest.object_list] == sorted(KEYS, key=lambda k: k.encode())
    for key in KEYS:
        assert bucket.get_object(key).read() == key.encode()


def test_delete_copy_and_batch_delete(bucket: oss2.Bucket) -> None:
    bucket.put_object("src/a.txt", b"A", headers={"x-oss-meta-k": "v"})
    bucket.copy_object("media", "src/a.txt", "dst/a copy.txt")
    copied = bucket.get_object("dst/a copy.txt")
    assert copied.read() == b"A" and copied.headers["x-oss-meta-k"] == "v"
    bucket.update_object_meta("dst/a copy.txt", {"x-oss-meta-k": "w", "Content-Type": "text/plain"})
    assert bucket.head_object("dst/a copy.txt").headers["x-oss-meta-k"] == "w"
    bucket.delete_object("src/a.txt")
    bucket.delete_object("never-existed")  # OSS answers 204 for a missing key
    assert not bucket.object_exists("src/a.txt")
    bucket.put_object("b1", b"1")
    bucket.put_object("b2", b"2")
    result = bucket.batch_delete_objects(["b1", "b2", "dst/a copy.txt"])
    assert sorted(result.deleted_keys) == ["b1", "b2", "dst/a copy.txt"]
    assert list(oss2.ObjectIterator(bucket)) == []


def test_bucket_operations(emulator: LiveServer) -> None:
    service = oss2.Service(oss2.Auth(emulator.access_key_id, emulator.access_key_secret), emulator.url)
    for name in ("alpha", "beta"):
        oss2_bucket(emulator, name).create_bucket()
    assert [b.name for b in service.list_buckets().buckets] == ["alpha", "beta"]
    alpha = oss2_bucket(emulator, "alpha")
    info = alpha.get_bucket_info()
    assert info.name == "alpha" and info.acl.grant == "private"
    assert alpha.get_bucket_location().location == "oss-cn-hangzhou"
    alpha.create_bucket(oss2.BUCKET_ACL_PUBLIC_READ)  # same owner: succeeds and updates
    assert alpha.get_bucket_acl().acl == "public-read"
    alpha.put_object("k", b"v")
    with pytest.raises(oss2.exceptions.BucketNotEmpty):
        alpha.delete_bucket()
    alpha.delete_object("k")
    alpha.delete_bucket()
    with pytest.raises(oss2.exceptions.NoSuchBucket):
        alpha.get_bucket_info()
    assert [b.name for b in service.list_buckets().buckets] == ["beta"]


def test_resumable_upload_of_tens_of_megabytes(emulator: LiveServer, tmp_path, bucket_name="big") -> None:
    bucket = oss2_bucket(emulator, bucket_name, "v4")
    bucket.create_bucket()
    path = tmp_path / "video.bin"
    data = os.urandom(24 * 1024 * 1024)
    path.write_bytes(data)
    oss2.resumable_upload(bucket, "uploads/video.bin", str(path), store=oss2.ResumableStore(str(tmp_path)),
                          multipart_threshold=5 * 1024 * 1024, part_size=5 * 1024 * 1024, num_threads=2)
    meta = bucket.head_object("uploads/video.bin")
    assert meta.content_length == len(data)
    assert meta.headers["x-oss-object-type"] == "Multipart"
    assert meta.etag.endswith("-5")
    assert bucket.get_object("uploads/video.bin").read() == data
    target = tmp_path / "down.bin"
    bucket.get_object_to_file("uploads/video.bin", str(target))  # oss2 checks the CRC here
    assert target.read_bytes() == data


def test_multipart_by_hand_and_abort(bucket: oss2.Bucket) -> None:
    upload_id = bucket.init_multipart_upload("mp.bin").upload_id
    part1 = os.urandom(100 * 1024)
    r1 = bucket.upload_part("mp.bin", upload_id, 1, part1)
    r2 = bucket.upload_part("mp.bin", upload_id, 2, b"tail")
    listed = bucket.list_parts("mp.bin", upload_id).parts
    assert [(p.part_number, p.size) for p in listed] == [(1, len(part1)), (2, 4)]
    with pytest.raises(oss2.exceptions.ServerError) as err:
        bucket.complete_multipart_upload("mp.bin", upload_id, [oss2.models.PartInfo(1, "DEADBEEF")])
    assert err.value.code == "InvalidPart"
    bucket.complete_multipart_upload("mp.bin", upload_id, [oss2.models.PartInfo(1, r1.etag),
                                                           oss2.models.PartInfo(2, r2.etag)])
    assert bucket.get_object("mp.bin").read() == part1 + b"tail"
    small = bucket.init_multipart_upload("small.bin").upload_id
    s1 = bucket.upload_part("small.bin", small, 1, b"x" * 10)
    s2 = bucket.upload_part("small.bin", small, 2, b"y")
    with pytest.raises(oss2.exceptions.ServerError) as err:
        bucket.complete_multipart_upload("small.bin", small, [oss2.models.PartInfo(1, s1.etag),
                                                              oss2.models.PartInfo(2, s2.etag)])
    assert err.value.code == "EntityTooSmall"
    bucket.abort_multipart_upload("small.bin", small)
    with pytest.raises(oss2.exceptions.NoSuchUpload):
        bucket.list_parts("small.bin", small)
    assert not bucket.object_exists("small.bin")


def test_errors_carry_code_status_and_request_id(bucket: oss2.Bucket, emulator: LiveServer) -> None:
    with pytest.raises(oss2.exceptions.NoSuchKey) as err:
        bucket.get_object("missing")
    assert err.value.status == 404 and len(err.value.request_id) == 24
    with pytest.raises(oss2.exceptions.NotFound) as head_err:
        bucket.head_object("missing")
    assert head_err.value.code == "NoSuchKey"  # decoded from x-oss-err
    with pytest.raises(oss2.exceptions.SignatureDoesNotMatch):
        oss2_bucket(emulator, "media", secret="wrong").get_object("missing")
    with pytest.raises(oss2.exceptions.ServerError) as err:
        oss2_bucket(emulator, "media", access_key_id="LTAI-nobody").get_object("missing")
    assert (err.value.status, err.value.code) == (403, "InvalidAccessKeyId")
    with pytest.raises(oss2.exceptions.NoSuchBucket):
        oss2_bucket(emulator, "no-such-bucket").put_object("k", b"v")
