"""Static website hosting against a live emulator: the configuration set through oss2 (V1, V4) or
alibabacloud-oss-v2, then read as a browser does (unsigned GETs with httpx): the root serves the
index document, a missing object the error document, a `dir/` its index; signed requests are
unaffected, and private documents stay private."""

from __future__ import annotations

import alibabacloud_oss_v2 as oss
import httpx
import oss2
import pytest
from oss2.models import BucketWebsite

from emulator.testing.server import LiveServer
from tests.oss_clients import oss2_bucket, v2_client

HTML = {"Content-Type": "text/html"}


def _site(bucket: oss2.Bucket) -> None:
    bucket.put_object("index.html", b"<h1>home</h1>", headers=HTML)
    bucket.put_object("error.html", b"<h1>lost</h1>", headers=HTML)
    bucket.put_object("docs/index.html", b"<h1>docs</h1>", headers=HTML)


@pytest.mark.parametrize("version", ["v1", "v4"])
def test_a_public_site_serves_index_and_error_documents(emulator: LiveServer, version: str) -> None:
    bucket = oss2_bucket(emulator, f"site-{version}", version)
    bucket.create_bucket(oss2.BUCKET_ACL_PUBLIC_READ)
    _site(bucket)
    base = f"{emulator.url}/site-{version}/"
    assert httpx.get(base).status_code == 403  # no website yet: an anonymous list is refused
    bucket.put_bucket_website(BucketWebsite("index.html", "error.html"))
    home = httpx.get(base)
    assert (home.status_code, home.content) == (200, b"<h1>home</h1>")
    assert home.headers["content-type"] == "text/html"
    assert httpx.head(base + "docs/").headers["content-length"] == str(len(b"<h1>home</h1>"))
    lost = httpx.get(base + "no/such/page.html")
    assert (lost.status_code, lost.content) == (404, b"<h1>lost</h1>")
    assert httpx.head(base + "nope").headers["content-length"] == str(len(b"<h1>lost</h1>"))
    assert httpx.get(base + "docs/").content == b"<h1>home</h1>"  # no SupportSubDir: the root's index
    assert httpx.get(base + "docs/index.html").content == b"<h1>docs</h1>"
    # Signed requests are not browsing: the root lists, a missing key is NoSuchKey.
    assert sorted(o.key for o in oss2.ObjectIterator(bucket)) == ["docs/index.html", "error.html",
                                                                  "index.html"]
    with pytest.raises(oss2.exceptions.NoSuchKey):
        bucket.get_object("no/such/page.html")
    # A private error document is not shown to anonymous callers.
    bucket.put_object_acl("error.html", oss2.OBJECT_ACL_PRIVATE)
    assert b"<Code>NoSuchKey</Code>" in httpx.get(base + "gone.html").content
    bucket.delete_bucket_website()
    assert httpx.get(base).status_code == 403


def test_v2_sub_directories_and_error_status(emulator: LiveServer) -> None:
    client = v2_client(emulator)
    client.put_bucket(oss.PutBucketRequest(bucket="v2site", acl="public-read"))
    for key, body in (("index.html", b"home"), ("docs/index.html", b"docs"), ("oops.html", b"oops")):
        client.put_object(oss.PutObjectRequest(bucket="v2site", key=key, body=body, content_type="text/html"))
    client.put_bucket_website(oss.PutBucketWebsiteRequest(
        bucket="v2site", website_configuration=oss.WebsiteConfiguration(
            index_document=oss.IndexDocument(suffix="index.html", support_sub_dir=True),
            error_document=oss.ErrorDocument(key="oops.html", http_status=200))))
    base = f"{emulator.url}/v2site/"
    assert httpx.get(base + "docs/").content == b"docs"
    missing = httpx.get(base + "missing")
    assert (missing.status_code, missing.content) == (200, b"oops")
    listed = client.list_objects_v2(oss.ListObjectsV2Request(bucket="v2site"))
    assert [o.key for o in listed.contents] == ["docs/index.html", "index.html", "oops.html"]


def test_a_private_site_is_not_public(emulator: LiveServer) -> None:
    bucket = oss2_bucket(emulator, "private-site")
    bucket.create_bucket()
    _site(bucket)
    bucket.put_bucket_website(BucketWebsite("index.html", "error.html"))
    home = httpx.get(f"{emulator.url}/private-site/")
    assert home.status_code == 403 and b"AccessDenied" in home.content
    bucket.put_object_acl("index.html", oss2.OBJECT_ACL_PUBLIC_READ)  # one public page
    assert httpx.get(f"{emulator.url}/private-site/").content == b"<h1>home</h1>"
