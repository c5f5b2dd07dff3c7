"""Bucket configurations, object ACLs, sub-resource recognition, DescribeRegions, error precedence and
the EC of errors, through oss2 (V1, V4) and alibabacloud-oss-v2 against a live emulator."""

from __future__ import annotations

import json

import alibabacloud_oss_v2 as oss
import httpx
import oss2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulator.services.oss import cors, subresources
from emulator.services.oss.routes import SERVED
from emulator.testing.server import LiveServer
from tests.oss_clients import oss2_bucket, v2_client


@pytest.fixture(params=["v1", "v4"])
def bucket(request, emulator: LiveServer) -> oss2.Bucket:
    bucket = oss2_bucket(emulator, "conf", request.param)
    bucket.create_bucket()
    return bucket


# ---- sub-resources -------------------------------------------------------------------------


def test_every_unserved_sub_resource_is_refused_not_taken_for_a_plain_operation(
        emulator: LiveServer) -> None:
    bucket = oss2_bucket(emulator, "conf")
    bucket.create_bucket()
    unserved = sorted(subresources.KNOWN - SERVED)
    assert {"live", "worm", "replication", "inventory"} <= set(unserved)
    for sub in unserved:
        for method, key in (("PUT", "ch"), ("GET", ""), ("POST", "ch"), ("DELETE", "ch")):
            with pytest.raises(oss2.exceptions.ServerError) as caught:
                bucket._do(method, "conf", key, data=b"<LiveChannelConfiguration/>", params={sub: ""})
            assert (caught.value.status, caught.value.code) == (501, "NotImplemented"), (method, sub)
    assert not bucket.object_exists("ch")
    assert [o.key for o in oss2.ObjectIterator(bucket)] == []


def test_live_channel_is_not_an_object_and_regions_are_not_buckets(emulator: LiveServer,
                                                                   bucket: oss2.Bucket) -> None:
    bucket.put_object("seen", b"x")
    with pytest.raises(oss2.exceptions.ServerError) as caught:
        bucket._do("GET", "conf", "", params={"live": ""})
    assert caught.value.status == 501
    auth = oss2.Auth(emulator.access_key_id, emulator.access_key_secret)
    regions = oss2.Service(auth, emulator.url).describe_regions().regions
    assert "oss-cn-hangzhou" in [r.region for r in regions]
    one = oss2.Service(auth, emulator.url).describe_regions("oss-cn-shanghai").regions
    assert [(r.region, r.internet_endpoint) for r in one] == [
        ("oss-cn-shanghai", "oss-cn-shanghai.aliyuncs.com")]
    with pytest.raises(oss2.exceptions.ServerError) as caught:
        oss2.Service(auth, emulator.url).describe_regions("oss-mars-1")
    assert (caught.value.status, caught.value.code) == (404, "NoSuchRegion")


@pytest.mark.parametrize("version", ["v1", "v4"])
def test_v2_describe_regions_and_account_public_access_block(emulator: LiveServer, version: str) -> None:
    client = v2_client(emulator, version)
    regions = client.describe_regions(oss.DescribeRegionsRequest(regions="oss-cn-beijing")).region_info
    assert [r.internal_endpoint for r in regions] == ["oss-cn-beijing-internal.aliyuncs.com"]
    client.put_public_access_block(oss.PutPublicAccessBlockRequest(
        public_access_block_configuration=oss.PublicAccessBlockConfiguration(block_public_access=True)))
    got = client.get_public_access_block(oss.GetPublicAccessBlockRequest())
    assert got.public_access_block_configuration.block_public_access is True
    client.list_buckets(oss.ListBucketsRequest())  # PUT ?publicAccessBlock did not create a bucket
    assert client.list_buckets(oss.ListBucketsRequest()).buckets in (None, [])
    client.delete_public_access_block(oss.DeletePublicAccessBlockRequest())
    got = client.get_public_access_block(oss.GetPublicAccessBlockRequest())
    assert got.public_access_block_configuration.block_public_access is False


# ---- CORS ---------------------------------------------------------------------------------


def _cors_rule(**kw) -> oss2.models.CorsRule:
    return oss2.models.CorsRule(allowed_origins=kw.get("origins", ["http://app.example"]),
                                allowed_methods=kw.get("methods", ["GET", "PUT"]),
                                allowed_headers=kw.get("headers", ["x-oss-*", "content-type"]),
                                expose_headers=kw.get("expose", ["ETag", "x-oss-request-id"]),
                                max_age_seconds=kw.get("max_age", 600))


def test_cors_configuration_round_trip_and_errors(bucket: oss2.Bucket) -> None:
    with pytest.raises(oss2.exceptions.NoSuchCors):
        bucket.get_bucket_cors()
    bucket.put_bucket_cors(oss2.models.BucketCors([_cors_rule(), _cors_rule(origins=["*"], methods=["GET"])]))
    rules = bucket.get_bucket_cors().rules
    expose = ["ETag", "x-oss-request-id"]
    assert [(r.allowed_origins, r.allowed_methods, r.expose_headers, r.max_age_seconds) for r in rules] == [
        (["http://app.example"], ["GET", "PUT"], expose, 600), (["*"], ["GET"], expose, 600)]
    with pytest.raises(oss2.exceptions.InvalidArgument):
        bucket.put_bucket_cors(oss2.models.BucketCors([_cors_rule(methods=["PATCH"])]))
    with pytest.raises(oss2.exceptions.InvalidArgument):
        bucket.put_bucket_cors(oss2.models.BucketCors([_cors_rule() for _ in range(11)]))
    assert len(bucket.get_bucket_cors().rules) == 2  # refused configurations changed nothing
    bucket.delete_bucket_cors()
    with pytest.raises(oss2.exceptions.NoSuchCors):
        bucket.get_bucket_cors()


def test_preflight_and_cors_headers_on_ordinary_responses(emulator: LiveServer, bucket: oss2.Bucket) -> None:
    url = f"{emulator.url}/conf/up.bin"
    preflight = {"Origin": "http://app.example", "Access-Control-Request-Method": "PUT",
                 "Access-Control-Request-Headers": "content-type, x-oss-meta-a"}
    refused = httpx.options(url, headers=preflight)
    assert refused.status_code == 403 and "<Code>AccessForbidden</Code>" in refused.text  # no CORS yet
    bucket.put_bucket_cors(oss2.models.BucketCors([_cors_rule()]))
    allowed = httpx.options(url, headers=preflight)
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "http://app.example"
    assert "PUT" in allowed.headers["access-control-allow-methods"]
    assert allowed.headers["access-control-allow-headers"] == "content-type, x-oss-meta-a"
    assert allowed.headers["access-control-max-age"] == "600"
    for changed in ({"Origin": "http://evil.example"}, {"Access-Control-Request-Method": "DELETE"},
                    {"Access-Control-Request-Headers": "authorization"}):
        assert httpx.options(url, headers={**preflight, **changed}).status_code == 403
    bucket.put_object("up.bin", b"x")
    signed = bucket.sign_url("GET", "up.bin", 60)
    got = httpx.get(signed, headers={"Origin": "http://app.example"})
    assert got.headers["access-control-allow-origin"] == "http://app.example"
    assert "ETag" in got.headers["access-control-expose-headers"]
    missing = httpx.get(bucket.sign_url("GET", "missing.bin", 60), headers={"Origin": "http://app.example"})
    assert missing.status_code == 404 and missing.headers["access-control-allow-origin"] == "http://app.example"
    other = httpx.get(signed, headers={"Origin": "http://evil.example"})
    assert other.status_code == 200 and "access-control-allow-origin" not in other.headers


@pytest.mark.parametrize("version", ["v1", "v4"])
def test_v2_cors_and_option_object(emulator: LiveServer, version: str) -> None:
    client = v2_client(emulator, version)
    client.put_bucket(oss.PutBucketRequest(bucket="cors-v2"))
    configuration = oss.CORSConfiguration(cors_rules=[oss.CORSRule(
        allowed_origins=["https://*.example.com"], allowed_methods=["POST"], allowed_headers=["*"])],
        response_vary=True)
    client.put_bucket_cors(oss.PutBucketCorsRequest(bucket="cors-v2", cors_configuration=configuration))
    got = client.get_bucket_cors(oss.GetBucketCorsRequest(bucket="cors-v2")).cors_configuration
    assert got.cors_rules[0].allowed_origins == ["https://*.example.com"] and got.response_vary is True
    answer = client.option_object(oss.OptionObjectRequest(
        bucket="cors-v2", key="k", origin="https://www.example.com", access_control_request_method="POST",
        access_control_request_headers="x-anything"))
    assert answer.access_control_allow_origin == "https://www.example.com"
    with pytest.raises(oss.exceptions.OperationError) as caught:
        client.option_object(oss.OptionObjectRequest(bucket="cors-v2", key="k", origin="https://example.org",
                                                     access_control_request_method="POST"))
    assert caught.value.unwrap().status_code == 403


_cors_text = st.text(st.sampled_from("GETPUTSO*-x.:/<>&h"), max_size=12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(
    st.binary(max_size=120),
    st.builds(lambda o, m, h, a: (f"<CORSConfiguration><CORSRule><AllowedOrigin>{o}</AllowedOrigin>"
                                  f"<AllowedMethod>{m}</AllowedMethod><AllowedHeader>{h}</AllowedHeader>"
                                  f"<MaxAgeSeconds>{a}</MaxAgeSeconds></CORSRule></CORSConfiguration>").encode(),
              _cors_text, _cors_text, _cors_text, _cors_text)))
def test_malformed_cors_xml_gets_oss_errors_and_changes_nothing(emulator: LiveServer, body: bytes) -> None:
    bucket = oss2_bucket(emulator, "fuzz-cors")
    bucket.create_bucket()
    bucket.put_bucket_cors(oss2.models.BucketCors([_cors_rule()]))
    try:
        bucket._do("PUT", "fuzz-cors", "", data=body, params={"cors": ""})
    except oss2.exceptions.ServerError as err:
        assert err.status == 400 and err.code in ("MalformedXML", "InvalidArgument"), err
        assert err.details["EC"] and err.headers["x-oss-ec"] == err.details["EC"]
        assert bucket.get_bucket_cors().rules[0].allowed_origins == ["http://app.example"]
    else:
        stored = cors.parse_cors_xml(body)  # accepted: it must be a configuration OSS accepts too
        assert len(bucket.get_bucket_cors().rules) == len(stored["rules"])


# ---- object ACL, Block Public Access, referer ----------------------------------------------


def test_object_acl_overrides_the_bucket_acl_for_anonymous_readers(emulator: LiveServer,
                                                                   bucket: oss2.Bucket) -> None:
    bucket.put_object("open", b"public", headers={"x-oss-object-acl": "public-read"})
    bucket.put_object("closed", b"private")
    anonymous = oss2.Bucket(oss2.AnonymousAuth(), emulator.url, "conf")
    assert anonymous.get_object("open").read() == b"public"
    with pytest.raises(oss2.exceptions.AccessDenied):
        anonymous.get_object("closed")
    assert bucket.get_object_acl("open").acl == "public-read"
    assert bucket.get_object_acl("closed").acl == "default"
    bucket.put_bucket_acl(oss2.BUCKET_ACL_PUBLIC_READ)
    assert anonymous.get_object("closed").read() == b"private"  # default inherits the bucket
    bucket.put_object_acl("closed", oss2.OBJECT_ACL_PRIVATE)
    with pytest.raises(oss2.exceptions.AccessDenied):
        anonymous.get_object("closed")
    with pytest.raises(oss2.exceptions.AccessDenied):
        anonymous.put_object_acl("open", oss2.OBJECT_ACL_PUBLIC_READ_WRITE)
    with pytest.raises(oss2.exceptions.InvalidArgument):
        bucket.put_object_acl("open", "world-writable")
    assert bucket.get_object_acl("open").acl == "public-read"
    bucket.put_object_acl("open", oss2.OBJECT_ACL_PUBLIC_READ_WRITE)
    anonymous.put_object("open", b"overwritten")
    assert bucket.get_object("open").read() == b"overwritten"
    bucket.copy_object("conf", "closed", "copy", headers={"x-oss-object-acl": "public-read"})
    assert anonymous.get_object("copy").read() == b"private"


@pytest.mark.parametrize("version", ["v1", "v4"])
def test_v2_object_acl(emulator: LiveServer, version: str) -> None:
    client = v2_client(emulator, version)
    client.put_bucket(oss.PutBucketRequest(bucket="acl-v2"))
    client.put_object(oss.PutObjectRequest(bucket="acl-v2", key="k", body=b"x", acl="public-read"))
    assert client.get_object_acl(oss.GetObjectAclRequest(bucket="acl-v2", key="k")).acl == "public-read"
    client.put_object_acl(oss.PutObjectAclRequest(bucket="acl-v2", key="k", acl="private"))
    assert client.get_object_acl(oss.GetObjectAclRequest(bucket="acl-v2", key="k")).acl == "private"
    assert httpx.get(f"{emulator.url}/acl-v2/k").status_code == 403


def test_block_public_access_overrides_public_acls(emulator: LiveServer, bucket: oss2.Bucket) -> None:
    bucket.put_object("open", b"x", headers={"x-oss-object-acl": "public-read"})
    assert httpx.get(f"{emulator.url}/conf/open").status_code == 200
    bucket.put_bucket_public_access_block(True)
    assert bucket.get_bucket_public_access_block().block_public_access is True
    assert httpx.get(f"{emulator.url}/conf/open").status_code == 403
    for grant in (lambda: bucket.put_bucket_acl(oss2.BUCKET_ACL_PUBLIC_READ),
                  lambda: bucket.put_object_acl("open", oss2.OBJECT_ACL_PUBLIC_READ_WRITE),
                  lambda: bucket.put_object("new", b"x", headers={"x-oss-object-acl": "public-read"}),
                  lambda: bucket.put_bucket_policy(json.dumps({"Version": "1", "Statement": [
                      {"Effect": "Allow", "Action": ["oss:GetObject"], "Principal": ["*"]}]}))):
        with pytest.raises(oss2.exceptions.AccessDenied):  # no new public grant while blocked
            grant()
    assert bucket.get_bucket_acl().acl == "private" and not bucket.object_exists("new")
    assert bucket.get_object_acl("open").acl == "public-read"
    bucket.delete_bucket_public_access_block()
    assert httpx.get(f"{emulator.url}/conf/open").status_code == 200


def test_referer_rules_for_browser_access(emulator: LiveServer, bucket: oss2.Bucket) -> None:
    bucket.put_object("img.png", b"png", headers={"x-oss-object-acl": "public-read"})
    bucket.put_bucket_referer(oss2.models.BucketReferer(False, ["https://*.example.com/*"],
                                                        black_referers=["https://bad.example.com*"]))
    got = bucket.get_bucket_referer()
    assert got.allow_empty_referer is False and got.referers == ["https://*.example.com/*"]
    url = f"{emulator.url}/conf/img.png"
    assert httpx.get(url, headers={"Referer": "https://www.example.com/page?x=1"}).status_code == 200
    denied = httpx.get(url, headers={"Referer": "https://bad.example.com/page"})
    assert denied.status_code == 403 and "referer" in denied.text
    assert httpx.get(url, headers={"Referer": "https://other.org/"}).status_code == 403
    assert httpx.get(url).status_code == 403  # empty referer not allowed
    presigned = bucket.sign_url("GET", "img.png", 60)
    assert httpx.get(presigned, headers={"Referer": "https://other.org/"}).status_code == 403
    assert bucket.get_object("img.png").read() == b"png"  # header-signed requests are not checked
    with pytest.raises(oss2.exceptions.ServerError) as caught:
        bucket._do("PUT", "conf", "", data=b"<RefererConfiguration><RefererList/></RefererConfiguration>",
                   params={"referer": ""})
    assert caught.value.code == "MalformedXML"
    assert bucket.get_bucket_referer().referers == ["https://*.example.com/*"]


# ---- policy, logging, website, encryption --------------------------------------------------


def test_policy_logging_website_encryption_round_trip(bucket: oss2.Bucket, emulator: LiveServer) -> None:
    with pytest.raises(oss2.exceptions.ServerError) as caught:
        bucket.get_bucket_policy()
    assert (caught.value.status, caught.value.code) == (404, "NoSuchBucketPolicy")
    policy = json.dumps({"Version": "1", "Statement": [{
        "Effect": "Allow", "Action": ["oss:GetObject"], "Principal": ["*"],
        "Resource": ["acs:oss:*:*:conf/*"]}]})
    bucket.put_bucket_policy(policy)
    assert json.loads(bucket.get_bucket_policy().policy) == json.loads(policy)
    with pytest.raises(oss2.exceptions.ServerError) as caught:
        bucket.put_bucket_policy("{not json")
    assert (caught.value.status, caught.value.code) == (400, "InvalidPolicyDocument")
    bucket.delete_bucket_policy()

    oss2_bucket(emulator, "conf-logs").create_bucket()
    assert bucket.get_bucket_logging().target_bucket in (None, "")
    bucket.put_bucket_logging(oss2.models.BucketLogging("conf-logs", "access/"))
    got = bucket.get_bucket_logging()
    assert (got.target_bucket, got.target_prefix) == ("conf-logs", "access/")
    with pytest.raises(oss2.exceptions.ServerError) as caught:
        bucket.put_bucket_logging(oss2.models.BucketLogging("no-such-logs", "x/"))
    assert caught.value.code == "InvalidTargetBucketForLogging"
    info = v2_client(emulator).get_bucket_info(oss.GetBucketInfoRequest(bucket="conf")).bucket_info
    assert (info.bucket_policy.log_bucket, info.bucket_policy.log_prefix) == ("conf-logs", "access/")
    assert bucket.get_bucket_info().data_redundancy_type == "LRS"

    with pytest.raises(oss2.exceptions.NoSuchWebsite):
        bucket.get_bucket_website()
    bucket.put_bucket_website(oss2.models.BucketWebsite("index.html", "error.html"))
    got = bucket.get_bucket_website()
    assert (got.index_file, got.error_file) == ("index.html", "error.html")
    bucket.delete_bucket_website()

    with pytest.raises(oss2.exceptions.NoSuchServerSideEncryptionRule):
        bucket.get_bucket_encryption()
    bucket.put_bucket_encryption(oss2.models.ServerSideEncryptionRule("KMS", "key-1"))
    rule = bucket.get_bucket_encryption()
    assert (rule.sse_algorithm, rule.kms_master_keyid) == ("KMS", "key-1")
    with pytest.raises(oss2.exceptions.ServerError) as caught:
        bucket.put_bucket_encryption(oss2.models.ServerSideEncryptionRule("ROT13"))
    assert (caught.value.status, caught.value.code) == (400, "InvalidEncryptionAlgorithmError")
    assert bucket.get_bucket_info().bucket_encryption_rule.sse_algorithm == "KMS"


@pytest.mark.parametrize("version", ["v1", "v4"])
def test_v2_referer_policy_status_and_bucket_info(emulator: LiveServer, version: str) -> None:
    client = v2_client(emulator, version)
    client.put_bucket(oss.PutBucketRequest(bucket="info-v2"))
    configuration = oss.RefererConfiguration(
        allow_empty_referer=True, allow_truncate_query_string=False, truncate_path=True,
        referer_list=oss.RefererList(referers=["http://a.example"]))
    client.put_bucket_referer(oss.PutBucketRefererRequest(bucket="info-v2",
                                                          referer_configuration=configuration))
    got = client.get_bucket_referer(oss.GetBucketRefererRequest(bucket="info-v2")).referer_configuration
    assert got.allow_empty_referer is True and got.truncate_path is True
    assert got.referer_list.referers == ["http://a.example"]
    client.put_object(oss.PutObjectRequest(bucket="info-v2", key="k", body=b"x", acl="public-read"))
    url = f"{emulator.url}/info-v2/k"
    assert httpx.get(url, headers={"Referer": "http://a.example/deep/page.html"}).status_code == 200
    assert httpx.get(url, headers={"Referer": "http://b.example/deep/page.html"}).status_code == 403
    assert httpx.get(url).status_code == 200  # empty referer allowed here
    client.put_bucket_policy(oss.PutBucketPolicyRequest(bucket="info-v2", body=json.dumps(
        {"Version": "1", "Statement": [{"Effect": "Allow", "Action": ["oss:GetObject"], "Principal": ["*"],
                                        "Resource": ["acs:oss:*:*:info-v2/*"]}]})))
    status = client.get_bucket_policy_status(oss.GetBucketPolicyStatusRequest(bucket="info-v2"))
    assert status.policy_status.is_public is True
    info = client.get_bucket_info(oss.GetBucketInfoRequest(bucket="info-v2")).bucket_info
    assert (info.data_redundancy_type, info.resource_group_id, info.comment, info.block_public_access,
            info.access_monitor, info.cross_region_replication, info.transfer_acceleration) == (
        "LRS", "rg-default", None, False, "Disabled", "Disabled", "Disabled")
    listed = client.list_buckets(oss.ListBucketsRequest()).buckets
    assert [(b.name, b.resource_group_id) for b in listed] == [("info-v2", "rg-default")]


# ---- error precedence and EC ---------------------------------------------------------------


def test_missing_bucket_comes_before_the_caller_check(emulator: LiveServer) -> None:
    bad = oss2_bucket(emulator, "nowhere", access_key_id="LTAI-unknown", secret="nope")
    with pytest.raises(oss2.exceptions.NoSuchBucket):
        bad.get_bucket_info()
    wrong_secret = oss2_bucket(emulator, "nowhere", secret="wrong")
    with pytest.raises(oss2.exceptions.NoSuchBucket):
        wrong_secret.get_object("k")
    oss2_bucket(emulator, "somewhere").create_bucket()
    with pytest.raises(oss2.exceptions.ServerError) as caught:
        oss2_bucket(emulator, "somewhere", access_key_id="LTAI-unknown", secret="nope").get_bucket_info()
    assert (caught.value.status, caught.value.code) == (403, "InvalidAccessKeyId")
    with pytest.raises(oss2.exceptions.NoSuchBucket):
        oss2.Bucket(oss2.AnonymousAuth(), emulator.url, "nowhere").get_object("k")
    form = {"key": "k", "OSSAccessKeyId": "LTAI-unknown", "policy": "e30=", "Signature": "x"}
    posted = httpx.post(f"{emulator.url}/nowhere", data=form, files={"file": ("f", b"x")})
    assert (posted.status_code, posted.headers["x-oss-ec"]) == (404, "0015-00000101")

    cfg = oss.config.load_default()
    cfg.credentials_provider = oss.credentials.StaticCredentialsProvider("LTAI-unknown", "nope")
    cfg.region, cfg.endpoint = "cn-hangzhou", emulator.url
    client = oss.Client(cfg)
    assert client.is_bucket_exist("nowhere") is False
    assert client.is_bucket_exist("somewhere") is True


def test_a_bad_key_never_reveals_another_namespace_bucket(emulator: LiveServer) -> None:
    team = emulator.create_namespace("team-a")
    bucket = oss2.Bucket(oss2.Auth(team.access_key_id, team.access_key_secret), emulator.url, "team-only")
    bucket.create_bucket()
    with pytest.raises(oss2.exceptions.NoSuchBucket):
        oss2_bucket(emulator, "team-only", access_key_id="LTAI-unknown", secret="nope").get_bucket_info()


def test_every_error_carries_its_ec(emulator: LiveServer, bucket: oss2.Bucket) -> None:
    with pytest.raises(oss2.exceptions.NoSuchKey) as caught:
        bucket.get_object("missing")
    assert caught.value.details["EC"] == "0026-00000001" == caught.value.headers["x-oss-ec"]
    with pytest.raises(oss2.exceptions.NotFound) as caught:
        bucket.head_object("missing")  # HEAD: no body, the EC in x-oss-ec and x-oss-err
    assert caught.value.headers["x-oss-ec"] == "0026-00000001"
    client = v2_client(emulator)
    with pytest.raises(oss.exceptions.OperationError) as caught:
        client.get_bucket_info(oss.GetBucketInfoRequest(bucket="absent-bucket"))
    assert caught.value.unwrap().ec == "0015-00000101"


# ---- restart -------------------------------------------------------------------------------


def test_configurations_survive_a_restart(tmp_path) -> None:
    with LiveServer(data_dir=tmp_path) as server:
        bucket = oss2_bucket(server, "durable")
        bucket.create_bucket()
        bucket.put_object("k", b"x", headers={"x-oss-tagging": "a=1", "x-oss-object-acl": "public-read"})
        bucket.put_bucket_cors(oss2.models.BucketCors([_cors_rule()]))
        bucket.put_bucket_referer(oss2.models.BucketReferer(True, ["http://a.example"]))
        bucket.put_bucket_website(oss2.models.BucketWebsite("index.html", "404.html"))
        bucket.put_bucket_encryption(oss2.models.ServerSideEncryptionRule("AES256"))
        bucket.put_bucket_tagging(oss2.models.Tagging(_tagging_rule(env="prod")))
        bucket.put_bucket_public_access_block(True)
    with LiveServer(data_dir=tmp_path) as server:
        bucket = oss2_bucket(server, "durable")
        assert bucket.get_object_tagging("k").tag_set.tagging_rule == {"a": "1"}
        assert bucket.get_object_acl("k").acl == "public-read"
        assert bucket.get_bucket_cors().rules[0].allowed_origins == ["http://app.example"]
        assert bucket.get_bucket_referer().referers == ["http://a.example"]
        assert bucket.get_bucket_website().error_file == "404.html"
        assert bucket.get_bucket_encryption().sse_algorithm == "AES256"
        assert bucket.get_bucket_tagging().tag_set.tagging_rule == {"env": "prod"}
        assert bucket.get_bucket_public_access_block().block_public_access is True
        bucket.delete_object("k")
        bucket.delete_bucket()
        bucket.create_bucket()  # a deleted bucket takes its configurations with it
        with pytest.raises(oss2.exceptions.NoSuchCors):
            bucket.get_bucket_cors()


def _tagging_rule(**tags: str) -> oss2.models.TaggingRule:
    rule = oss2.models.TaggingRule()
    for k, v in tags.items():
        rule.add(k, v)
    return rule
