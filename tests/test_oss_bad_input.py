"""Malformed OSS requests get OSS error XML with the real code and status; nothing stored is lost."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import httpx
import oss2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulator.services.oss.model import content_md5
from emulator.testing.server import LiveServer
from tests.oss_clients import oss2_bucket


@pytest.fixture(scope="module")
def open_server() -> Iterator[LiveServer]:
    """Signatures off, so the fuzzer reaches every handler, not just the signature check."""
    with LiveServer(extra_args=["--no-verify-signatures"]) as server:
        bucket = oss2_bucket(server, "keep")
        bucket.create_bucket()
        bucket.put_object("precious.bin", b"do not lose me")
        yield server


def _error_code(response: httpx.Response) -> str:
    assert response.headers["content-type"] == "application/xml"
    assert b"<RequestId>" in response.content and b"<HostId>" in response.content
    return response.text.split("<Code>", 1)[1].split("</Code>", 1)[0]


SUBRESOURCES = ["", "uploads", "uploadId=zzz", "partNumber=0", "delete", "acl", "bucketInfo", "location",
                "objectMeta", "cors", "max-keys=-1", "list-type=2&continuation-token=@@", "encoding-type=x"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(method=st.sampled_from(["GET", "PUT", "POST", "DELETE", "HEAD", "PATCH"]),
       bucket=st.one_of(st.sampled_from(["keep", "missing-bucket", "Bad_Name", "a", "x" * 70]),
                        st.text(max_size=12)),
       key=st.one_of(st.just(""), st.just("precious.bin"), st.text(max_size=40)),
       sub=st.sampled_from(SUBRESOURCES),
       body=st.one_of(st.just(b""), st.binary(max_size=200),
                      st.just(b"<CompleteMultipartUpload><Part><PartNumber>x</PartNumber></Part>"),
                      st.just(b"<Delete><Object><Key>precious.bin"), st.just(b"<?xml version='1.0'?><a/>")),
       headers=st.dictionaries(st.sampled_from(["Range", "Content-MD5", "x-oss-copy-source", "x-oss-acl",
                                                "Content-Type", "x-oss-complete-all", "If-Match"]),
                               st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126),
                                       max_size=30).map(str.strip), max_size=3))
def test_fuzzed_requests_never_break_the_server(open_server: LiveServer, method, bucket, key, sub, body,
                                                headers) -> None:
    if method != "GET" and key == "precious.bin" and bucket == "keep":
        key = "other.bin"  # this test guards precious.bin; writes to it are legitimate requests
    if headers.get("x-oss-copy-source", "").strip("/").startswith("keep"):
        headers.pop("x-oss-copy-source")
    path = "/" + quote(bucket, safe="") + ("/" + quote(key, safe="") if key else "/")
    response = httpx.request(method, open_server.url + path + ("?" + sub if sub else ""),
                             content=body, headers=headers, timeout=10)
    assert response.status_code < 500 or response.status_code == 501, response.text
    if response.status_code >= 400 and method != "HEAD":
        _error_code(response)
    if response.status_code >= 400 and method == "HEAD":
        assert response.headers.get("x-oss-err")
    kept = httpx.get(open_server.url + "/keep/precious.bin")
    assert kept.content == b"do not lose me"


@pytest.mark.parametrize(("method", "path", "headers", "body", "status", "code"), [
    ("PUT", "/Bad_Bucket/", {}, b"", 400, "InvalidBucketName"),
    ("PUT", "/keep/", {}, b"<CreateBucketConfiguration><StorageClass>Gold", 400, "MalformedXML"),
    ("PUT", "/keep/..%2Fetc%2Fpasswd", {}, b"x", 400, "InvalidObjectName"),
    ("PUT", "/keep/a%2F..%2F..%2Fescape", {}, b"x", 400, "InvalidObjectName"),
    ("GET", "/keep/?live", {}, b"", 501, "NotImplemented"),
    ("GET", "/keep/?cors", {}, b"", 404, "NoSuchCORSConfiguration"),
    ("PUT", "/keep/k?partNumber=1&uploadId=nope", {}, b"x", 404, "NoSuchUpload"),
    ("PUT", "/keep/k?partNumber=10001&uploadId=nope", {}, b"x", 400, "InvalidArgument"),
    ("POST", "/keep/k?uploadId=nope", {}, b"<CompleteMultipartUpload/>", 404, "NoSuchUpload"),
    ("PUT", "/keep/k", {"Content-MD5": "1B2M2Y8AsgTpgAmY7PhCfg=="}, b"not empty", 400, "InvalidDigest"),
    ("POST", "/keep/?delete", {"Content-MD5": "x"}, b"<Delete>", 400, "InvalidDigest"),
    ("POST", "/keep/?delete", {"Content-MD5": content_md5(b"<Delete>")}, b"<Delete>", 400, "MalformedXML"),
    ("GET", "/keep/?max-keys=5000", {}, b"", 400, "InvalidArgument"),
    ("PUT", "/keep/k", {"x-oss-copy-source": "/keep/missing"}, b"", 404, "NoSuchKey"),
    ("PATCH", "/keep/k", {}, b"", 405, "MethodNotAllowed"),
])
def test_specific_bad_requests(open_server: LiveServer, method, path, headers, body, status, code) -> None:
    response = httpx.request(method, open_server.url + path, headers=headers, content=body)
    assert response.status_code == status
    assert _error_code(response) == code


def test_missing_content_length(open_server: LiveServer) -> None:
    import socket

    with socket.create_connection(("127.0.0.1", open_server.port)) as sock:
        sock.sendall(b"PUT /keep/nolength HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 411") and b"<Code>MissingContentLength</Code>" in reply


def test_entity_too_large(tmp_path) -> None:
    with LiveServer(env={"EMULATOR_OSS_MAX_OBJECT_SIZE": "1000"}) as server:
        bucket = oss2_bucket(server, "small")
        bucket.create_bucket()
        with pytest.raises(oss2.exceptions.ServerError) as err:
            bucket.put_object("big", b"x" * 1001)
        assert (err.value.status, err.value.code) == (400, "EntityTooLarge")
        with pytest.raises(oss2.exceptions.ServerError) as err:
            bucket.put_object("big", iter([b"x" * 600, b"y" * 600]))  # chunked: refused mid-stream
        assert err.value.code == "EntityTooLarge"
        assert not bucket.object_exists("big")
