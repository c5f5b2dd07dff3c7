"""Outages on the emulator's clock, whole-service chaos, presets and the fault report, through
the official SDKs of every service."""

from __future__ import annotations

import dashscope
import httpx
import oss2
import pytest
from alibabacloud_imm20200930 import models as imm_models
from alibabacloud_tea_util.models import RuntimeOptions
from dashscope import VideoSynthesis
from dashscope_support import SAMPLE_IMAGE, SAMPLE_VIDEO
from mns.account import Account
from mns.mns_exception import MNSServerException
from Tea.exceptions import TeaException

from emulator.testing.server import LiveServer
from tests.imm_support import imm_client
from tests.oss_clients import oss2_bucket

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
OUTAGE = {"service": "oss", "effect": {"outage": True}}


@pytest.fixture
def bucket(emulator: LiveServer) -> oss2.Bucket:
    b = oss2_bucket(emulator, "media")
    b.create_bucket()
    b.put_object("clip.bin", b"bytes")
    return b


def _down(bucket: oss2.Bucket) -> bool:
    try:
        bucket.get_object("clip.bin").read()
    except oss2.exceptions.ServerError as err:
        assert (err.status, err.code) == (503, "ServiceUnavailable")
        return True
    return False


def test_a_window_in_seconds_from_now_follows_the_clock(emulator: LiveServer, bucket) -> None:
    rule = emulator.add_fault({**OUTAGE, "from": 600, "until": 900})
    assert rule["from"] < rule["until"]  # stored as ISO times on the emulator's clock
    assert not _down(bucket)
    emulator.advance(600)
    assert _down(bucket) and _down(bucket)
    emulator.advance(300)
    assert not _down(bucket)
    assert emulator.admin("GET", f"faults/{rule['id']}")["applied"] == 2


def test_a_schedule_fails_the_first_minutes_of_every_hour(emulator: LiveServer, bucket) -> None:
    emulator.admin("POST", "clock", {"set": "2026-01-01T09:58:00Z", "frozen": True})
    emulator.add_fault({**OUTAGE, "from": "2026-01-01T10:00:00Z",
                        "schedule": {"every_seconds": 3600, "for_seconds": 300}})
    seen = []
    for when in ("09:59:59", "10:00:00", "10:04:59", "10:05:00", "10:59:00", "11:01:00", "11:30:00"):
        emulator.admin("POST", "clock", {"set": f"2026-01-01T{when}Z"})
        seen.append(_down(bucket))
    assert seen == [False, True, True, False, False, True, False]


def test_a_scheduled_probability_is_seeded(emulator: LiveServer, bucket) -> None:
    emulator.admin("POST", "clock", {"set": "2026-01-01T10:00:00Z", "frozen": True})
    rule = {**OUTAGE, "seed": 3, "schedule": {"every_seconds": 3600, "for_seconds": 300, "probability": 0.2}}

    def outcomes() -> list[bool]:
        emulator.admin("DELETE", "faults")
        emulator.add_fault(rule)
        return [_down(bucket) for _ in range(30)]

    first = outcomes()
    assert first == outcomes() and 0 < sum(first) < 20


def test_windows_survive_a_restart(tmp_path) -> None:
    with LiveServer(data_dir=tmp_path) as server:
        added = server.add_fault({**OUTAGE, "id": "later", "from": 3600, "until": 7200,
                                  "schedule": {"every_seconds": 60, "for_seconds": 30}})
    with LiveServer(data_dir=tmp_path) as server:
        kept = server.admin("GET", "faults/later")
        assert (kept["from"], kept["until"], kept["schedule"]) == (
            added["from"], added["until"], added["schedule"])


def test_outage_answers_in_each_service_shape(emulator: LiveServer, bucket) -> None:
    emulator.add_fault({"service": "*", "match": {"region": "cn-hangzhou"}, "effect": {"outage": True},
                        "times": 4})
    assert _down(bucket)
    with pytest.raises(TeaException) as imm_err:
        imm_client(emulator).list_projects_with_options(imm_models.ListProjectsRequest(),
                                                        RuntimeOptions(autoretry=False))
    assert (imm_err.value.status_code, imm_err.value.code) == (503, "ServiceUnavailable")
    assert imm_err.value.data["RequestId"]
    with pytest.raises(MNSServerException) as mns_err:
        account = Account(emulator.url, emulator.access_key_id, emulator.access_key_secret)
        account.get_queue("q").get_attributes()
    assert mns_err.value.type == "ServiceUnavailable" and mns_err.value.request_id
    saved = dashscope.base_http_api_url
    dashscope.base_http_api_url = emulator.url + "/api/v1"
    try:
        refused = VideoSynthesis.async_call(
            model="wan2.2-animate-move", task="image2video", mode="wan-std", api_key="sk-emulator",
            extra_input={"image_url": SAMPLE_IMAGE, "video_url": SAMPLE_VIDEO})
    finally:
        dashscope.base_http_api_url = saved
    assert refused.status_code == 503 and refused.code == "ServiceUnavailable"


def test_outage_of_another_region_leaves_this_one_up(emulator: LiveServer, bucket) -> None:
    emulator.add_fault({"service": "*", "match": {"region": "cn-shanghai"}, "effect": {"outage": True}})
    assert not _down(bucket)
    shanghai = oss2.Bucket(oss2.Auth(emulator.access_key_id, emulator.access_key_secret), emulator.url,
                           "media")
    url = shanghai.sign_url("GET", "clip.bin", 600)
    assert httpx.get(url, headers={"Host": "media.oss-cn-shanghai.aliyuncs.com"}).status_code == 503


def test_rate_limit_throttles_beyond_n_per_second(emulator: LiveServer, bucket) -> None:
    emulator.add_fault({"service": "oss", "match": {"action": "GetObject"},
                        "effect": {"rate_limit": {"per_second": 2, "retry_after": 1}}})
    url = bucket.sign_url("GET", "clip.bin", 600)
    with httpx.Client() as client:
        answers = [client.get(url) for _ in range(6)]
    throttled = [a for a in answers if a.status_code == 503]
    assert [a.status_code for a in answers[:2]] == [200, 200] and throttled
    assert all(a.headers["Retry-After"] == "1" and b"<Code>ServiceUnavailable</Code>" in a.content
               for a in throttled)


def test_dashscope_wait_survives_an_outage_window(sdk: LiveServer) -> None:
    task = VideoSynthesis.async_call(model="wan2.2-animate-move", task="image2video", mode="wan-std",
                                     extra_input={"image_url": SAMPLE_IMAGE, "video_url": SAMPLE_VIDEO})
    rule = sdk.add_fault({"service": "dashscope", "match": {"action": "GetTask"},
                          "effect": {"outage": True}, "times": 2})
    done = VideoSynthesis.wait(task)  # the SDK retries 503 and 504 while it polls (not 429)
    assert done.output.task_status == "SUCCEEDED"
    report = sdk.admin("GET", "faults/report")["rules"]
    mine = next(r for r in report if r["id"] == rule["id"])
    assert mine["retries"] == 2 and mine["recovered"]
    assert all(delay > 0.5 for delay in mine["retry_delays"])  # wait() sleeps between polls


def test_report_shows_oss2_giving_up_and_v2_retrying(emulator: LiveServer, bucket) -> None:
    rule = emulator.add_fault({**OUTAGE, "match": {"action": "GetObject"}, "times": 1})
    assert _down(bucket)
    bucket.put_object("other", b"x")
    report = emulator.admin("GET", "faults/report")["rules"]
    hit = report[0]["hits"][0]
    assert report[0]["id"] == rule["id"] and hit["status"] == 503
    assert hit["next"]["kind"] == "other" and hit["next"]["action"] == "PutObject"
    assert not hit["recovered"] and report[0]["retries"] == 0


def test_presets_expand_to_plain_rules(emulator: LiveServer, bucket) -> None:
    added = emulator.add_fault({"preset": "oss-flaky-downloads", "seed": 1})
    assert [r["id"] for r in added] == ["oss-flaky-downloads-1", "oss-flaky-downloads-2",
                                        "oss-flaky-downloads-3"]
    assert {next(iter(r["effect"])) for r in added} == {"truncate", "reset", "http_error"}
    for name in ("imm-slow-queue", "dashscope-throttled", "mns-duplicate-delivery"):
        assert all(r["id"].startswith(name) for r in emulator.add_fault({"preset": name}))


@pytest.mark.parametrize(("rule", "field"), [
    ({"preset": "everything-on-fire"}, "preset"),
    ({"preset": "imm-slow-queue", "times": 3}, "times"),
    ({**OUTAGE, "from": 100, "until": 50}, "until"),
    ({**OUTAGE, "until": "2001-01-01T00:00:00Z"}, "until"),
    ({**OUTAGE, "from": "yesterday"}, "from"),
    ({**OUTAGE, "from": -5}, "from"),
    ({**OUTAGE, "schedule": {"every_seconds": 60, "for_seconds": 120}}, "schedule.for_seconds"),
    ({**OUTAGE, "schedule": {"every_seconds": 0, "for_seconds": 0}}, "schedule.every_seconds"),
    ({**OUTAGE, "schedule": {"every_seconds": 60}}, "schedule.for_seconds"),
    ({"service": "oss", "effect": {"hang": {}}}, "effect.hang.max_seconds"),
    ({"service": "oss", "effect": {"hang": {"max_seconds": 3600}}}, "effect.hang.max_seconds"),
    ({"service": "oss", "effect": {"truncate": {"bytes": 1, "fraction": 0.5}}}, "effect.truncate"),
    ({"service": "oss", "effect": {"truncate": {"fraction": 2}}}, "effect.truncate.fraction"),
    ({"service": "oss", "effect": {"bandwidth": {"kib_per_second": 0}}}, "effect.bandwidth.kib_per_second"),
    ({"service": "oss", "effect": {"corrupt": {"headers": []}}}, "effect.corrupt.headers"),
    ({"service": "oss", "effect": {"rate_limit": {"per_second": 0}}}, "effect.rate_limit.per_second"),
    ({"service": "oss", "effect": {"outage": {"status": 404}}}, "effect.outage.status"),
    ({"service": "oss", "effect": {"slow_headers": {"ms": "soon"}}}, "effect.slow_headers.ms"),
])
def test_bad_windows_effects_and_presets_name_the_field(emulator: LiveServer, rule, field) -> None:
    response = httpx.post(emulator.url + "/_emulator/faults", json=rule)
    assert response.status_code == 400 and response.json()["field"] == field, response.text
    assert emulator.admin("GET", "faults")["faults"] == []


def test_scenario_files_load_presets_and_windows_once(tmp_path) -> None:
    scenario = tmp_path / "chaos.yaml"
    scenario.write_text("clock: {set: '2030-01-01T09:00:00Z', frozen: true}\n"
                        "faults:\n"
                        "  - {preset: dashscope-throttled}\n"
                        "  - {service: imm, effect: {outage: true},\n"
                        "     from: 3600, until: 2030-01-01T10:05:00Z}\n")
    for _ in range(2):  # a restart on the same data keeps what the first start loaded
        with LiveServer(data_dir=tmp_path / "data", extra_args=["--scenario", str(scenario)]) as server:
            rules = {r["id"]: r for r in server.admin("GET", "faults")["faults"]}
            assert set(rules) == {"scenario-0-1", "scenario-0-2", "scenario-1"}
            # seconds from now count from the scenario's clock (frozen a few ms after it was set),
            # and are stored as times
            assert rules["scenario-1"]["from"][:19] == "2030-01-01T10:00:00"
            assert rules["scenario-1"]["until"] == "2030-01-01T10:05:00.000Z"
    bad = tmp_path / "bad.yaml"
    bad.write_text("faults:\n  - {preset: everything-on-fire}\n")
    with pytest.raises(RuntimeError) as err:
        LiveServer(extra_args=["--scenario", str(bad)]).start()
    assert "scenario: faults[0].preset:" in str(err.value)
