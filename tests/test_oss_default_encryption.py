"""A bucket's default encryption (PutBucketEncryption) given to new objects, through oss2 (V1 and
V4) and alibabacloud-oss-v2 against a live emulator: objects written without
x-oss-server-side-encryption answer the rule's algorithm on Put, Copy, Initiate, Complete, Get and
Head; a request naming its own wins; objects written before the rule (or after it is deleted)
have none; and it survives a restart."""

from __future__ import annotations

import alibabacloud_oss_v2 as oss
import oss2
import pytest
from oss2.models import PartInfo, ServerSideEncryptionRule

from emulator.testing.server import LiveServer
from tests.oss_clients import oss2_bucket, v2_client

SSE = "x-oss-server-side-encryption"
KEY_ID = "x-oss-server-side-encryption-key-id"


@pytest.fixture(params=["v1", "v4"])
def bucket(request, emulator: LiveServer) -> oss2.Bucket:
    bucket = oss2_bucket(emulator, "sealed", request.param)
    bucket.create_bucket()
    return bucket


def test_new_objects_take_the_bucket_default(bucket: oss2.Bucket) -> None:
    bucket.put_object("before", b"plain")
    bucket.put_bucket_encryption(ServerSideEncryptionRule("AES256"))
    put = bucket.put_object("after", b"sealed")
    assert put.headers[SSE] == "AES256"
    assert bucket.head_object("after").headers[SSE] == "AES256"
    got = bucket.get_object("after")
    assert got.headers[SSE] == "AES256" and got.read() == b"sealed"  # stored as sent
    assert SSE not in bucket.head_object("before").headers  # the rule is not retroactive
    # The request's own algorithm wins over the default.
    own = bucket.put_object("own", b"x", headers={SSE: "SM4"})
    assert own.headers[SSE] == "SM4" and bucket.head_object("own").headers[SSE] == "SM4"
    # Copies and multipart uploads are new objects too.
    copy = bucket.copy_object("sealed", "before", "copied")
    assert copy.headers[SSE] == "AES256" and bucket.head_object("copied").headers[SSE] == "AES256"
    init = bucket.init_multipart_upload("parts")
    assert init.headers[SSE] == "AES256"
    part = bucket.upload_part("parts", init.upload_id, 1, b"p" * 10)
    assert part.headers[SSE] == "AES256"
    done = bucket.complete_multipart_upload("parts", init.upload_id, [PartInfo(1, part.etag)])
    assert done.headers[SSE] == "AES256" and bucket.head_object("parts").headers[SSE] == "AES256"
    appended = bucket.append_object("log", 0, b"line\n")
    assert appended.next_position == 5 and bucket.head_object("log").headers[SSE] == "AES256"
    # Without a rule, new objects are plain again; the sealed ones stay sealed.
    bucket.delete_bucket_encryption()
    assert SSE not in bucket.put_object("later", b"x").headers
    assert SSE not in bucket.head_object("later").headers
    assert bucket.head_object("after").headers[SSE] == "AES256"


def test_a_kms_default_names_its_key(bucket: oss2.Bucket) -> None:
    bucket.put_bucket_encryption(ServerSideEncryptionRule("KMS", "key-1"))
    headers = bucket.put_object("k", b"x").headers
    assert (headers[SSE], headers[KEY_ID]) == ("KMS", "key-1")
    head = bucket.head_object("k").headers
    assert (head[SSE], head[KEY_ID]) == ("KMS", "key-1")


def test_v2_sees_the_default_and_a_restart_keeps_it(tmp_path) -> None:
    with LiveServer(data_dir=tmp_path) as server:
        client = v2_client(server)
        client.put_bucket(oss.PutBucketRequest(bucket="v2sealed"))
        client.put_bucket_encryption(oss.PutBucketEncryptionRequest(
            bucket="v2sealed", server_side_encryption_rule=oss.ServerSideEncryptionRule(
                apply_server_side_encryption_by_default=oss.ApplyServerSideEncryptionByDefault(
                    sse_algorithm="SM4"))))
        put = client.put_object(oss.PutObjectRequest(bucket="v2sealed", key="a", body=b"abc"))
        assert put.headers.get(SSE) == "SM4"
    with LiveServer(data_dir=tmp_path) as server:
        client = v2_client(server, "v1")
        head = client.head_object(oss.HeadObjectRequest(bucket="v2sealed", key="a"))
        assert head.server_side_encryption == "SM4"
        client.put_object(oss.PutObjectRequest(bucket="v2sealed", key="b", body=b"def"))
        got = client.get_object(oss.GetObjectRequest(bucket="v2sealed", key="b"))
        assert got.server_side_encryption == "SM4" and got.body.read() == b"def"
        copied = client.copy_object(oss.CopyObjectRequest(bucket="v2sealed", key="c", source_key="b"))
        assert copied.server_side_encryption == "SM4"
