"""Bucket lifecycle through oss2 and alibabacloud-oss-v2 against a live emulator: rules stored
and returned, refused with OSS's errors when malformed (nothing changes then), and carried out
when the emulator's clock moves."""

from __future__ import annotations

import datetime

import alibabacloud_oss_v2 as oss
import httpx
import oss2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oss2.models import (
    AbortMultipartUpload,
    BucketLifecycle,
    BucketVersioningConfig,
    LifecycleExpiration,
    LifecycleRule,
    NoncurrentVersionExpiration,
    StorageTransition,
)

from emulator.services.oss.lifecycle import _matches, parse_configuration
from emulator.testing.server import LiveServer
from tests.oss_clients import oss2_bucket, v2_client

DAY = 86400


@pytest.fixture(params=["v1", "v4"])
def bucket(request, emulator: LiveServer) -> oss2.Bucket:
    bucket = oss2_bucket(emulator, "media", request.param)
    bucket.create_bucket()
    return bucket


def test_rules_are_stored_and_returned(bucket) -> None:
    with pytest.raises(oss2.exceptions.NoSuchLifecycle):
        bucket.get_bucket_lifecycle()
    rule = LifecycleRule("tmp", "tmp/", status=LifecycleRule.ENABLED,
                         expiration=LifecycleExpiration(days=3),
                         storage_transitions=[StorageTransition(days=1, storage_class="IA")],
                         abort_multipart_upload=AbortMultipartUpload(days=1))
    bucket.put_bucket_lifecycle(BucketLifecycle([rule, LifecycleRule(
        "", "", status=LifecycleRule.DISABLED,
        expiration=LifecycleExpiration(created_before_date=datetime.date(2020, 1, 1)))]))
    rules = bucket.get_bucket_lifecycle().rules
    assert [(r.id, r.prefix, r.status) for r in rules][0] == ("tmp", "tmp/", "Enabled")
    assert rules[0].expiration.days == 3 and rules[0].storage_transitions[0].storage_class == "IA"
    assert rules[1].id and rules[1].expiration.created_before_date == datetime.date(2020, 1, 1)
    bucket.delete_bucket_lifecycle()
    with pytest.raises(oss2.exceptions.NoSuchLifecycle):
        bucket.get_bucket_lifecycle()


def test_advancing_the_clock_expires_transitions_and_aborts(bucket, emulator: LiveServer) -> None:
    bucket.put_object("tmp/a", b"a")
    bucket.put_object("keep/b", b"b")
    upload_id = bucket.init_multipart_upload("tmp/big").upload_id
    bucket.put_bucket_lifecycle(BucketLifecycle([LifecycleRule(
        "tmp", "tmp/", status=LifecycleRule.ENABLED, expiration=LifecycleExpiration(days=3),
        storage_transitions=[StorageTransition(days=1, storage_class="IA")],
        abort_multipart_upload=AbortMultipartUpload(days=1))]))
    emulator.advance(2 * DAY + 60)  # past the next midnight plus a day
    assert bucket.head_object("tmp/a").headers["x-oss-storage-class"] == "IA"
    with pytest.raises(oss2.exceptions.NoSuchUpload):
        bucket.list_parts("tmp/big", upload_id)
    emulator.advance(2 * DAY)
    assert not bucket.object_exists("tmp/a")
    assert bucket.get_object("keep/b").read() == b"b"


def test_tag_filters_pick_objects(bucket, emulator: LiveServer) -> None:
    bucket.put_object("x/tagged", b"1", headers={"x-oss-tagging": "kind=temp&owner=me"})
    bucket.put_object("x/plain", b"2")
    bucket.put_object("x/other", b"3", headers={"x-oss-tagging": "kind=keep"})
    bucket.put_object("x/later", b"4")
    bucket.put_object("x/untagged", b"5", headers={"x-oss-tagging": "kind=temp"})
    upload = bucket.init_multipart_upload("x/parts", headers={"x-oss-tagging": "kind=temp"}).upload_id
    part = bucket.upload_part("x/parts", upload, 1, b"p")
    bucket.complete_multipart_upload("x/parts", upload, [oss2.models.PartInfo(1, part.etag)])
    tagging = oss2.models.Tagging(oss2.models.TaggingRule())
    tagging.tag_set.add("kind", "temp")
    bucket.put_object_tagging("x/later", tagging)  # tagged after it was written
    bucket.delete_object_tagging("x/untagged")  # no longer tagged
    bucket.put_bucket_lifecycle(BucketLifecycle([LifecycleRule(
        "t", "x/", status=LifecycleRule.ENABLED, expiration=LifecycleExpiration(days=1), tagging=tagging)]))
    emulator.advance(3 * DAY)
    assert sorted(o.key for o in oss2.ObjectIterator(bucket)) == ["x/other", "x/plain", "x/untagged"]


def test_v2_tag_filters(emulator: LiveServer) -> None:
    client = v2_client(emulator)
    client.put_bucket(oss.PutBucketRequest(bucket="v2tags"))
    client.put_object(oss.PutObjectRequest(bucket="v2tags", key="tmp/a", body=b"a", tagging="stage=raw"))
    client.put_object(oss.PutObjectRequest(bucket="v2tags", key="tmp/b", body=b"b", tagging="stage=done"))
    client.put_bucket_lifecycle(oss.PutBucketLifecycleRequest(
        bucket="v2tags", lifecycle_configuration=oss.LifecycleConfiguration(rules=[oss.LifecycleRule(
            id="raw", prefix="tmp/", status="Enabled", tags=[oss.Tag(key="stage", value="raw")],
            expiration=oss.LifecycleRuleExpiration(days=1))])))
    emulator.advance(3 * DAY)
    assert not client.is_object_exist("v2tags", "tmp/a")
    assert client.is_object_exist("v2tags", "tmp/b")


def test_rule_matching_reads_tags_prefixes_and_sizes() -> None:
    rules, _ = parse_configuration(
        b"<LifecycleConfiguration><Rule><ID>r</ID><Prefix>x/</Prefix><Status>Enabled</Status>"
        b"<Tag><Key>kind</Key><Value>temp</Value></Tag><Filter><Not><Prefix>x/keep</Prefix></Not>"
        b"<ObjectSizeGreaterThan>1</ObjectSizeGreaterThan></Filter>"
        b"<Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>", lambda: "id")
    rule = rules[0]
    doc = {"key": "x/a", "size": 5, "tags": {"kind": "temp"}}
    assert _matches(rule, doc)
    assert not _matches(rule, {**doc, "tags": {"kind": "other"}})
    assert not _matches(rule, {**doc, "key": "x/keep/a"})
    assert not _matches(rule, {**doc, "size": 1})
    assert not _matches(rule, {**doc, "key": "y/a"})


def test_versioned_expiry_leaves_a_marker_and_noncurrent_versions_go(bucket, emulator: LiveServer) -> None:
    config = BucketVersioningConfig()
    config.status = "Enabled"
    bucket.put_bucket_versioning(config)
    bucket.put_object("v", b"1")
    bucket.put_object("v", b"2")
    bucket.put_bucket_lifecycle(BucketLifecycle([LifecycleRule(
        "r", "", status=LifecycleRule.ENABLED, expiration=LifecycleExpiration(days=5),
        noncurrent_version_expiration=NoncurrentVersionExpiration(2))]))
    emulator.advance(3 * DAY + 60)
    listing = bucket.list_object_versions()
    assert len(listing.versions) == 1 and not listing.delete_marker  # the old one went
    emulator.advance(3 * DAY)
    listing = bucket.list_object_versions()
    assert [m.is_latest for m in listing.delete_marker] == [True]
    with pytest.raises(oss2.exceptions.NoSuchKey):
        bucket.get_object("v")


BAD_RULES = [
    "<Rule><ID>a</ID><Prefix>p</Prefix><Status>On</Status><Expiration><Days>1</Days></Expiration></Rule>",
    "<Rule><ID>a</ID><Status>Enabled</Status><Expiration><Days>0</Days></Expiration></Rule>",
    "<Rule><ID>a</ID><Status>Enabled</Status><Expiration><Days>1</Days>"
    "<CreatedBeforeDate>2020-01-01T00:00:00.000Z</CreatedBeforeDate></Expiration></Rule>",
    "<Rule><ID>a</ID><Status>Enabled</Status><Expiration/></Rule>",
    "<Rule><ID>a</ID><Status>Enabled</Status></Rule>",
    "<Rule><ID>a</ID><Status>Enabled</Status><Expiration><CreatedBeforeDate>2020-01-01</CreatedBeforeDate>"
    "</Expiration></Rule>",
    "<Rule><ID>a</ID><Status>Enabled</Status><Transition><Days>3</Days><StorageClass>Hot</StorageClass>"
    "</Transition></Rule>",
    "<Rule><ID>a</ID><Status>Enabled</Status><Transition><Days>3</Days><StorageClass>IA</StorageClass>"
    "</Transition><Expiration><Days>2</Days></Expiration></Rule>",
    "<Rule><ID>a</ID><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>" * 2,
]


@pytest.mark.parametrize("rules", BAD_RULES)
def test_malformed_rules_get_oss_errors_and_change_nothing(emulator: LiveServer, rules: str) -> None:
    bucket = oss2_bucket(emulator, "media")
    bucket.create_bucket()
    good = BucketLifecycle([LifecycleRule("keep", "k/", status=LifecycleRule.ENABLED,
                                          expiration=LifecycleExpiration(days=9))])
    bucket.put_bucket_lifecycle(good)
    with pytest.raises(oss2.exceptions.ServerError) as refused:
        bucket._Bucket__do_bucket("PUT", data=f"<LifecycleConfiguration>{rules}</LifecycleConfiguration>",
                                  params={"lifecycle": ""})
    assert refused.value.status == 400 and refused.value.code in ("InvalidArgument", "MalformedXML")
    assert [r.id for r in bucket.get_bucket_lifecycle().rules] == ["keep"]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode),
                 st.lists(st.sampled_from([
                     "<Rule>", "</Rule>", "<ID>x</ID>", "<Status>Enabled</Status>", "<Status>x</Status>",
                     "<Expiration>", "</Expiration>", "<Days>1</Days>", "<Days>-1</Days>",
                     "<Transition>", "</Transition>", "<StorageClass>IA</StorageClass>", "<Tag>",
                     "</Tag>", "<Key>k</Key>", "<Filter><Not><Prefix>a</Prefix></Not></Filter>",
                     "<CreatedBeforeDate>2020-01-01T00:00:00.000Z</CreatedBeforeDate>"]), max_size=12)
                 .map(lambda parts: ("<LifecycleConfiguration>" + "".join(parts)
                                     + "</LifecycleConfiguration>").encode())))
def test_any_body_parses_or_gets_an_oss_error(body: bytes) -> None:
    try:
        rules, xml = parse_configuration(body, lambda: "generated")
    except Exception as exc:  # only the service's own 400s may come out
        assert getattr(exc, "status", None) == 400 and exc.code in ("InvalidArgument", "MalformedXML")
    else:
        assert rules and parse_configuration(xml.encode(), lambda: "again")[0] == rules


def test_v2_lifecycle_and_a_restart(tmp_path) -> None:
    with LiveServer(data_dir=tmp_path) as server:
        client = v2_client(server)
        client.put_bucket(oss.PutBucketRequest(bucket="v2media"))
        client.put_bucket_lifecycle(oss.PutBucketLifecycleRequest(
            bucket="v2media", lifecycle_configuration=oss.LifecycleConfiguration(rules=[oss.LifecycleRule(
                id="r1", prefix="logs/", status="Enabled",
                expiration=oss.LifecycleRuleExpiration(days=1))])))
        client.put_object(oss.PutObjectRequest(bucket="v2media", key="logs/a", body=b"x"))
    with LiveServer(data_dir=tmp_path) as server:
        client = v2_client(server)
        got = client.get_bucket_lifecycle(oss.GetBucketLifecycleRequest(bucket="v2media"))
        assert got.lifecycle_configuration.rules[0].id == "r1"
        server.advance(2 * DAY + 60)
        assert not client.is_object_exist("v2media", "logs/a")
        assert httpx.get(f"{server.url}/_emulator/health").status_code == 200
