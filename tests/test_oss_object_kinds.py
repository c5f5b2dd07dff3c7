"""Appendable objects, symlinks, storage classes with RestoreObject, server-side encryption
headers, gzip answers and client-side-encryption metadata on copy, through oss2 (V1, V4) and
alibabacloud-oss-v2 against a live emulator."""

from __future__ import annotations

import gzip

import alibabacloud_oss_v2 as oss
import httpx
import oss2
import pytest
from oss2.models import RestoreConfiguration, RestoreJobParameters

from emulator.testing.server import LiveServer
from tests.oss_clients import oss2_bucket, v2_client


@pytest.fixture(params=["v1", "v4"])
def bucket(request, emulator: LiveServer) -> oss2.Bucket:
    bucket = oss2_bucket(emulator, "media", request.param)
    bucket.create_bucket()
    return bucket


# ---- AppendObject ---------------------------------------------------------------------------

def test_appends_grow_the_object_and_check_the_crc(bucket) -> None:
    first = bucket.append_object("log.txt", 0, b"abc", init_crc=0)
    assert first.next_position == 3
    second = bucket.append_object("log.txt", 3, b"defg", init_crc=first.crc)  # oss2 checks the CRC
    assert second.next_position == 7
    assert bucket.get_object("log.txt").read() == b"abcdefg"
    assert bucket.head_object("log.txt").object_type == "Appendable"


def test_an_append_at_the_wrong_position_changes_nothing(bucket) -> None:
    bucket.append_object("log.txt", 0, b"abc")
    with pytest.raises(oss2.exceptions.PositionNotEqualToLength) as refused:
        bucket.append_object("log.txt", 1, b"zz")
    assert refused.value.next_position == 3 and refused.value.status == 409
    bucket.put_object("normal", b"n")
    with pytest.raises(oss2.exceptions.ObjectNotAppendable):
        bucket.append_object("normal", 1, b"zz")
    with pytest.raises(oss2.exceptions.PositionNotEqualToLength) as first:
        bucket.append_object("new", 5, b"zz")
    assert first.value.next_position == 0 and not bucket.object_exists("new")
    assert bucket.get_object("log.txt").read() == b"abc"


def test_appends_in_a_versioned_bucket_keep_one_version(bucket) -> None:
    config = oss2.models.BucketVersioningConfig()
    config.status = "Enabled"
    bucket.put_bucket_versioning(config)
    made = bucket.append_object("v.log", 0, b"a")
    again = bucket.append_object("v.log", 1, b"b")
    assert made.resp.headers["x-oss-version-id"] == again.resp.headers["x-oss-version-id"]
    assert len(bucket.list_object_versions().versions) == 1


def test_v2_appends(emulator: LiveServer) -> None:
    client = v2_client(emulator)
    client.put_bucket(oss.PutBucketRequest(bucket="v2media"))
    first = client.append_object(oss.AppendObjectRequest(bucket="v2media", key="a", position=0, body=b"12"))
    assert first.next_position == 2
    second = client.append_object(oss.AppendObjectRequest(bucket="v2media", key="a", position=2,
                                                          body=b"345", init_hash_crc64=first.hash_crc64))
    assert second.next_position == 5
    with pytest.raises(oss.exceptions.OperationError) as refused:
        client.append_object(oss.AppendObjectRequest(bucket="v2media", key="a", position=1, body=b"x"))
    assert refused.value.unwrap().code == "PositionNotEqualToLength"


# ---- Symlink --------------------------------------------------------------------------------

def test_symlinks_read_their_target(bucket) -> None:
    bucket.put_object("dir/a b.mp4", b"video bytes", headers={"Content-Type": "video/mp4"})
    bucket.put_symlink("dir/a b.mp4", "link.mp4", headers={"Content-Type": "text/plain"})
    assert bucket.get_symlink("link.mp4").target_key == "dir/a b.mp4"
    got = bucket.get_object("link.mp4")
    assert got.read() == b"video bytes"
    assert got.headers["x-oss-object-type"] == "Symlink"
    assert got.headers["Content-Type"] == "text/plain"  # the link's own
    assert got.headers["Content-Length"] == str(len(b"video bytes"))
    with pytest.raises(oss2.exceptions.ServerError) as not_link:
        bucket.get_symlink("dir/a b.mp4")
    assert not_link.value.status == 400
    bucket.delete_object("dir/a b.mp4")
    with pytest.raises(oss2.exceptions.ServerError) as dangling:
        bucket.get_object("link.mp4")
    assert (dangling.value.status, dangling.value.code) == (404, "SymlinkTargetNotExist")


def test_v2_symlinks(emulator: LiveServer) -> None:
    client = v2_client(emulator)
    client.put_bucket(oss.PutBucketRequest(bucket="v2media"))
    client.put_object(oss.PutObjectRequest(bucket="v2media", key="t.txt", body=b"target"))
    client.put_symlink(oss.PutSymlinkRequest(bucket="v2media", key="l", target="t.txt"))
    assert client.get_symlink(oss.GetSymlinkRequest(bucket="v2media", key="l")).target == "t.txt"
    assert client.get_object(oss.GetObjectRequest(bucket="v2media", key="l")).body.read() == b"target"


# ---- Storage classes and RestoreObject ------------------------------------------------------

def test_archived_objects_need_a_restore_that_finishes_on_the_clock(bucket, emulator: LiveServer) -> None:
    bucket.put_object("cold.bin", b"frozen", headers={"x-oss-storage-class": "Archive"})
    head = bucket.head_object("cold.bin")
    assert head.headers["x-oss-storage-class"] == "Archive" and "x-oss-restore" not in head.headers
    with pytest.raises(oss2.exceptions.ServerError) as refused:
        bucket.get_object("cold.bin")
    assert (refused.value.status, refused.value.code) == (403, "InvalidObjectState")
    assert bucket.restore_object("cold.bin").status == 202
    assert bucket.head_object("cold.bin").headers["x-oss-restore"] == 'ongoing-request="true"'
    with pytest.raises(oss2.exceptions.ServerError) as busy:
        bucket.restore_object("cold.bin")
    assert (busy.value.status, busy.value.code) == (409, "RestoreAlreadyInProgress")
    emulator.advance(120)
    restored = bucket.head_object("cold.bin").headers["x-oss-restore"]
    assert restored.startswith('ongoing-request="false", expiry-date="')
    assert bucket.get_object("cold.bin").read() == b"frozen"
    assert bucket.restore_object("cold.bin").status == 200  # extends the restored copy
    emulator.advance(3 * 86400)
    with pytest.raises(oss2.exceptions.ServerError):
        bucket.get_object("cold.bin")


def test_cold_archive_restores_by_tier(bucket, emulator: LiveServer) -> None:
    bucket.put_object("deep.bin", b"x", headers={"x-oss-storage-class": "ColdArchive"})
    config = RestoreConfiguration(days=2, job_parameters=RestoreJobParameters("Expedited"))
    assert bucket.restore_object("deep.bin", input=config).status == 202
    emulator.advance(1800)
    assert bucket.head_object("deep.bin").headers["x-oss-restore"] == 'ongoing-request="true"'
    emulator.advance(1900)
    assert bucket.get_object("deep.bin").read() == b"x"


def test_restore_of_a_standard_object_is_refused(bucket) -> None:
    bucket.put_object("hot.bin", b"x")
    with pytest.raises(oss2.exceptions.ServerError) as refused:
        bucket.restore_object("hot.bin")
    assert (refused.value.status, refused.value.code) == (400, "OperationNotSupported")
    with pytest.raises(oss2.exceptions.NoSuchKey):
        bucket.restore_object("missing.bin")


def test_storage_classes_from_the_bucket_copy_and_multipart(emulator: LiveServer) -> None:
    bucket = oss2_bucket(emulator, "ia-bucket")
    bucket.create_bucket(oss2.BUCKET_ACL_PRIVATE,
                         oss2.models.BucketCreateConfig(oss2.BUCKET_STORAGE_CLASS_IA))
    bucket.put_object("a", b"x")
    assert bucket.head_object("a").headers["x-oss-storage-class"] == "IA"
    bucket.copy_object("ia-bucket", "a", "b", headers={"x-oss-storage-class": "Standard"})
    assert bucket.head_object("b").headers["x-oss-storage-class"] == "Standard"
    upload = bucket.init_multipart_upload("m", headers={"x-oss-storage-class": "Archive"}).upload_id
    part = bucket.upload_part("m", upload, 1, b"data")
    bucket.complete_multipart_upload("m", upload, [oss2.models.PartInfo(1, part.etag)])
    assert bucket.head_object("m").headers["x-oss-storage-class"] == "Archive"
    assert [o.storage_class for o in bucket.list_objects().object_list] == ["IA", "Standard", "Archive"]
    with pytest.raises(oss2.exceptions.ServerError) as refused:
        bucket.put_object("c", b"x", headers={"x-oss-storage-class": "Frozen"})
    assert refused.value.status == 400 and not bucket.object_exists("c")


def test_v2_storage_class_and_restore(emulator: LiveServer) -> None:
    client = v2_client(emulator, "v1")
    client.put_bucket(oss.PutBucketRequest(bucket="v2media"))
    client.put_object(oss.PutObjectRequest(bucket="v2media", key="c", body=b"1", storage_class="ColdArchive"))
    assert client.head_object(oss.HeadObjectRequest(bucket="v2media", key="c")).storage_class == "ColdArchive"
    client.restore_object(oss.RestoreObjectRequest(
        bucket="v2media", key="c", restore_request=oss.RestoreRequest(
            days=1, tier="Bulk")))
    emulator.advance(13 * 3600)
    assert client.get_object(oss.GetObjectRequest(bucket="v2media", key="c")).body.read() == b"1"


# ---- Server-side encryption, gzip, client-side-encryption metadata ---------------------------

def test_sse_headers_are_kept_and_echoed(bucket) -> None:
    put = bucket.put_object("s", b"x", headers={"x-oss-server-side-encryption": "KMS",
                                               "x-oss-server-side-encryption-key-id": "key-1"})
    assert put.resp.headers["x-oss-server-side-encryption"] == "KMS"
    head = bucket.head_object("s").headers
    assert head["x-oss-server-side-encryption"] == "KMS"
    assert head["x-oss-server-side-encryption-key-id"] == "key-1"
    upload = bucket.init_multipart_upload("m", headers={"x-oss-server-side-encryption": "AES256"})
    assert upload.resp.headers["x-oss-server-side-encryption"] == "AES256"
    part = bucket.upload_part("m", upload.upload_id, 1, b"data")
    assert part.resp.headers["x-oss-server-side-encryption"] == "AES256"
    done = bucket.complete_multipart_upload("m", upload.upload_id, [oss2.models.PartInfo(1, part.etag)])
    assert done.resp.headers["x-oss-server-side-encryption"] == "AES256"
    with pytest.raises(oss2.exceptions.ServerError) as refused:
        bucket.put_object("bad", b"x", headers={"x-oss-server-side-encryption": "ROT13"})
    assert refused.value.status == 400 and not bucket.object_exists("bad")


def test_copy_with_replace_keeps_client_side_encryption_meta(bucket) -> None:
    bucket.put_object("enc", b"cipher", headers={"x-oss-meta-client-side-encryption-key": "k==",
                                                 "x-oss-meta-client-side-encryption-start": "s==",
                                                 "x-oss-meta-other": "drop"})
    bucket.copy_object("media", "enc", "copy", headers={"x-oss-metadata-directive": "REPLACE",
                                                        "x-oss-meta-new": "1"})
    head = bucket.head_object("copy").headers
    assert head["x-oss-meta-client-side-encryption-key"] == "k=="
    assert head["x-oss-meta-client-side-encryption-start"] == "s=="
    assert head["x-oss-meta-new"] == "1" and "x-oss-meta-other" not in head


def test_gzip_is_served_for_web_text_of_a_kilobyte(bucket) -> None:
    text = b"hello world " * 200
    bucket.put_object("page.txt", text, headers={"Content-Type": "text/plain"})
    bucket.put_object("small.txt", b"tiny", headers={"Content-Type": "text/plain"})
    bucket.put_object("video.mp4", text, headers={"Content-Type": "video/mp4"})
    url = bucket.sign_url("GET", "page.txt", 60)
    raw = httpx.get(url, headers={"Accept-Encoding": "gzip"})
    assert raw.headers["content-encoding"] == "gzip" and "etag" not in raw.headers
    assert raw.content == text  # httpx undoes the gzip
    with httpx.stream("GET", url, headers={"Accept-Encoding": "gzip"}) as streamed:
        assert gzip.decompress(b"".join(streamed.iter_raw())) == text
    for key in ("small.txt", "video.mp4"):
        plain = httpx.get(bucket.sign_url("GET", key, 60), headers={"Accept-Encoding": "gzip"})
        assert "content-encoding" not in plain.headers
    assert bucket.get_object("page.txt", headers={"Accept-Encoding": "gzip"}).read() == text


def test_appends_symlinks_and_restores_survive_a_restart(tmp_path) -> None:
    with LiveServer(data_dir=tmp_path) as server:
        bucket = oss2_bucket(server, "keep")
        bucket.create_bucket()
        bucket.append_object("log", 0, b"ab")
        bucket.put_symlink("log", "link")
        bucket.put_object("cold", b"c", headers={"x-oss-storage-class": "Archive"})
        bucket.restore_object("cold")
    with LiveServer(data_dir=tmp_path) as server:
        bucket = oss2_bucket(server, "keep")
        assert bucket.append_object("log", 2, b"c").next_position == 3
        assert bucket.get_object("link").read() == b"abc"
        assert bucket.head_object("cold").headers["x-oss-restore"] == 'ongoing-request="true"'
