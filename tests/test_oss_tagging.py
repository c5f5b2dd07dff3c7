"""Object and bucket tagging through oss2 (V1, V4) and alibabacloud-oss-v2 against a live emulator:
tags at write time, on copy and multipart, the tagging sub-resource, OSS's limits and errors."""

from __future__ import annotations

import base64
import hashlib
from email.utils import formatdate

import alibabacloud_oss_v2 as oss
import httpx
import oss2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulator.auth.oss import sign_v1
from emulator.services.oss import tagging
from emulator.testing.server import LiveServer
from tests.oss_clients import oss2_bucket, v2_client


@pytest.fixture(params=["v1", "v4"])
def bucket(request, emulator: LiveServer) -> oss2.Bucket:
    bucket = oss2_bucket(emulator, "tagged", request.param)
    bucket.create_bucket()
    return bucket


def _rule(**tags: str) -> oss2.models.Tagging:
    rule = oss2.models.TaggingRule()
    for k, v in tags.items():
        rule.add(k, v)
    return oss2.models.Tagging(rule)


def _tags(bucket: oss2.Bucket, key: str) -> dict[str, str]:
    return bucket.get_object_tagging(key).tag_set.tagging_rule


def test_tags_at_put_are_counted_and_listed(bucket: oss2.Bucket) -> None:
    bucket.put_object("a.mp4", b"x", headers={"x-oss-tagging": "team=media&note=v%202&bare"})
    assert _tags(bucket, "a.mp4") == {"team": "media", "note": "v 2", "bare": ""}
    assert bucket.head_object("a.mp4").headers["x-oss-tagging-count"] == "3"
    assert bucket.get_object("a.mp4").headers["x-oss-tagging-count"] == "3"
    bucket.put_object("plain.mp4", b"x")
    assert "x-oss-tagging-count" not in bucket.head_object("plain.mp4").headers


def test_put_tagging_replaces_and_delete_clears_without_touching_the_data(bucket: oss2.Bucket) -> None:
    bucket.put_object("a.mp4", b"data", headers={"x-oss-tagging": "old=1"})
    modified = bucket.head_object("a.mp4").last_modified
    bucket.put_object_tagging("a.mp4", _rule(stage="done", owner="cli"))
    assert _tags(bucket, "a.mp4") == {"stage": "done", "owner": "cli"}
    assert bucket.head_object("a.mp4").last_modified == modified
    bucket.delete_object_tagging("a.mp4")
    assert _tags(bucket, "a.mp4") == {}
    assert bucket.get_object("a.mp4").read() == b"data"
    with pytest.raises(oss2.exceptions.NoSuchKey):
        bucket.put_object_tagging("missing", _rule(a="b"))


def test_copy_keeps_or_replaces_tags(bucket: oss2.Bucket) -> None:
    bucket.put_object("src", b"x", headers={"x-oss-tagging": "a=1"})
    bucket.copy_object("tagged", "src", "copied")
    assert _tags(bucket, "copied") == {"a": "1"}
    bucket.copy_object("tagged", "src", "replaced", headers={"x-oss-tagging-directive": "Replace",
                                                             "x-oss-tagging": "b=2"})
    assert _tags(bucket, "replaced") == {"b": "2"}
    with pytest.raises(oss2.exceptions.InvalidArgument):
        bucket.copy_object("tagged", "src", "bad", headers={"x-oss-tagging-directive": "Merge"})


def test_multipart_upload_gets_the_tags_of_its_initiation(bucket: oss2.Bucket) -> None:
    upload_id = bucket.init_multipart_upload("big", headers={"x-oss-tagging": "kind=video"}).upload_id
    part = bucket.upload_part("big", upload_id, 1, b"only part")
    bucket.complete_multipart_upload("big", upload_id, [oss2.models.PartInfo(1, part.etag)])
    assert _tags(bucket, "big") == {"kind": "video"}


def test_tags_and_acls_act_on_the_version_named(bucket: oss2.Bucket) -> None:
    bucket.put_bucket_versioning(oss2.models.BucketVersioningConfig("Enabled"))
    old = bucket.put_object("v", b"old", headers={"x-oss-tagging": "gen=1"}).versionid
    new = bucket.put_object("v", b"new", headers={"x-oss-tagging": "gen=2"}).versionid
    assert _tags(bucket, "v") == {"gen": "2"}
    assert bucket.get_object_tagging("v", params={"versionId": old}).tag_set.tagging_rule == {"gen": "1"}
    bucket.put_object_tagging("v", _rule(gen="one"), params={"versionId": old})
    assert bucket.get_object_tagging("v", params={"versionId": old}).tag_set.tagging_rule == {"gen": "one"}
    assert _tags(bucket, "v") == {"gen": "2"}
    bucket.delete_object_tagging("v", params={"versionId": old})
    assert bucket.get_object_tagging("v", params={"versionId": old}).tag_set.tagging_rule == {}
    assert bucket.head_object("v").headers["x-oss-tagging-count"] == "1"
    bucket.put_object_acl("v", oss2.OBJECT_ACL_PUBLIC_READ, params={"versionId": old})
    assert bucket.get_object_acl("v", params={"versionId": old}).acl == "public-read"
    assert bucket.get_object_acl("v").acl == "default"
    assert bucket.get_object("v", params={"versionId": old}).read() == b"old"  # data untouched
    url = f"{bucket.endpoint}/{bucket.bucket_name}/v"
    assert httpx.get(url, params={"versionId": old}).content == b"old"  # that version is public
    assert httpx.get(url).status_code == 403  # the current one is not
    with pytest.raises(oss2.exceptions.ServerError) as missing:
        bucket.get_object_tagging("v", params={"versionId": "CAEQnope"})
    assert (missing.value.status, missing.value.code) == (404, "NoSuchVersion")
    assert new != old  # oss2 adds its sub-resource to the params given: a fresh dict each time


def test_appends_and_symlinks_take_tags_and_acl_when_created(bucket: oss2.Bucket) -> None:
    first = {"x-oss-tagging": "kind=log", "x-oss-object-acl": "public-read"}
    bucket.append_object("log", 0, b"one\n", headers=first)
    bucket.append_object("log", 4, b"two\n")
    assert _tags(bucket, "log") == {"kind": "log"} and bucket.get_object_acl("log").acl == "public-read"
    bucket.put_symlink("log", "link", headers={"x-oss-object-acl": "private"})
    assert bucket.get_object_acl("link").acl == "private"
    with pytest.raises(oss2.exceptions.ServerError) as refused:
        bucket.append_object("other", 0, b"x", headers={"x-oss-tagging": "bad key!=v"})
    assert refused.value.code == "InvalidTag" and not bucket.object_exists("other")


def test_v2_append_and_symlink_attributes(emulator: LiveServer) -> None:
    client = v2_client(emulator)
    client.put_bucket(oss.PutBucketRequest(bucket="v2append"))
    client.append_object(oss.AppendObjectRequest(bucket="v2append", key="a", position=0, body=b"x",
                                                 tagging="k=v", acl="public-read-write"))
    got = client.get_object_tagging(oss.GetObjectTaggingRequest(bucket="v2append", key="a"))
    assert [(t.key, t.value) for t in got.tag_set.tags] == [("k", "v")]
    acl = client.get_object_acl(oss.GetObjectAclRequest(bucket="v2append", key="a")).acl
    assert acl == "public-read-write"
    client.put_symlink(oss.PutSymlinkRequest(bucket="v2append", key="l", target="a", acl="public-read"))
    assert client.get_object_acl(oss.GetObjectAclRequest(bucket="v2append", key="l")).acl == "public-read"


def test_v2_tags_and_acl_of_a_version(emulator: LiveServer) -> None:
    client = v2_client(emulator)
    client.put_bucket(oss.PutBucketRequest(bucket="v2versions"))
    client.put_bucket_versioning(oss.PutBucketVersioningRequest(
        bucket="v2versions", versioning_configuration=oss.VersioningConfiguration(status="Enabled")))
    old = client.put_object(oss.PutObjectRequest(bucket="v2versions", key="k", body=b"1",
                                                 tagging="a=1")).version_id
    client.put_object(oss.PutObjectRequest(bucket="v2versions", key="k", body=b"2", tagging="a=2"))
    client.put_object_tagging(oss.PutObjectTaggingRequest(
        bucket="v2versions", key="k", version_id=old,
        tagging=oss.Tagging(tag_set=oss.TagSet(tags=[oss.Tag(key="a", value="old")]))))
    got = client.get_object_tagging(oss.GetObjectTaggingRequest(bucket="v2versions", key="k", version_id=old))
    assert [(t.key, t.value) for t in got.tag_set.tags] == [("a", "old")] and got.version_id == old
    current = client.get_object_tagging(oss.GetObjectTaggingRequest(bucket="v2versions", key="k"))
    assert [(t.key, t.value) for t in current.tag_set.tags] == [("a", "2")]
    client.put_object_acl(oss.PutObjectAclRequest(bucket="v2versions", key="k", acl="private",
                                                  version_id=old))
    acl = client.get_object_acl(oss.GetObjectAclRequest(bucket="v2versions", key="k", version_id=old))
    assert acl.acl == "private"
    assert client.get_object_acl(oss.GetObjectAclRequest(bucket="v2versions", key="k")).acl == "default"


@pytest.mark.parametrize(("header", "ec"), [
    ("aa=bb=cc", "0010-00000219"),
    ("&".join(f"k{i}=v" for i in range(11)), "0010-00000217"),
    ("k" * 129 + "=v", "0010-00000209"),
    ("k=" + "v" * 257, "0010-00000217"),
    ("k=a%26b", "0010-00000217"),
    ("k=1&k=2", "0010-00000217"),
])
def test_bad_tagging_header_is_refused_and_stores_nothing(bucket: oss2.Bucket, header: str, ec: str) -> None:
    with pytest.raises(oss2.exceptions.ServerError) as caught:
        bucket.put_object("refused", b"x", headers={"x-oss-tagging": header})
    assert (caught.value.status, caught.value.code) == (400, "InvalidTag")
    assert caught.value.details["EC"] == ec and caught.value.headers["x-oss-ec"] == ec
    assert not bucket.object_exists("refused")


def test_ten_tags_fit_eleven_do_not(bucket: oss2.Bucket) -> None:
    bucket.put_object("k", b"x")
    bucket.put_object_tagging("k", _rule(**{f"k{i}": "v" for i in range(10)}))
    eleven = _rule(**{f"n{i}": "v" for i in range(11)})
    with pytest.raises(oss2.exceptions.ServerError) as caught:
        bucket.put_object_tagging("k", eleven)
    assert caught.value.code == "InvalidTag"
    assert len(_tags(bucket, "k")) == 10  # the refused request changed nothing


@pytest.mark.parametrize("version", ["v1", "v4"])
def test_v2_object_and_bucket_tags(emulator: LiveServer, version: str) -> None:
    client = v2_client(emulator, version)
    client.put_bucket(oss.PutBucketRequest(bucket="tags-v2"))
    client.put_object(oss.PutObjectRequest(bucket="tags-v2", key="k", body=b"x", tagging="a=1&b=2"))
    got = client.get_object_tagging(oss.GetObjectTaggingRequest(bucket="tags-v2", key="k"))
    assert {t.key: t.value for t in got.tag_set.tags} == {"a": "1", "b": "2"}
    head = client.head_object(oss.HeadObjectRequest(bucket="tags-v2", key="k"))
    assert head.tagging_count == 2
    client.put_bucket_tags(oss.PutBucketTagsRequest(bucket="tags-v2", tagging=oss.Tagging(
        tag_set=oss.TagSet(tags=[oss.Tag(key="project", value="媒体"), oss.Tag(key="env", value="")]))))
    got = client.get_bucket_tags(oss.GetBucketTagsRequest(bucket="tags-v2")).tagging
    assert {t.key: t.value or "" for t in got.tag_set.tags} == {"project": "媒体", "env": ""}
    with pytest.raises(oss.exceptions.OperationError) as caught:
        client.put_bucket_tags(oss.PutBucketTagsRequest(bucket="tags-v2", tagging=oss.Tagging(
            tag_set=oss.TagSet(tags=[oss.Tag(key="Aliyun-x", value="1")]))))
    assert caught.value.unwrap().code == "InvalidTag" and caught.value.unwrap().ec == "0010-00000207"
    client.delete_bucket_tags(oss.DeleteBucketTagsRequest(bucket="tags-v2"))
    got = client.get_bucket_tags(oss.GetBucketTagsRequest(bucket="tags-v2")).tagging
    assert got.tag_set.tags in (None, [])


def test_bucket_tags_limit_and_partial_delete(emulator: LiveServer) -> None:
    bucket = oss2_bucket(emulator, "btags")
    bucket.create_bucket()
    bucket.put_bucket_tagging(_rule(**{f"k{i}": str(i) for i in range(20)}))
    with pytest.raises(oss2.exceptions.ServerError) as caught:
        bucket.put_bucket_tagging(_rule(**{f"n{i}": "v" for i in range(21)}))
    assert caught.value.code == "InvalidTag"
    assert len(bucket.get_bucket_tagging().tag_set.tagging_rule) == 20
    bucket.delete_bucket_tagging(params={"tagging": "k0,k1"})
    assert set(bucket.get_bucket_tagging().tag_set.tagging_rule) == {f"k{i}" for i in range(2, 20)}


def test_post_object_form_sets_tags(emulator: LiveServer) -> None:
    bucket = oss2_bucket(emulator, "posted")
    bucket.create_bucket(oss2.BUCKET_ACL_PUBLIC_READ_WRITE)
    form = {"key": "form.txt", "x-oss-tagging": "from=form", "x-oss-object-acl": "private"}
    response = httpx.post(f"{emulator.url}/posted", data=form, files={"file": ("f.txt", b"hello")})
    assert response.status_code == 204
    assert _tags(bucket, "form.txt") == {"from": "form"}
    assert bucket.get_object_acl("form.txt").acl == "private"


def _signed_put_tagging(server: LiveServer, body: bytes) -> httpx.Response:
    date = formatdate(usegmt=True)
    md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
    signature = sign_v1(server.access_key_secret, f"PUT\n{md5}\napplication/xml\n{date}\n/fuzz/k?tagging")
    return httpx.put(f"{server.url}/fuzz/k?tagging", content=body, headers={
        "Date": date, "Content-MD5": md5, "Content-Type": "application/xml",
        "Authorization": f"OSS {server.access_key_id}:{signature}"})


_xml_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(
    st.binary(max_size=200),
    st.builds(lambda k, v: f"<Tagging><TagSet><Tag><Key>{k}</Key><Value>{v}</Value></Tag></TagSet></Tagging>"
              .encode(), _xml_text, _xml_text),
    st.sampled_from([b"<Tagging/>", b"<Tagging><TagSet><Tag><Value>v</Value></Tag></TagSet></Tagging>",
                     b"<Other><TagSet/></Other>", b"<Tagging><TagSet><Bad/></TagSet></Tagging>"])))
def test_malformed_tagging_xml_gets_oss_errors_and_changes_nothing(emulator: LiveServer, body: bytes) -> None:
    bucket = oss2_bucket(emulator, "fuzz")
    bucket.create_bucket()  # idempotent: the examples share one emulator
    if not bucket.object_exists("k"):
        bucket.put_object("k", b"x", headers={"x-oss-tagging": "keep=1"})
    before = _tags(bucket, "k")
    response = _signed_put_tagging(emulator, body)
    if response.status_code == 200:
        assert _tags(bucket, "k") == dict(tagging.check_object_tags(tagging.parse_tagging_xml(body)))
        bucket.put_object_tagging("k", _rule(keep="1"))
        return
    assert response.status_code == 400, response.text
    assert response.headers["x-oss-ec"]
    assert any(f"<Code>{code}</Code>" in response.text for code in ("MalformedXML", "InvalidTag"))
    assert _tags(bucket, "k") == before

