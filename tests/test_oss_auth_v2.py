"""The V2 signature (`Authorization: OSS2 ...` and the OSS2 presigned URL), as oss2's AuthV2 signs,
against a live emulator."""

from __future__ import annotations

import httpx
import oss2
import pytest

from emulator.auth.oss import SignedRequest, sign_v2, v2_string_to_sign
from emulator.testing.server import LiveServer
from tests.oss_clients import oss2_bucket

KEY = "目录/视频 1+a&b=c.mp4"


@pytest.fixture
def bucket(emulator: LiveServer) -> oss2.Bucket:
    b = oss2_bucket(emulator, "media", "v2")
    b.create_bucket()
    return b


def test_string_to_sign_matches_the_captured_vectors() -> None:
    # reference/oss-more.md §12.3: requests oss2 signed, recomputed independently.
    secret = "ExampleSecretKey1234567890abcd"
    put = SignedRequest("PUT", "", {"content-type": "video/mp4", "x-oss-tagging": "k1=v1&k2=v%202"},
                        "media", "dir/a b.mp4")
    date = "Mon, 30 Nov 2026 15:25:19 GMT"
    assert sign_v2(secret, v2_string_to_sign(put, [], date, False)) == \
        "MiEkwWavMRgPT0MgilHLml2jqqj/COSNxFyzq32eInA="
    get = SignedRequest("GET", "x-oss-signature-version=OSS2&x-oss-expires=1796055919"
                        "&x-oss-access-key-id=LTAI5tExampleAccessKey", {}, "media", "dir/a b.mp4")
    assert sign_v2(secret, v2_string_to_sign(get, [], "1796055919", True)) == \
        "RIVWfOuUGl8m43yVuI2Y5ASSbvFAP/LSAdrCVgtPttg="


def test_put_get_list_with_non_ascii_keys_and_metadata(bucket: oss2.Bucket) -> None:
    result = bucket.put_object(KEY, b"video", headers={"x-oss-meta-author": "张三".encode(),
                                                      "Content-Type": "video/mp4"})
    assert result.status == 200
    got = bucket.get_object(KEY)
    assert got.read() == b"video"
    assert got.headers["x-oss-meta-author"].encode("latin-1").decode() == "张三"
    # A Range header is one of AuthV2's additional signed headers.
    assert bucket.get_object(KEY, byte_range=(1, 3)).read() == b"ide"
    assert [o.key for o in oss2.ObjectIterator(bucket, prefix="目录/")] == [KEY]
    assert bucket.get_bucket_acl().acl == "private"


def test_sub_resources_and_every_query_parameter_are_signed(bucket: oss2.Bucket) -> None:
    upload_id = bucket.init_multipart_upload(KEY).upload_id
    part = bucket.upload_part(KEY, upload_id, 1, b"part")
    assert [p.part_number for p in bucket.list_parts(KEY, upload_id).parts] == [1]
    bucket.complete_multipart_upload(KEY, upload_id, [oss2.models.PartInfo(1, part.etag)])
    # ListObjectsV2 sends list-type, max-keys, continuation-token...: none is a V1 sub-resource.
    listed = bucket.list_objects_v2(prefix="目录", max_keys=5)
    assert [o.key for o in listed.object_list] == [KEY]
    assert bucket.get_object(KEY, params={"response-content-type": "text/plain"}).headers[
        "Content-Type"] == "text/plain"


def test_presigned_urls(emulator: LiveServer, bucket: oss2.Bucket) -> None:
    put_url = bucket.sign_url("PUT", KEY, 600, headers={"Content-Type": "text/plain"})
    assert "x-oss-signature-version=OSS2" in put_url
    assert httpx.put(put_url, content=b"via url", headers={"Content-Type": "text/plain"}).status_code == 200
    get_url = bucket.sign_url("GET", KEY, 600)
    assert httpx.get(get_url).content == b"via url"
    assert httpx.get(get_url.replace("x-oss-expires=", "x-oss-expires=1")).status_code == 403
    emulator.advance(601)
    expired = httpx.get(get_url)
    assert expired.status_code == 403 and b"<Code>AccessDenied</Code>" in expired.content


def test_wrong_secret_is_refused_and_changes_nothing(emulator: LiveServer, bucket: oss2.Bucket) -> None:
    bucket.put_object("k.txt", b"original")
    wrong = oss2_bucket(emulator, "media", "v2", secret="not-the-secret")
    with pytest.raises(oss2.exceptions.SignatureDoesNotMatch):
        wrong.put_object("k.txt", b"overwritten")
    with pytest.raises(oss2.exceptions.SignatureDoesNotMatch):
        wrong.get_object("k.txt")
    url = wrong.sign_url("GET", "k.txt", 600)
    refused = httpx.get(url)
    assert refused.status_code == 403 and b"<Code>SignatureDoesNotMatch</Code>" in refused.content
    assert bucket.get_object("k.txt").read() == b"original"


def test_a_malformed_v2_header_is_invalid_argument(emulator: LiveServer, bucket: oss2.Bucket) -> None:
    answer = httpx.get(f"{emulator.url}/media/", headers={"Authorization": "OSS2 garbage"})
    assert answer.status_code == 400 and b"<Code>InvalidArgument</Code>" in answer.content


def test_v2_credentials_choose_their_namespace(emulator: LiveServer) -> None:
    other = emulator.create_namespace()
    try:
        auth = oss2.AuthV2(other.access_key_id, other.access_key_secret)
        theirs = oss2.Bucket(auth, emulator.url, "shared")
        theirs.create_bucket()
        theirs.put_object("k", b"theirs")
        url = theirs.sign_url("GET", "k", 600)
        assert httpx.get(url).content == b"theirs"
        with pytest.raises(oss2.exceptions.NoSuchBucket):
            oss2_bucket(emulator, "shared", "v2").get_object("k")
    finally:
        other.delete()
