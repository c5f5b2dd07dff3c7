"""Versioning through oss2 (V1, V4) and alibabacloud-oss-v2 against a live emulator: version ids,
delete markers, the `null` version, ListObjectVersions, copies of a version, restarts."""

from __future__ import annotations

import alibabacloud_oss_v2 as oss
import oss2
import pytest
from oss2.models import BatchDeleteObjectVersion, BatchDeleteObjectVersionList, BucketVersioningConfig

from emulator.testing.server import LiveServer
from tests.oss_clients import oss2_bucket, v2_client


def _versioned(bucket: oss2.Bucket, status: str = "Enabled") -> None:
    config = BucketVersioningConfig()
    config.status = status
    bucket.put_bucket_versioning(config)


@pytest.fixture(params=["v1", "v4"])
def bucket(request, emulator: LiveServer) -> oss2.Bucket:
    bucket = oss2_bucket(emulator, "media", request.param)
    bucket.create_bucket()
    return bucket


def test_versions_markers_and_reads_of_old_versions(bucket) -> None:
    assert bucket.get_bucket_versioning().status is None
    bucket.put_object("a.txt", b"before")  # written before versioning: the null version
    _versioned(bucket)
    assert bucket.get_bucket_versioning().status == "Enabled"
    first = bucket.put_object("a.txt", b"one").versionid
    second = bucket.put_object("a.txt", b"two").versionid
    assert first and second and first != second and "null" not in (first, second)
    assert bucket.get_object("a.txt").read() == b"two"
    assert bucket.get_object("a.txt", params={"versionId": first}).read() == b"one"
    assert bucket.get_object("a.txt", params={"versionId": "null"}).read() == b"before"
    assert bucket.head_object("a.txt", params={"versionId": first}).versionid == first

    deleted = bucket.delete_object("a.txt")
    assert deleted.delete_marker and deleted.versionid
    with pytest.raises(oss2.exceptions.NoSuchKey) as missing:
        bucket.get_object("a.txt")
    assert missing.value.headers["x-oss-delete-marker"] == "true"
    assert not bucket.object_exists("a.txt")
    assert [o.key for o in bucket.list_objects().object_list] == []

    listing = bucket.list_object_versions()
    assert [(m.key, m.versionid, m.is_latest) for m in listing.delete_marker] == [
        ("a.txt", deleted.versionid, True)]
    assert [(v.versionid, v.is_latest, v.size) for v in listing.versions] == [
        (second, False, 3), (first, False, 3), ("null", False, 6)]

    # Removing the marker brings the newest version back; removing a version is for good.
    bucket.delete_object("a.txt", params={"versionId": deleted.versionid})
    assert bucket.get_object("a.txt").read() == b"two"
    bucket.delete_object("a.txt", params={"versionId": second})
    assert bucket.get_object("a.txt").read() == b"one"
    with pytest.raises(oss2.exceptions.ServerError) as gone:
        bucket.get_object("a.txt", params={"versionId": second})
    assert (gone.value.status, gone.value.code) == (404, "NoSuchVersion")


def test_a_delete_marker_version_is_not_readable(bucket) -> None:
    _versioned(bucket)
    bucket.put_object("k", b"x")
    marker = bucket.delete_object("k").versionid
    with pytest.raises(oss2.exceptions.ServerError) as refused:
        bucket.get_object("k", params={"versionId": marker})
    assert refused.value.status == 405


def test_suspended_buckets_overwrite_the_null_version(bucket) -> None:
    _versioned(bucket)
    kept = bucket.put_object("s.bin", b"kept").versionid
    _versioned(bucket, "Suspended")
    assert bucket.put_object("s.bin", b"n1").versionid == "null"
    assert bucket.put_object("s.bin", b"n2").versionid == "null"
    ids = [v.versionid for v in bucket.list_object_versions().versions]
    assert ids == ["null", kept]
    assert bucket.get_object("s.bin", params={"versionId": "null"}).read() == b"n2"
    marker = bucket.delete_object("s.bin")
    assert marker.versionid == "null" and marker.delete_marker
    listing = bucket.list_object_versions()
    assert [v.versionid for v in listing.versions] == [kept]
    assert [m.versionid for m in listing.delete_marker] == ["null"]


def test_copy_of_an_old_version_and_batch_delete_of_versions(bucket) -> None:
    _versioned(bucket)
    old = bucket.put_object("src", b"old").versionid
    bucket.put_object("src", b"new")
    copied = bucket.copy_object("media", "src", "dst", params={"versionId": old})
    assert copied.versionid and bucket.get_object("dst").read() == b"old"
    assert copied.resp.headers["x-oss-copy-source-version-id"] == old

    versions = BatchDeleteObjectVersionList()
    versions.append(BatchDeleteObjectVersion("src", old))
    versions.append(BatchDeleteObjectVersion("dst"))
    result = bucket.delete_object_versions(versions)
    by_key = {d.key: d for d in result.delete_versions}
    assert by_key["src"].versionid == old and not by_key["src"].delete_marker
    assert by_key["dst"].delete_marker and by_key["dst"].delete_marker_versionid
    assert [v.versionid for v in bucket.list_object_versions(prefix="src").versions] != [old]
    with pytest.raises(oss2.exceptions.NoSuchKey):
        bucket.get_object("dst")


def test_list_object_versions_pages_and_groups(bucket) -> None:
    _versioned(bucket)
    made = []
    for key in ("dir/a", "dir/b", "top"):
        for n in range(2):
            made.append((key, bucket.put_object(key, str(n).encode()).versionid))
    expected = sorted(made, key=lambda kv: (kv[0], -made.index(kv)))
    for page_size in (1, 2, 4):
        seen, key_marker, version_marker = [], "", ""
        while True:
            page = bucket.list_object_versions(key_marker=key_marker, versionid_marker=version_marker,
                                               max_keys=page_size)
            seen += [(v.key, v.versionid) for v in page.versions]
            if not page.is_truncated:
                break
            key_marker, version_marker = page.next_key_marker, page.next_versionid_marker
        assert seen == expected, page_size
    grouped = bucket.list_object_versions(delimiter="/")
    assert grouped.common_prefix == ["dir/"] and {v.key for v in grouped.versions} == {"top"}
    with pytest.raises(oss2.exceptions.ServerError) as refused:
        bucket.list_object_versions(max_keys=0)
    assert refused.value.status == 400


def test_a_bucket_with_versions_cannot_be_deleted(bucket) -> None:
    _versioned(bucket)
    bucket.put_object("k", b"x")
    bucket.delete_object("k")
    with pytest.raises(oss2.exceptions.BucketNotEmpty):
        bucket.delete_bucket()


def test_bad_versioning_documents_change_nothing(bucket) -> None:
    for body in (b"<VersioningConfiguration><Status>On</Status></VersioningConfiguration>",
                 b"<VersioningConfiguration/>", b"not xml"):
        with pytest.raises(oss2.exceptions.ServerError) as refused:
            bucket._Bucket__do_bucket("PUT", data=body, params={"versioning": ""})
        assert refused.value.status == 400
    assert bucket.get_bucket_versioning().status is None


def test_v2_sees_versions(emulator: LiveServer) -> None:
    client = v2_client(emulator)
    client.put_bucket(oss.PutBucketRequest(bucket="v2media"))
    client.put_bucket_versioning(oss.PutBucketVersioningRequest(
        bucket="v2media", versioning_configuration=oss.VersioningConfiguration(status="Enabled")))
    put = client.put_object(oss.PutObjectRequest(bucket="v2media", key="d/x.txt", body=b"1"))
    client.put_object(oss.PutObjectRequest(bucket="v2media", key="d/x.txt", body=b"2"))
    got = client.get_object(oss.GetObjectRequest(bucket="v2media", key="d/x.txt", version_id=put.version_id))
    assert got.body.read() == b"1" and got.version_id == put.version_id
    listing = client.list_object_versions(oss.ListObjectVersionsRequest(bucket="v2media"))
    assert [v.version_id for v in listing.version][1] == put.version_id
    assert listing.version[0].key == "d/x.txt"
    deleted = client.delete_object(oss.DeleteObjectRequest(bucket="v2media", key="d/x.txt"))
    assert deleted.delete_marker and deleted.version_id


def test_versions_survive_a_restart(tmp_path) -> None:
    with LiveServer(data_dir=tmp_path) as server:
        bucket = oss2_bucket(server, "keep")
        bucket.create_bucket()
        _versioned(bucket)
        first = bucket.put_object("k", b"one").versionid
        bucket.put_object("k", b"two")
        bucket.delete_object("k")
    with LiveServer(data_dir=tmp_path) as server:
        bucket = oss2_bucket(server, "keep")
        assert bucket.get_bucket_versioning().status == "Enabled"
        assert bucket.get_object("k", params={"versionId": first}).read() == b"one"
        listing = bucket.list_object_versions()
        assert len(listing.versions) == 2 and len(listing.delete_marker) == 1
