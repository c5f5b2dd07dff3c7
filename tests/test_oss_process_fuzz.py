"""Malformed x-oss-process strings, on GET and on ProcessObject with sys/saveas: every refusal is OSS
error XML with a documented IMG code and a 4xx, never a 500, and a refused save writes nothing."""

from __future__ import annotations

import io
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from emulator.testing.server import LiveServer
from tests.oss_clients import oss2_bucket

CODES = {"InvalidArgument", "BadRequest", "MissingArgument", "ImageTooLarge", "WatermarkError",
         "NoSuchStyle", "NotImplemented", "NoSuchKey", "NoSuchBucket", "InvalidObjectName",
         "InvalidBucketName"}


@pytest.fixture(scope="module")
def open_server() -> Iterator[LiveServer]:
    with LiveServer(extra_args=["--no-verify-signatures"]) as server:
        bucket = oss2_bucket(server, "keep")
        bucket.create_bucket()
        buffer = io.BytesIO()
        Image.new("RGB", (64, 48), (10, 200, 30)).save(buffer, "PNG")
        bucket.put_object("a.png", buffer.getvalue())
        bucket.put_object("t.txt", b"text")
        yield server


ACTIONS = ["resize", "crop", "indexcrop", "circle", "rounded-corners", "rotate", "auto-orient", "flip",
           "blur", "bright", "contrast", "sharpen", "watermark", "format", "quality", "interlace", "info",
           "average-hue", "snapshot", "zoom", ""]
KEYS = ["m", "w", "h", "l", "s", "p", "limit", "color", "x", "y", "g", "i", "r", "q", "Q", "t", "f", "text",
        "image", "size", "voffset", "fill", "P", "", "zz"]
VALUES = st.one_of(st.integers(-20_000, 40_000).map(str), st.sampled_from(
    ["lfit", "pad", "fill", "se", "center", "jpg", "png", "webp", "heic", "fast", "FF00ff", "SGk", "@@", "",
     "YS5wbmc", "dC50eHQ", "bm9uZQ", "0x1"]), st.text(max_size=6))
PARAM = st.one_of(st.tuples(st.sampled_from(KEYS), VALUES).map(lambda kv: f"{kv[0]}_{kv[1]}"), VALUES)
ACTION = st.tuples(st.sampled_from(ACTIONS), st.lists(PARAM, max_size=4)).map(
    lambda a: ",".join([a[0], *a[1]]))
PROCESS = st.one_of(
    st.tuples(st.sampled_from(["image", "video", "style", "audio", "img", ""]),
              st.lists(ACTION, min_size=0, max_size=4)).map(lambda f: f[0] + "/" + "/".join(f[1])),
    st.text(max_size=40))


def _code(response: httpx.Response) -> str:
    assert response.headers["content-type"] == "application/xml", response.content[:200]
    return response.text.split("<Code>", 1)[1].split("</Code>", 1)[0]


def _keys(server: LiveServer) -> set[str]:
    listing = httpx.get(server.url + "/keep/").text
    return {part.split("</Key>", 1)[0] for part in listing.split("<Key>")[1:]}


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.sampled_from(["a.png", "t.txt", "nope.png"]), process=PROCESS)
def test_fuzzed_process_strings_on_get(open_server: LiveServer, key: str, process: str) -> None:
    response = httpx.get(f"{open_server.url}/keep/{key}", params={"x-oss-process": process}, timeout=30)
    if response.status_code == 200:
        assert response.content
        return
    assert 400 <= response.status_code < 500 and _code(response) in CODES, response.text


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(process=PROCESS, target=st.sampled_from(["o_b3V0LnBuZw", "o_b3V0LnBuZw,b_bm93aGVyZQ",
                                               "o_Li4vZXNjYXBl", "b_a2VlcA", "o_", "o_b3V0LnBuZw,b_QkFE"]))
def test_fuzzed_save_as_writes_nothing_when_refused(open_server: LiveServer, process: str,
                                                    target: str) -> None:
    before = _keys(open_server)
    body = f"x-oss-process={process}|sys/saveas,{target}".encode()
    response = httpx.post(f"{open_server.url}/keep/{quote('a.png')}?x-oss-process", content=body, timeout=30)
    if response.status_code == 200:
        assert response.json()["status"] == "OK" and response.json()["object"] in _keys(open_server)
        httpx.delete(f"{open_server.url}/keep/{response.json()['object']}")
        return
    assert 400 <= response.status_code < 500 and _code(response) in CODES, response.text
    assert _keys(open_server) == before
