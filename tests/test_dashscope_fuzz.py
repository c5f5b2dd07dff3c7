"""Malformed requests against every DashScope endpoint of a live emulator: always the native JSON
error shape with a documented code and a 4xx status (or a normal answer), never a 500, and the
tasks already stored stay intact."""

from __future__ import annotations

import string
from urllib.parse import quote

import httpx
from dashscope_support import SUBMIT, get_task, seed_body, submit, wait_for
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import json_values

KNOWN_CODES = {
    "InvalidApiKey", "AccessDenied", "BadRequest.IllegalInput", "BadRequest.EmptyModel",
    "BadRequest.EmptyInput", "BadRequest.EmptyParameters", "InvalidParameter", "InvalidURL",
    "InvalidParameter.DataInspection",
    "Throttling.RateQuota", "UnsupportedOperation", "NotFound",
}
FUZZ = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# h11 refuses header values with surrounding blanks, so the generated ones have none.
header_text = st.text(alphabet=string.ascii_letters + string.digits + " -_.:/", max_size=30).map(str.strip)
urls = st.one_of(json_values, st.sampled_from(["https://example.com/a.jpg", "oss://k/a.png", "", "http://",
                                               "https://例子.com/a.jpg", "file:///etc/passwd"]))
bodies = st.one_of(
    json_values,
    st.fixed_dictionaries({}, optional={
        "model": st.one_of(json_values, st.sampled_from(["wan2.2-animate-move", "wan2.2-animate-mix"])),
        "input": st.one_of(json_values, st.fixed_dictionaries({}, optional={
            "image_url": urls, "video_url": urls, "watermark": json_values})),
        "parameters": st.one_of(json_values, st.fixed_dictionaries({}, optional={
            "mode": st.one_of(json_values, st.sampled_from(["wan-std", "wan-pro"])),
            "check_image": json_values})),
    }),
)


def assert_native(response: httpx.Response) -> dict:
    assert response.status_code < 500, response.text
    body = response.json()
    if response.status_code != 200:
        assert 400 <= response.status_code < 500
        assert set(body) == {"request_id", "code", "message"}, body
        assert body["code"] in KNOWN_CODES, body
        assert "code" not in body.get("output", {}) or body["output"]["task_status"] == "FAILED"
    else:
        assert "code" not in body
    return body


def test_fuzz_submit(emulator):
    kept = submit(emulator.url, seed_body(image_url="https://example.com/kept.jpg")).json()["output"]["task_id"]
    before = wait_for(emulator.url, kept)

    @FUZZ
    @given(body=bodies, raw=st.one_of(st.none(), st.binary(max_size=64)),
           key=st.one_of(st.none(), st.sampled_from(["sk-emulator", "sk-emulator-cn"]), header_text),
           async_header=st.one_of(st.none(), st.just("enable"), header_text))
    def check(body, raw, key, async_header):
        emulator.advance(1)  # keep under the submit rate so other codes get exercised
        headers = {"Content-Type": "application/json"}
        if key is not None:
            headers["Authorization"] = f"Bearer {key}".strip()
        if async_header is not None:
            headers["X-DashScope-Async"] = async_header
        if raw is not None:
            response = httpx.post(emulator.url + SUBMIT, content=raw, headers=headers, timeout=30)
        else:
            response = httpx.post(emulator.url + SUBMIT, json=body, headers=headers, timeout=30)
        answer = assert_native(response)
        if response.status_code == 200:
            assert answer["output"]["task_status"] == "PENDING"

    check()
    assert get_task(emulator.url, kept).json() | {"request_id": None} == before | {"request_id": None}


def test_fuzz_task_endpoints(emulator):
    auth = {"Authorization": "Bearer sk-emulator"}

    @FUZZ
    @given(task_id=st.text(min_size=1, max_size=40), params=st.dictionaries(
        st.sampled_from(["start_time", "end_time", "page_no", "page_size", "status", "model_name", "task_id",
                         "action", "model", "region", "api_key_id"]),
        st.one_of(st.text(max_size=16), st.integers().map(str)), max_size=5))
    def check(task_id, params):
        emulator.advance(1)
        path = quote(task_id, safe="")
        got = assert_native(httpx.get(f"{emulator.url}/api/v1/tasks/{path}", headers=auth, timeout=30))
        canceled = assert_native(httpx.post(f"{emulator.url}/api/v1/tasks/{path}/cancel", headers=auth,
                                            timeout=30))
        if "/" in task_id:  # not one path segment: no such route
            assert got["code"] == canceled["code"] == "NotFound"
        else:
            assert got["output"]["task_status"] == "UNKNOWN"
            assert canceled["code"] == "UnsupportedOperation"
        listed = httpx.get(f"{emulator.url}/api/v1/tasks", params=params, headers=auth, timeout=30)
        assert_native(listed)
        uploads = httpx.get(f"{emulator.url}/api/v1/uploads", params=params, headers=auth, timeout=30)
        assert_native(uploads)

    check()
