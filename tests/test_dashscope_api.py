"""DashScope over plain HTTP, as the seed's curl commands do, against a live emulator."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from dashscope_support import (
    SAMPLE_IMAGE,
    SAMPLE_VIDEO,
    SUBMIT,
    TIME_RE,
    fetch_video,
    get_task,
    seed_body,
    submit,
    wait_for,
)

from emulator.media.ffmpeg import probe
from emulator.testing.server import LiveServer

UTC8 = timezone(timedelta(hours=8))
OUTSIDE = "https://example.com/person.jpg"


def test_seed_curl_flow(emulator, tmp_path):
    response = submit(emulator.url)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"output", "request_id"}
    assert body["output"]["task_status"] == "PENDING" and set(body["output"]) == {"task_status", "task_id"}
    assert response.headers["x-request-id"] == body["request_id"]
    task_id = body["output"]["task_id"]

    done = wait_for(emulator.url, task_id)
    output = done["output"]
    assert output["task_status"] == "SUCCEEDED", done
    assert "code" not in done
    for field in ("submit_time", "scheduled_time", "end_time"):
        assert re.match(TIME_RE, output[field])
    submitted = datetime.strptime(output["submit_time"], "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC8)
    date = parsedate_to_datetime(response.headers["date"])
    assert abs((submitted - date).total_seconds()) < 5  # UTC+8 wall time of the submit
    assert output["submit_time"] <= output["scheduled_time"] <= output["end_time"]
    assert done["usage"] == {"video_duration": 5.2, "video_ratio": "standard"}

    url = output["results"]["video_url"]
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert f"{parts.scheme}://{parts.netloc}" == emulator.url
    assert parts.path.startswith("/dashscope-result-sgp/") and parts.path.endswith(".mp4")
    assert query["OSSAccessKeyId"] == ["LTAI-emulator"]
    ended = datetime.strptime(output["end_time"], "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC8)
    assert int(query["Expires"][0]) == int(ended.timestamp()) + 86400
    string_to_sign = f"GET\n\n\n{query['Expires'][0]}\n{parts.path}"
    expected = base64.b64encode(hmac.new(b"emulator-secret", string_to_sign.encode(), hashlib.sha1).digest())
    assert query["Signature"] == [expected.decode()]
    video = fetch_video(url, tmp_path / "result.mp4")  # the URL as handed out serves the render
    assert (video.video_codec, video.width, video.height, video.frame_count) == ("h264", 480, 640, 130)


def error_of(response: httpx.Response) -> tuple[int, str, str]:
    body = response.json()
    assert set(body) == {"request_id", "code", "message"}
    assert response.headers["x-request-id"] == body["request_id"]
    assert response.headers["content-type"].startswith("application/json")
    return response.status_code, body["code"], body["message"]


def test_submit_checks_in_the_documented_order(emulator):
    url = emulator.url
    no_async = {"X-DashScope-Async": ""}
    cases = [
        (submit(url, key=None), (401, "InvalidApiKey", "No API-key provided.")),
        (submit(url, key="sk-wrong"), (401, "InvalidApiKey", "Invalid API-key provided.")),
        (submit(url, key="sk-wrong", headers=no_async), (401, "InvalidApiKey", "Invalid API-key provided.")),
        (submit(url, headers=no_async),
         (403, "AccessDenied", "current user api does not support synchronous calls.")),
        (submit(url, content=b"{not json", headers=no_async),
         (403, "AccessDenied", "current user api does not support synchronous calls.")),
        (submit(url, content=b"{not json"),
         (400, "BadRequest.IllegalInput", "The input parameter requires json format.")),
        (submit(url, body=[1, 2]),
         (400, "BadRequest.IllegalInput", "The input parameter requires json format.")),
        (submit(url, body={"input": {}, "parameters": {}}),
         (400, "BadRequest.EmptyModel", 'Required parameter "model" missing from request.')),
        (submit(url, body={**seed_body(), "model": "wan2.2-animate-dance"}),
         (400, "InvalidParameter", "Model not exist.")),
        (submit(url, body={"model": "wan2.2-animate-move", "parameters": {"mode": "wan-std"}}),
         (400, "BadRequest.EmptyInput", "Required input parameter missing from request.")),
        (submit(url, body={"model": "wan2.2-animate-move", "input": seed_body()["input"]}),
         (400, "BadRequest.EmptyParameters", 'Required parameter "parameters" missing from request.')),
        (submit(url, body={**seed_body(), "input": {"video_url": SAMPLE_VIDEO}}),
         (400, "InvalidParameter", "Field required: input.image_url")),
        (submit(url, body={**seed_body(), "input": {"image_url": SAMPLE_IMAGE}}),
         (400, "InvalidParameter", "Field required: input.video_url")),
        (submit(url, body=seed_body(image_url="ftp://x/y.png")),
         (400, "InvalidURL", "Invalid URL provided in your request.")),
        (submit(url, body=seed_body(watermark="yes")),
         (400, "InvalidParameter", "Input should be a valid boolean: input.watermark")),
        (submit(url, body={**seed_body(), "parameters": {}}),
         (400, "InvalidParameter", "Field required: parameters.mode")),
        (submit(url, body=seed_body(mode="wan-max")),
         (400, "InvalidParameter", "Input should be 'wan-std' or 'wan-pro': parameters.mode")),
        (submit(url, body={**seed_body(), "parameters": {"mode": "wan-std", "check_image": "no"}}),
         (400, "InvalidParameter", "Input should be a valid boolean: parameters.check_image")),
        (submit(url, body=seed_body(image_url="oss://dashscope-instant/x/a.png")),
         (400, "InvalidParameter.DataInspection",
          "The media format is not supported or incorrect for the data inspection.")),
    ]
    for response, expected in cases:
        assert error_of(response) == expected
    listed = httpx.get(url + "/api/v1/tasks", headers={"Authorization": "Bearer sk-emulator"}).json()
    assert listed["total"] == 0  # no refused submit created a task


def test_unknown_routes_and_methods_answer_in_dashscope_shape(emulator):
    assert error_of(httpx.get(emulator.url + SUBMIT)) == (
        400, "InvalidParameter", "Request method 'GET' is not supported.")
    assert error_of(httpx.get(emulator.url + "/api/v1/nothing/here"))[:2] == (404, "NotFound")
    assert error_of(httpx.post(
        emulator.url + "/api/v1/services/aigc/video-generation/video-synthesis", json=seed_body(),
        headers={"Authorization": "Bearer sk-emulator", "X-DashScope-Async": "enable"}))[:2] == (
        400, "InvalidParameter")


def test_keys_are_bound_to_their_region_by_host(emulator):
    intl, cn = {"Host": "dashscope-intl.aliyuncs.com"}, {"Host": "dashscope.aliyuncs.com"}
    assert error_of(submit(emulator.url, key="sk-emulator-cn", headers=intl))[:2] == (401, "InvalidApiKey")
    assert error_of(submit(emulator.url, key="sk-emulator", headers=cn))[:2] == (401, "InvalidApiKey")
    bad_urls = seed_body(image_url=OUTSIDE)
    assert submit(emulator.url, bad_urls, key="sk-emulator", headers=intl).status_code == 200
    cn_task = submit(emulator.url, bad_urls, key="sk-emulator-cn", headers=cn).json()["output"]["task_id"]
    local = submit(emulator.url, bad_urls, key="sk-emulator-cn").json()["output"]["task_id"]
    assert wait_for(emulator.url, cn_task, key="sk-emulator-cn")["output"]["task_status"] == "FAILED"
    assert wait_for(emulator.url, local, key="sk-emulator-cn")["output"]["task_status"] == "FAILED"
    # Regions are separate worlds: the intl key does not see the Beijing task.
    assert get_task(emulator.url, cn_task, key="sk-emulator").json()["output"]["task_status"] == "UNKNOWN"


def test_failed_tasks_answer_200_with_output_code(emulator):
    task_id = submit(emulator.url, seed_body(image_url=OUTSIDE)).json()["output"]["task_id"]
    body = wait_for(emulator.url, task_id)
    output = body["output"]
    assert output["task_status"] == "FAILED"
    assert output["code"] == "InvalidURL.ConnectionRefused"
    assert output["message"] == f"Connection to {OUTSIDE} refused, please provide available URL"
    assert "code" not in body and "usage" not in body
    assert re.match(TIME_RE, output["end_time"])


def test_unknown_task_ids_read_unknown(emulator):
    response = get_task(emulator.url, "no-such-task")
    assert response.status_code == 200
    assert response.json()["output"] == {"task_id": "no-such-task", "task_status": "UNKNOWN"}
    cancel = httpx.post(emulator.url + "/api/v1/tasks/no-such-task/cancel",
                        headers={"Authorization": "Bearer sk-emulator"})
    assert error_of(cancel)[:2] == (400, "UnsupportedOperation")
    assert error_of(httpx.get(emulator.url + "/api/v1/tasks/x"))[:2] == (401, "InvalidApiKey")


def frozen(server: LiveServer) -> None:
    server.admin("POST", "clock", {"frozen": True})


def test_more_than_five_submits_a_second_are_throttled(emulator):
    frozen(emulator)
    body = seed_body(image_url=OUTSIDE)
    statuses = [submit(emulator.url, body).status_code for _ in range(5)]
    assert statuses == [200] * 5
    assert error_of(submit(emulator.url, body)) == (
        429, "Throttling.RateQuota", "Requests rate limit exceeded, please try again later.")
    emulator.advance(1.0)  # a second later the account may submit again
    assert submit(emulator.url, body).status_code == 200


def test_task_endpoints_allow_20_queries_a_second(emulator):
    frozen(emulator)
    statuses = [get_task(emulator.url, "t").status_code for _ in range(21)]
    assert statuses == [200] * 20 + [429]
    assert error_of(get_task(emulator.url, "t"))[1] == "Throttling.RateQuota"
    emulator.advance(1.5)
    assert get_task(emulator.url, "t").status_code == 200


def list_tasks(server: LiveServer, **params) -> httpx.Response:
    return httpx.get(server.url + "/api/v1/tasks", params=params,
                     headers={"Authorization": "Bearer sk-emulator"}, timeout=30)


def test_list_filters_and_pages(emulator):
    ids = []
    for model in ("wan2.2-animate-move", "wan2.2-animate-mix", "wan2.2-animate-move"):
        response = submit(emulator.url, seed_body(model=model, image_url=OUTSIDE))
        ids.append(response.json()["output"]["task_id"])
    for task_id in ids:
        wait_for(emulator.url, task_id)
    first = list_tasks(emulator, page_size=2).json()
    assert (first["total"], first["total_page"], first["page_no"], first["page_size"]) == (3, 2, 1, 2)
    second = list_tasks(emulator, page_size=2, page_no=2).json()
    listed = [item["task_id"] for item in first["data"] + second["data"]]
    assert listed == ids[::-1]  # newest first
    item = first["data"][0]
    assert item["status"] == "FAILED" and item["region"] == "ap-southeast-1"
    assert item["user_api_unique_key"] == "apikey:v1:aigc:image2video:video-synthesis:wan2.2-animate-move"
    assert isinstance(item["gmt_create"], int)
    assert item["end_time"] >= item["start_time"] >= item["gmt_create"]
    mixes = list_tasks(emulator, model_name="wan2.2-animate-mix").json()["data"]
    assert [i["task_id"] for i in mixes] == [ids[1]]
    assert list_tasks(emulator, status="SUCCEEDED").json()["total"] == 0
    assert list_tasks(emulator, task_id=ids[0]).json()["data"][0]["task_id"] == ids[0]
    now = datetime.now(UTC8)
    window = {"start_time": (now - timedelta(hours=1)).strftime("%Y%m%d%H%M%S"),
              "end_time": (now + timedelta(hours=1)).strftime("%Y%m%d%H%M%S")}
    assert list_tasks(emulator, **window).json()["total"] == 3
    earlier = {"end_time": (now - timedelta(hours=2)).strftime("%Y%m%d%H%M%S")}
    assert list_tasks(emulator, **earlier).json()["total"] == 0
    too_long = {"start_time": (now - timedelta(hours=30)).strftime("%Y%m%d%H%M%S"),
                "end_time": now.strftime("%Y%m%d%H%M%S")}
    for params in (too_long, {"page_no": "0"}, {"page_size": "x"}, {"status": "DONE"}, {"end_time": "2025"}):
        assert error_of(list_tasks(emulator, **params))[:2] == (400, "InvalidParameter")


def test_after_24_hours_a_task_reads_unknown(emulator):
    task_id = submit(emulator.url).json()["output"]["task_id"]
    done = wait_for(emulator.url, task_id)
    url = done["output"]["results"]["video_url"]
    emulator.advance(23 * 3600)
    assert get_task(emulator.url, task_id).json()["output"]["task_status"] == "SUCCEEDED"
    emulator.advance(3600 + 5)
    assert get_task(emulator.url, task_id).json()["output"] == {"task_id": task_id, "task_status": "UNKNOWN"}
    assert list_tasks(emulator).json()["total"] == 0
    expired = httpx.get(url, timeout=30)  # the result URL lapsed with the task
    assert expired.status_code == 403 and b"<Code>AccessDenied</Code>" in expired.content


def test_billing_counts_output_seconds_at_the_mode_and_region_price(emulator):
    std = submit(emulator.url).json()["output"]["task_id"]
    pro = submit(emulator.url, seed_body(mode="wan-pro"), key="sk-emulator-cn").json()["output"]["task_id"]
    wait_for(emulator.url, std)
    done = wait_for(emulator.url, pro, key="sk-emulator-cn")
    assert done["usage"] == {"video_duration": 5.2, "video_ratio": "pro"}
    failed = submit(emulator.url, seed_body(image_url=OUTSIDE)).json()["output"]["task_id"]
    wait_for(emulator.url, failed)
    billing = emulator.admin("GET", "billing")["dashscope"]
    amounts = {item["task_id"]: item["amount"] for item in billing["items"]}
    assert amounts == {std: pytest.approx(5.2 * 0.12), pro: pytest.approx(5.2 * 0.09)}
    assert billing["total"] == pytest.approx(5.2 * 0.21)


def test_get_policy_is_signed_with_the_namespace_key_pair(emulator):
    response = httpx.get(emulator.url + "/api/v1/uploads", params={"action": "getPolicy",
                                                                   "model": "wan2.2-animate-move"},
                         headers={"Authorization": "Bearer sk-emulator"})
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["upload_host"] == emulator.url + "/dashscope-file-mgr"
    assert data["oss_access_key_id"] == "LTAI-emulator"
    signature = base64.b64encode(hmac.new(b"emulator-secret", data["policy"].encode(), hashlib.sha1).digest())
    assert data["signature"] == signature.decode()
    policy = json.loads(base64.b64decode(data["policy"]))
    assert ["starts-with", "$key", data["upload_dir"]] in policy["conditions"]
    assert {"bucket": "dashscope-file-mgr"} in policy["conditions"]
    assert (data["x_oss_object_acl"], data["x_oss_forbid_overwrite"], data["expire_in_seconds"]) == (
        "private", "true", 300)
    bad = httpx.get(emulator.url + "/api/v1/uploads", params={"action": "other"},
                    headers={"Authorization": "Bearer sk-emulator"})
    assert error_of(bad)[:2] == (400, "InvalidParameter")


def test_results_are_real_identical_mp4s_for_identical_inputs(emulator, tmp_path):
    body = seed_body(watermark=True)
    first = submit(emulator.url, body).json()["output"]["task_id"]
    second = submit(emulator.url, body).json()["output"]["task_id"]
    videos = []
    for task_id in (first, second):
        done = wait_for(emulator.url, task_id)
        response = httpx.get(done["output"]["results"]["video_url"], timeout=30)
        assert response.status_code == 200
        assert response.headers["content-type"] == "video/mp4"
        videos.append(response.content)
    assert videos[0] == videos[1]
    path = tmp_path / "result.mp4"
    path.write_bytes(videos[0])
    info = probe(path, count_frames=True)
    assert (info.video_codec, info.frame_count, info.duration) == ("h264", 130, 5.2)
    assert videos[0].index(b"moov") < videos[0].index(b"mdat")


def test_the_submit_url_answers_with_a_trailing_slash_as_documented(emulator):
    response = httpx.post(emulator.url + SUBMIT + "/", json=seed_body(), timeout=30,
                          headers={"X-DashScope-Async": "enable", "Authorization": "Bearer sk-emulator"})
    assert response.status_code == 200, response.text
    assert response.json()["output"]["task_status"] == "PENDING"
    assert emulator.requests(service="dashscope")[-1]["action"] == "CreateTask"
