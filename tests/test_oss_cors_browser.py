"""A browser page on another origin uploads straight to the emulator, as web apps do with OSS: a PUT
to a presigned URL (preflighted) and a signed PostObject form. A page from an origin the bucket's
CORS rules do not allow is refused by the browser. Headless Chromium through Playwright."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import oss2
import pytest

from emulator.testing.server import LiveServer
from tests.browser import chromium_page
from tests.oss_clients import oss2_bucket

PAGE = b"<!doctype html><title>uploader</title><p>app</p>"


class _Page(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def origins() -> Iterator[tuple[str, str]]:
    """Two web apps on their own ports: (allowed origin, refused origin)."""
    servers = [ThreadingHTTPServer(("127.0.0.1", 0), _Page) for _ in range(2)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield tuple(f"http://127.0.0.1:{s.server_address[1]}" for s in servers)  # type: ignore[misc]
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def browser_page():
    with chromium_page() as page:
        yield page


UPLOAD_JS = """async ([putUrl, postUrl, form]) => {
  const result = {};
  try {
    const put = await fetch(putUrl, {method: 'PUT', body: new Blob(['from the browser']),
                                     headers: {'Content-Type': 'text/plain'}});
    result.put = {status: put.status, etag: put.headers.get('ETag')};
  } catch (e) { result.put = {error: String(e)}; }
  try {
    const data = new FormData();
    for (const [k, v] of Object.entries(form)) data.append(k, v);
    data.append('file', new Blob(['posted by a form']), 'f.txt');
    const post = await fetch(postUrl, {method: 'POST', body: data});
    result.post = {status: post.status, etag: post.headers.get('ETag')};
  } catch (e) { result.post = {error: String(e)}; }
  return result;
}"""


def _post_form(server: LiveServer, key: str) -> dict[str, str]:
    expiration = (datetime.now(timezone.utc) + timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    policy = base64.b64encode(json.dumps({"expiration": expiration, "conditions": [
        ["content-length-range", 0, 1024]]}).encode()).decode()
    signature = base64.b64encode(hmac.new(server.access_key_secret.encode(), policy.encode(),
                                          hashlib.sha1).digest()).decode()
    return {"key": key, "OSSAccessKeyId": server.access_key_id, "policy": policy,
            "Signature": signature, "success_action_status": "200"}


def test_a_page_on_an_allowed_origin_uploads_and_another_is_refused(
        emulator: LiveServer, origins: tuple[str, str], browser_page) -> None:
    allowed, refused = origins
    bucket = oss2_bucket(emulator, "browser-up")
    bucket.create_bucket()
    bucket.put_bucket_cors(oss2.models.BucketCors([oss2.models.CorsRule(
        allowed_origins=[allowed], allowed_methods=["PUT", "POST", "GET"], allowed_headers=["*"],
        expose_headers=["ETag", "x-oss-request-id"], max_age_seconds=0)]))

    def upload_from(origin: str, tag: str) -> dict:
        browser_page.goto(origin + "/")
        put_url = bucket.sign_url("PUT", f"put-{tag}.txt", 300, headers={"Content-Type": "text/plain"})
        return browser_page.evaluate(UPLOAD_JS, [put_url, f"{emulator.url}/browser-up",
                                                 _post_form(emulator, f"post-{tag}.txt")])

    ok = upload_from(allowed, "ok")
    assert ok["put"]["status"] == 200, ok
    assert ok["put"]["etag"] == bucket.head_object("put-ok.txt").etag.join('""')
    assert bucket.get_object("put-ok.txt").read() == b"from the browser"
    assert bucket.get_object("put-ok.txt").content_type == "text/plain"
    assert ok["post"]["status"] == 200 and ok["post"]["etag"], ok
    assert bucket.get_object("post-ok.txt").read() == b"posted by a form"

    denied = upload_from(refused, "no")
    assert "error" in denied["put"], denied  # the preflight was refused: the PUT never left
    assert not bucket.object_exists("put-no.txt")
    # A form POST needs no preflight: OSS stores it, but the page may not read the answer.
    assert "error" in denied["post"], denied
