"""The emulator's own documents (admin bodies, fault rules, the stored clock, scenario sections,
settings): refused with a 400 naming the field, never a 500; a poisoned store never stops a start."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import httpx
import pytest

from emulator.config import Config, ConfigError, from_env
from emulator.core.clock import Clock, ClockCommand, apply_clock
from emulator.core.documents import Documents
from emulator.core.faults import FaultRuleError, Faults
from emulator.core.ids import Ids
from emulator.core.runtime import Runtime
from emulator.core.scenario import ScenarioError, SectionItem, apply_scenario
from emulator.core.validation import InvalidDocument, NonEmptyString
from emulator.testing.server import LiveServer

DEEP = b"[" * 100_000 + b"]" * 100_000


def _post_clock(server: LiveServer, raw: bytes) -> httpx.Response:
    return httpx.post(server.url + "/_emulator/clock", content=raw,
                      headers={"content-type": "application/json"}, timeout=10)


@pytest.mark.parametrize(("raw", "field"), [
    (b'{"advance_seconds": 1e12}', "advance_seconds"),
    (b'{"advance_seconds": 1e308}', "advance_seconds"),
    (b'{"advance_seconds": NaN}', "advance_seconds"),  # json.loads reads these non-JSON words
    (b'{"advance_seconds": Infinity}', "advance_seconds"),
    (b'{"advance_seconds": -Infinity}', "advance_seconds"),
    (b'{"advance_seconds": -1}', "advance_seconds"),
    (b'{"advance_seconds": true}', "advance_seconds"),
    (b'{"advance_seconds": "60"}', "advance_seconds"),
    (b'{"set": "9999-12-31T23:59:59-05:00"}', "set"),  # past the end of year 9999 in UTC
    (b'{"set": "1969-12-31T23:59:59Z"}', "set"),
    (b'{"set": "0001-01-01T00:00:00Z"}', "set"),
    (b'{"set": 253402300800}', "set"),
    (b'{"set": "tomorrow"}', "set"),
    (b'{"set": "9999-12-31T00:00:00Z", "advance_seconds": 86400}', "advance_seconds"),
    (b'{"frozen": "yes"}', "frozen"),
    (b'{"speed": 2}', "speed"),
])
def test_clock_values_out_of_range_are_refused_naming_the_field(emulator: LiveServer, raw, field) -> None:
    before = emulator.admin("POST", "clock", {"frozen": True})["epoch"]
    response = _post_clock(emulator, raw)
    assert response.status_code == 400, response.text
    assert response.json()["field"] == field and response.json()["error"]
    after = emulator.admin("GET", "clock")
    assert after["epoch"] == before and after["frozen"]  # nothing changed
    assert httpx.get(emulator.url + "/_emulator/health").status_code == 200


def test_clock_at_the_ends_of_its_range(emulator: LiveServer) -> None:
    latest = emulator.admin("POST", "clock", {"set": "9999-12-31T23:59:59Z", "frozen": True})
    assert latest["now"] == "9999-12-31T23:59:59.000Z"
    assert _post_clock(emulator, b'{"advance_seconds": 1}').json()["field"] == "advance_seconds"
    assert emulator.admin("POST", "clock", {"set": "1970-01-01T00:00:00Z"})["epoch"] == 0
    ten_years = emulator.admin("POST", "clock", {"advance_seconds": 315_576_000})
    assert ten_years["now"].startswith("1980-01-01")


def test_a_clock_frozen_while_set_stops_exactly_there() -> None:
    ticks = iter(range(1_000_000, 2_000_000, 7))  # wall time moves on between any two steps
    clock = Clock(wall=lambda: float(next(ticks)))
    apply_clock(clock, ClockCommand(set="2030-01-01T00:00:00Z", frozen=True, advance_seconds=5))
    assert clock.frozen and clock.now() == 1_893_456_005.0
    apply_clock(clock, ClockCommand(frozen=False))
    assert not clock.frozen and clock.now() > 1_893_456_005.0


@pytest.mark.parametrize(("method", "path"), [
    ("POST", "clock"), ("POST", "faults"), ("DELETE", "faults"), ("POST", "reset"), ("POST", "namespaces"),
])
def test_deeply_nested_json_is_a_400(emulator: LiveServer, method, path) -> None:
    response = httpx.request(method, f"{emulator.url}/_emulator/{path}", content=DEEP, timeout=30)
    assert response.status_code == 400, response.text[:200]
    assert "nested too deeply" in response.json()["error"]
    assert emulator.admin("GET", "faults")["faults"] == []


@pytest.mark.parametrize(("path", "body", "field"), [
    ("reset", {"namespace": 5}, "namespace"),
    ("reset", {"namspace": "team"}, "namspace"),  # a typo no longer resets everything
    ("namespaces", {"name": "no spaces"}, "name"),
    ("namespaces", {"name": ["a"]}, "name"),
    ("namespaces", {"name": "a" * 65}, "name"),
])
def test_admin_bodies_name_the_bad_field(emulator: LiveServer, path, body, field) -> None:
    emulator.admin("POST", "faults", {"service": "oss", "effect": {"reset": True}, "id": "kept"})
    response = httpx.post(f"{emulator.url}/_emulator/{path}", json=body)
    assert response.status_code == 400 and response.json()["field"] == field
    assert [r["id"] for r in emulator.admin("GET", "faults")["faults"]] == ["kept"]


@pytest.mark.parametrize(("rule", "field"), [
    ({"service": "oss", "match": {"project": "p"}, "effect": {"reset": True}}, "match.project"),
    ({"service": "dashscope", "match": {"bucket": "b"}, "effect": {"reset": True}}, "match.bucket"),
    ({"service": "oss", "effect": {"delay_ms": float("nan")}}, "effect.delay_ms"),
    ({"service": "oss", "effect": {"delay_ms": "soon"}}, "effect.delay_ms"),
    ({"service": "oss", "effect": {"throttle": {"retry_after": 1, "colour": "red"}}},
     "effect.throttle.colour"),
    ({"service": "mns", "effect": {"notification": {"duplicate": True}}}, "effect.notification.duplicate"),
    ({"service": "oss", "effect": {"reset": True}, "times": 1.5}, "times"),
    ([{"service": "oss", "effect": {"reset": True}}, {"service": "oss"}], "[1].effect"),
])
def test_rules_are_checked_against_what_each_service_registered(emulator: LiveServer, rule, field) -> None:
    response = httpx.post(emulator.url + "/_emulator/faults",
                          content=json.dumps(rule), headers={"content-type": "application/json"})
    assert response.status_code == 400 and response.json()["field"] == field, response.text
    assert emulator.admin("GET", "faults")["faults"] == []


def test_any_service_matches_on_every_registered_field(emulator: LiveServer) -> None:
    added = emulator.admin("POST", "faults", [
        {"service": "*", "match": {"project": "p", "bucket": "b", "queue": "q", "model": "m"},
         "effect": {"reset": True}},
        {"service": "imm", "match": {"topic": "t", "task_type": "MediaConvert"},
         "effect": {"notification": {"drop": True}}}])
    assert [r["effect"] for r in added] == [{"reset": True}, {"notification": {"drop": True}}]


def _store(data_dir: Path, kind: str, key: str, body: str) -> None:
    """Write a raw document body as an older or damaged server might have left it."""
    Documents(data_dir / "emulator.sqlite3").close()  # creates the schema
    with sqlite3.connect(data_dir / "emulator.sqlite3") as conn:
        conn.execute("INSERT OR REPLACE INTO documents (kind, namespace, key, body) VALUES (?,?,?,?)",
                     (kind, "_", key, body))


@pytest.mark.parametrize("stored", [
    '{"offset": 1e300, "frozen_at": null}',
    '{"offset": 0, "frozen_at": 1e308}',
    '{"offset": NaN, "frozen_at": null}',
    '{"offset": 0, "frozen_at": -Infinity}',
    '{"offset": 0, "frozen_at": "soon"}',
    '[1, 2]',
    'not json',
])
def test_a_poisoned_stored_clock_is_reset_and_the_server_starts(tmp_path, stored) -> None:
    _store(tmp_path, "clock", "clock", stored)
    with LiveServer(data_dir=tmp_path) as server:
        assert httpx.get(server.url + "/_emulator/health").status_code == 200
        clock = server.admin("GET", "clock")
        assert abs(clock["epoch"] - time.time()) < 600 and not clock["frozen"]
        server.advance(60)
    with LiveServer(data_dir=tmp_path) as server:  # the reset clock was stored again
        assert server.admin("GET", "clock")["epoch"] - time.time() > 30


def test_stored_rules_of_todays_format_load_and_broken_ones_are_skipped(tmp_path) -> None:
    _store(tmp_path, "fault", "old", json.dumps({
        "id": "old", "service": "imm", "match": {"project": "p"}, "effect": {"delay_ms": 5},
        "times": None, "after": 0, "probability": 1.0, "seed": 0, "seen": 3, "applied": 2, "draws": 0}))
    _store(tmp_path, "fault", "broken", json.dumps({"id": "broken", "effect": {"explode": 1}}))
    with LiveServer(data_dir=tmp_path) as server:
        rules = server.admin("GET", "faults")["faults"]
        listed = [(r["id"], r["effect"], r["seen"], r["applied"]) for r in rules]
        assert listed == [("old", {"delay_ms": 5}, 3, 2)]


def test_faults_register_match_fields_per_service(tmp_path) -> None:
    faults = Faults(Documents(tmp_path / "db.sqlite3"), Ids(0))
    faults.register_match_fields("widgets", ["colour"])
    rule = faults.add({"service": "widgets", "match": {"colour": "red"}, "effect": {"reset": True}})
    assert faults.take("widgets", {"colour": "red"}, ("reset",)) is rule
    assert faults.take("widgets", {"colour": "blue"}, ("reset",)) is None
    with pytest.raises(FaultRuleError) as err:
        faults.add({"service": "gadgets", "effect": {"reset": True}})
    assert err.value.field == "service" and "widgets" in err.value.message


class WidgetItem(SectionItem):
    name: NonEmptyString
    size: int = 1


def test_a_service_registers_its_own_scenario_section(tmp_path) -> None:
    runtime = Runtime(Config(ephemeral=True))
    seeded: list[tuple[str, str, int]] = []

    def seed_widget(ns: str, item: WidgetItem, base_dir: Path) -> None:
        if item.size > 10:
            raise InvalidDocument("size", "too big for the shelf")
        seeded.append((ns, item.name, item.size))

    try:
        runtime.scenario.register("widgets", WidgetItem, seed_widget)
        with pytest.raises(ValueError):
            runtime.scenario.register("widgets", WidgetItem, seed_widget)
        apply_scenario(runtime, {"widgets": [{"name": "w", "size": 3}]}, tmp_path)
        assert seeded == [("default", "w", 3)]
        for doc, field in [({"widgets": [{"name": "w", "size": "3"}]}, "widgets[0].size"),
                           ({"widgets": [{"name": "w"}, {"size": 2}]}, "widgets[1].name"),
                           ({"widgets": [{"name": "w", "size": 11}]}, "widgets[0].size"),
                           ({"widgets": [{"name": "w", "namespace": "nobody"}]}, "widgets[0].namespace"),
                           ({"widgets": {"name": "w"}}, "widgets"),
                           ({"gadgets": []}, "gadgets"),
                           ({"clock": {"set": "10000-01-01"}}, "clock.set"),
                           ({"namespaces": [1]}, "namespaces[0]")]:
            with pytest.raises(ScenarioError) as err:
                apply_scenario(runtime, doc, tmp_path)
            assert err.value.field == field, doc
    finally:
        runtime.close()


def test_settings_from_the_environment_and_flags(monkeypatch) -> None:
    monkeypatch.setenv("EMULATOR_PORT", "1234")
    monkeypatch.setenv("EMULATOR_VERIFY_SIGNATURES", "false")
    monkeypatch.setenv("EMULATOR_DATA_DIR", "")  # empty: unset
    monkeypatch.setenv("EMULATOR_OSS_MAX_OBJECT_SIZE", "1000")
    config = from_env(port=None, speed="realistic")  # a flag not given is None
    assert (config.port, config.verify_signatures, config.data_dir, config.oss_max_object_size,
            config.speed) == (1234, False, None, 1000, "realistic")
    assert from_env(port=5).port == 5  # flags win
    assert Config().port == 9088  # Config itself reads no environment
    monkeypatch.setenv("EMULATOR_SPEED", "fast")
    with pytest.raises(ConfigError, match="EMULATOR_SPEED"):
        from_env()


def test_a_bad_setting_stops_the_start_naming_the_variable(tmp_path) -> None:
    with pytest.raises(RuntimeError) as err:
        LiveServer(env={"EMULATOR_WORKERS": "-1"}).start()
    assert "EMULATOR_WORKERS" in str(err.value)
