"""Upload callbacks (x-oss-callback) through oss2 and alibabacloud-oss-v2 against a live emulator
and a callback server on a free loopback port."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote

import alibabacloud_oss_v2 as oss
import httpx
import oss2
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from PIL import Image

from emulator.services.oss import callback
from emulator.testing.server import LiveServer
from tests.oss_clients import oss2_bucket, v2_client

FORM_BODY = ("bucket=${bucket}&object=${object}&etag=${etag}&size=${size}&mimeType=${mimeType}"
             "&note=${x:note}&md5=${contentMd5}")


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class CallbackServer:
    """An application server that records each callback and answers `status` / `answer`."""

    url: str
    received: list[Received] = field(default_factory=list)
    status: int = 200
    answer: bytes = b'{"Status":"OK"}'


@pytest.fixture
def app_server() -> Iterator[CallbackServer]:
    state = CallbackServer("")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(state.answer)))
            self.end_headers()
            self.wfile.write(state.answer)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/notify?from=oss"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def _b64json(value: dict) -> str:
    return base64.b64encode(json.dumps(value).encode()).decode()


def _headers(url: str, body: str = FORM_BODY, body_type: str | None = None, **extra: str) -> dict[str, str]:
    spec = {"callbackUrl": url, "callbackBody": body, **extra}
    if body_type:
        spec["callbackBodyType"] = body_type
    return {"x-oss-callback": _b64json(spec), "x-oss-callback-var": _b64json({"x:note": "a b&c"})}


def _verify_signature(got: Received) -> None:
    """As the documented sample server does: fetch the key x-oss-pub-key-url names, check the
    RSA-MD5 signature over the decoded path, the query and the body."""
    key_url = base64.b64decode(got.headers["x-oss-pub-key-url"]).decode()
    key = serialization.load_pem_public_key(httpx.get(key_url).content)
    path, _, query = got.path.partition("?")
    signed = unquote(path).encode() + (b"?" + query.encode() if query else b"") + b"\n" + got.body
    key.verify(base64.b64decode(got.headers["authorization"]), signed, padding.PKCS1v15(), hashes.MD5())


@pytest.fixture
def bucket(emulator: LiveServer) -> oss2.Bucket:
    b = oss2_bucket(emulator, "media")
    b.create_bucket()
    return b


def test_put_object_calls_back_with_the_documented_form_body(bucket: oss2.Bucket, app_server) -> None:
    data = b"video bytes"
    result = bucket.put_object("dir/clip 1.mp4", data, headers={
        **_headers(app_server.url), "Content-Type": "video/mp4"})
    assert result.status == 200 and result.resp.read() == b'{"Status":"OK"}'
    [got] = app_server.received
    assert got.path == "/notify?from=oss"
    assert got.headers["content-type"] == "application/x-www-form-urlencoded"
    fields = {k: v[0] for k, v in parse_qs(got.body.decode()).items()}
    md5 = hashlib.md5(data)
    assert fields == {"bucket": "media", "object": "dir/clip 1.mp4", "etag": md5.hexdigest().upper(),
                      "size": str(len(data)), "mimeType": "video/mp4", "note": "a b&c",
                      "md5": base64.b64encode(md5.digest()).decode()}
    _verify_signature(got)
    assert bucket.get_object("dir/clip 1.mp4").read() == data


def test_v2_put_and_complete_with_a_json_body(emulator: LiveServer, bucket, app_server) -> None:
    client = v2_client(emulator)
    template = '{"object":"${object}","size":${size},"note":"${x:note}"}'
    spec = _headers(app_server.url, template, "application/json")
    app_server.answer = b'{"accepted":true}'
    put = client.put_object(oss.PutObjectRequest(bucket="media", key='say "hi".txt', body=b"hello",
                                                 callback=spec["x-oss-callback"],
                                                 callback_var=spec["x-oss-callback-var"]))
    assert put.status_code == 200 and json.loads(put.callback_result) == {"accepted": True}
    assert json.loads(app_server.received[0].body) == {"object": 'say "hi".txt', "size": 5, "note": "a b&c"}
    assert app_server.received[0].headers["content-type"] == "application/json"

    upload = client.initiate_multipart_upload(
        oss.InitiateMultipartUploadRequest(bucket="media", key="big.bin"))
    part = client.upload_part(oss.UploadPartRequest(bucket="media", key="big.bin", upload_id=upload.upload_id,
                                                    part_number=1, body=b"part-one"))
    done = client.complete_multipart_upload(oss.CompleteMultipartUploadRequest(
        bucket="media", key="big.bin", upload_id=upload.upload_id,
        complete_multipart_upload=oss.CompleteMultipartUpload(
            parts=[oss.UploadPart(part_number=1, etag=part.etag)]),
        callback=spec["x-oss-callback"], callback_var=spec["x-oss-callback-var"]))
    assert json.loads(done.callback_result) == {"accepted": True}
    assert json.loads(app_server.received[1].body) == {"object": "big.bin", "size": 8, "note": "a b&c"}
    _verify_signature(app_server.received[1])
    assert bucket.get_object("big.bin").read() == b"part-one"


def test_oss2_complete_multipart_upload_calls_back(bucket: oss2.Bucket, app_server) -> None:
    upload_id = bucket.init_multipart_upload("m.bin").upload_id
    part = bucket.upload_part("m.bin", upload_id, 1, b"abc")
    result = bucket.complete_multipart_upload("m.bin", upload_id, [oss2.models.PartInfo(1, part.etag)],
                                              headers=_headers(app_server.url, "etag=${etag}&o=${object}"))
    assert result.status == 200 and result.resp.read() == b'{"Status":"OK"}'
    body = parse_qs(app_server.received[0].body.decode())
    assert body["o"] == ["m.bin"] and body["etag"][0].endswith("-1")


@pytest.mark.parametrize("status, answer, message", [
    (500, b'{"x":1}', b"Error status : 500."),
    (200, b"not json", b"Response body is not valid json format."),
])
def test_a_failed_callback_answers_203_and_keeps_the_object(emulator: LiveServer, bucket, app_server,
                                                             status, answer, message) -> None:
    app_server.status, app_server.answer = status, answer
    result = bucket.put_object("kept.txt", b"stored anyway", headers=_headers(app_server.url))
    body = result.resp.read()
    assert result.status == 203 and b"<Code>CallbackFailed</Code>" in body and message in body
    ec = result.headers["x-oss-ec"]  # like every OSS error
    assert f"<EC>{ec}</EC>".encode() in body
    assert result.etag == hashlib.md5(b"stored anyway").hexdigest().upper()
    assert bucket.get_object("kept.txt").read() == b"stored anyway"
    put = v2_client(emulator).put_object(oss.PutObjectRequest(
        bucket="media", key="kept2.txt", body=b"v2", callback=_headers(app_server.url)["x-oss-callback"]))
    assert put.status_code == 203 and "CallbackFailed" in put.callback_result
    assert bucket.get_object("kept2.txt").read() == b"v2"


def test_only_loopback_hosts_are_called(bucket: oss2.Bucket, app_server) -> None:
    urls = "http://callback.example.com/cb;" + app_server.url  # tried in order: the second answers
    result = bucket.put_object("a.txt", b"a", headers=_headers(urls))
    assert result.status == 200 and len(app_server.received) == 1
    refused = bucket.put_object("b.txt", b"b", headers=_headers("http://callback.example.com/cb"))
    assert refused.status == 203 and b"loopback" in refused.resp.read()
    assert bucket.get_object("b.txt").read() == b"b"


@pytest.mark.parametrize("value", [
    "not base64!",
    base64.b64encode(b"[1, 2]").decode(),
    _b64json({"callbackBody": "a=${object}"}),
    _b64json({"callbackUrl": "ftp://127.0.0.1/x", "callbackBody": "a"}),
    _b64json({"callbackUrl": "http://127.0.0.1/x", "callbackBody": "a", "callbackBodyType": "text/xml"}),
])
def test_a_malformed_callback_is_refused_and_nothing_is_stored(bucket: oss2.Bucket, app_server,
                                                               value) -> None:
    with pytest.raises(oss2.exceptions.InvalidArgument):
        bucket.put_object("never.txt", b"x", headers={"x-oss-callback": value})
    assert not bucket.object_exists("never.txt") and not app_server.received


def test_image_info_variables(bucket: oss2.Bucket, app_server) -> None:
    png = io.BytesIO()
    Image.new("RGB", (40, 30), "red").save(png, "PNG")
    bucket.put_object("pic.png", png.getvalue(), headers=_headers(
        app_server.url, "w=${imageInfo.width}&h=${imageInfo.height}&f=${imageInfo.format}"))
    assert parse_qs(app_server.received[0].body.decode()) == {"w": ["40"], "h": ["30"], "f": ["png"]}


def test_post_object_form_callback(emulator: LiveServer, bucket, app_server) -> None:
    policy = base64.b64encode(json.dumps({"expiration": "2099-01-01T00:00:00.000Z",
                                          "conditions": [{"bucket": "media"}]}).encode()).decode()
    signature = base64.b64encode(hmac.new(emulator.access_key_secret.encode(), policy.encode(),
                                          hashlib.sha1).digest()).decode()
    spec = {"callbackUrl": app_server.url, "callbackBody": "o=${object}&v=${x:var}"}
    form = {"OSSAccessKeyId": emulator.access_key_id, "Signature": signature, "policy": policy,
            "key": "posted.txt", "callback": _b64json(spec), "x:var": "from-form"}
    answer = httpx.post(f"{emulator.url}/media", data=form, files={"file": ("f.txt", b"posted")})
    assert answer.status_code == 200 and answer.json() == {"Status": "OK"}
    assert parse_qs(app_server.received[0].body.decode()) == {"o": ["posted.txt"], "v": ["from-form"]}
    assert bucket.get_object("posted.txt").read() == b"posted"


def test_presigned_put_carries_the_callback_in_its_query(bucket: oss2.Bucket, app_server) -> None:
    spec = _headers(app_server.url, "o=${object}&n=${x:note}")
    url = bucket.sign_url("PUT", "signed.txt", 600, params={
        "callback": spec["x-oss-callback"], "callback-var": spec["x-oss-callback-var"]})
    answer = httpx.put(url, content=b"signed")
    assert answer.status_code == 200 and answer.json() == {"Status": "OK"}
    assert parse_qs(app_server.received[0].body.decode()) == {"o": ["signed.txt"], "n": ["a b&c"]}


def test_template_rendering_as_data() -> None:
    spec = callback.Callback(("http://127.0.0.1/",), '{"k":"${object}","x":"${x:v}","keep":"${other}"}',
                             callback.JSON_TYPE, variables={"x:v": 'q"'})
    assert callback.render_body(spec, {"object": "a\\b"}) == '{"k":"a\\\\b","x":"q\\"","keep":"${other}"}'
    form = callback.Callback(("http://127.0.0.1/",), "k=${object}&m=${x:missing}")
    assert callback.render_body(form, {"object": "a b/c"}) == "k=a%20b%2Fc&m="
    assert callback.string_to_sign("http://h/a%20b?x=%20", b"body") == b"/a b?x=%20\nbody"
