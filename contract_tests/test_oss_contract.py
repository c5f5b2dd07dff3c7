"""OSS as an application sees it through oss2: objects, listing, errors, presigned URLs."""

from __future__ import annotations

import oss2
import pytest
import requests


def test_put_get_head_delete(target, unique) -> None:
    bucket = target.oss2_bucket()
    key = f"{target.key_prefix}{unique}/clip 1.mp4"
    put = bucket.put_object(key, b"\x00\x01video", headers={"Content-Type": "video/mp4",
                                                            "x-oss-meta-origin": "contract"})
    assert put.status == 200 and put.etag and put.crc is not None
    got = bucket.get_object(key)
    assert got.read() == b"\x00\x01video"
    assert got.headers["Content-Type"] == "video/mp4" and got.headers["x-oss-meta-origin"] == "contract"
    assert bucket.get_object(key, byte_range=(2, 6)).read() == b"video"
    assert bucket.head_object(key).content_length == 7
    bucket.delete_object(key)
    assert not bucket.object_exists(key)


def test_listing_with_delimiter(target, unique) -> None:
    bucket = target.oss2_bucket()
    base = f"{target.key_prefix}{unique}/"
    for key in ("a.txt", "dir/b.txt", "dir/c d.txt"):
        bucket.put_object(base + key, b"x")
    listed = bucket.list_objects_v2(prefix=base, delimiter="/")
    assert [o.key for o in listed.object_list] == [base + "a.txt"]
    assert listed.prefix_list == [base + "dir/"]
    assert [o.key for o in oss2.ObjectIteratorV2(bucket, prefix=base + "dir/")] == [
        base + "dir/b.txt", base + "dir/c d.txt"]
    bucket.batch_delete_objects([base + k for k in ("a.txt", "dir/b.txt", "dir/c d.txt")])


def test_errors(target, unique) -> None:
    bucket = target.oss2_bucket()
    with pytest.raises(oss2.exceptions.NoSuchKey) as err:
        bucket.get_object(f"{target.key_prefix}{unique}/missing")
    assert err.value.status == 404 and err.value.request_id
    wrong = oss2.Bucket(oss2.Auth(target.access_key_id, "not-the-secret"), target.oss_endpoint,
                        target.bucket_name)
    with pytest.raises(oss2.exceptions.SignatureDoesNotMatch):
        wrong.get_object(f"{target.key_prefix}{unique}/missing")


def test_presigned_get(target, unique) -> None:
    bucket = target.oss2_bucket()
    key = f"{target.key_prefix}{unique}/signed.txt"
    bucket.put_object(key, b"signed")
    assert requests.get(bucket.sign_url("GET", key, 300)).content == b"signed"
    bucket.delete_object(key)


@pytest.mark.emulator_only
def test_presigned_url_expires(target, unique) -> None:
    bucket = target.oss2_bucket()
    key = f"{unique}/signed.txt"
    bucket.put_object(key, b"signed")
    url = bucket.sign_url("GET", key, 300)
    target.server.advance(301)
    expired = requests.get(url)
    assert expired.status_code == 403 and "<Code>AccessDenied</Code>" in expired.text
