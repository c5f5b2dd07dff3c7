"""The OSS verifiers accept the signatures captured from the real SDKs (reference Appendix B)
and refuse them under another secret."""

from __future__ import annotations

import pytest

from emulator.auth.oss import SignedRequest, parse_claim

AK, SECRET = "LTAI5tExampleAccessKey", "ExampleSecretKey1234567890abcd"

VECTORS = [
    ("oss2 V1 PutObject", "PUT", "", "media", "dir/a b.mp4", {
        "x-oss-meta-foo": "bar", "content-type": "video/mp4", "date": "Sat, 21 Nov 2026 21:03:36 GMT",
        "authorization": "OSS LTAI5tExampleAccessKey:0yHuunxPK3p3q6O0BGpoO97QFWs="}),
    ("oss2 V1 ListObjectsV2", "GET", "list-type=2&prefix=dir%2F&delimiter=%2F&continuation-token=&"
     "start-after=&fetch-owner=false&max-keys=10&encoding-type=url", "media", "", {
         "date": "Sat, 21 Nov 2026 21:03:36 GMT",
         "authorization": "OSS LTAI5tExampleAccessKey:JzHMik62Xys/N2zdZaT/WnOKFEk="}),
    ("oss2 V1 Initiate", "POST", "uploads=", "media", "big.mp4", {
        "content-type": "video/mp4", "date": "Sat, 21 Nov 2026 21:03:36 GMT",
        "authorization": "OSS LTAI5tExampleAccessKey:XMKSioFRJA8/DvLWA4QAsa5IHUE="}),
    ("oss2 V1 presigned GET", "GET", "OSSAccessKeyId=LTAI5tExampleAccessKey&Expires=1795298616&"
     "Signature=Xd73GSH3DRVsU55pMJZzNLrdk6c%3D", "media", "dir/a b.mp4", {}),
    ("oss2 V4 PutObject", "PUT", "", "media", "dir/a b.mp4", {
        "x-oss-meta-foo": "bar", "content-type": "video/mp4", "x-oss-date": "20261121T210336Z",
        "x-oss-content-sha256": "UNSIGNED-PAYLOAD",
        "authorization": "OSS4-HMAC-SHA256 Credential=LTAI5tExampleAccessKey/20261121/cn-hangzhou/oss/"
                         "aliyun_v4_request, Signature=1f524d9df59616e9e0faa611f1044dd3653c2f6bfd02e2fb15"
                         "194ed37b46f322"}),
    ("oss2 V4 presigned GET", "GET", "x-oss-date=20261121T210336Z&x-oss-expires=3600&"
     "x-oss-signature-version=OSS4-HMAC-SHA256&x-oss-credential=LTAI5tExampleAccessKey%2F20261121%2F"
     "cn-hangzhou%2Foss%2Faliyun_v4_request&x-oss-signature=e528cc1deedde53bf98c28f0b411638e89a4ef8ad7df3"
     "b9fb7f8a3283f110d25", "media", "dir/a b.mp4", {}),
    ("v2 V4 ListObjectsV2", "GET", "encoding-type=url&list-type=2&delimiter=%2F&prefix=dir%2F", "media",
     "", {"content-type": "application/octet-stream", "content-md5": "1B2M2Y8AsgTpgAmY7PhCfg==",
          "x-oss-date": "20261121T210336Z", "date": "Sat, 21 Nov 2026 21:03:36 GMT",
          "x-oss-content-sha256": "UNSIGNED-PAYLOAD",
          "authorization": "OSS4-HMAC-SHA256 Credential=LTAI5tExampleAccessKey/20261121/cn-hangzhou/oss/"
                           "aliyun_v4_request,Signature=ff9c560bdb4b0ef91ad834e80d4516f03594fedb6a23075a171"
                           "c1716da942a36"}),
    ("v2 V4 PutObject", "PUT", "", "media", "dir/a b.mp4", {
        "content-type": "video/mp4", "x-oss-date": "20261121T210336Z",
        "date": "Sat, 21 Nov 2026 21:03:36 GMT", "x-oss-content-sha256": "UNSIGNED-PAYLOAD",
        "authorization": "OSS4-HMAC-SHA256 Credential=LTAI5tExampleAccessKey/20261121/cn-hangzhou/oss/"
                         "aliyun_v4_request,Signature=848458dbb35e052e2a6718c563a0ba2aa289cadaef9188dc5359"
                         "2672a14742b6"}),
    ("v2 V4 presigned GET", "GET", "x-oss-signature-version=OSS4-HMAC-SHA256&x-oss-date=20261121T210336Z&"
     "x-oss-expires=3599&x-oss-credential=LTAI5tExampleAccessKey%2F20261121%2Fcn-hangzhou%2Foss%2F"
     "aliyun_v4_request&x-oss-signature=3ca22c31ce8972344bd7b73039fc6eee825f7a8a5c916f62db42c8e5cee888da",
     "media", "dir/a b.mp4", {}),
]


@pytest.mark.parametrize(("name", "method", "query", "bucket", "key", "headers"), VECTORS,
                         ids=[v[0] for v in VECTORS])
def test_captured_signature_verifies(name, method, query, bucket, key, headers) -> None:
    claim = parse_claim(SignedRequest(method, query, headers, bucket, key))
    assert claim is not None and claim.access_key_id == AK
    assert claim.verify(SECRET)
    assert not claim.verify(SECRET + "x")


def test_tampered_key_fails() -> None:
    _, method, query, bucket, _, headers = VECTORS[0]
    claim = parse_claim(SignedRequest(method, query, headers, bucket, "dir/other.mp4"))
    assert claim is not None and not claim.verify(SECRET)


def test_presigned_expiry_is_reported() -> None:
    claim = parse_claim(SignedRequest("GET", VECTORS[5][2], {}, "media", "dir/a b.mp4"))
    assert claim is not None and claim.expires_at is not None
    # x-oss-date 2026-11-21T21:03:36Z plus 3600 s
    assert claim.expires_at == 1795295016 + 3600
