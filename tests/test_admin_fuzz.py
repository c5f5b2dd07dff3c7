"""Malformed admin requests get a 4xx naming the problem, never a 500; nothing already there breaks;
a refused fault rule (or list of rules) stores nothing, an accepted one is listed as answered."""

from __future__ import annotations

import httpx
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from strategies import json_values

from emulator.testing.server import LiveServer

JSON = json_values
RULE_LIKE = st.fixed_dictionaries({}, optional={
    "service": st.sampled_from(["oss", "imm", "mns", "dashscope", "*", "s3"]) | st.text(max_size=5),
    "match": st.dictionaries(st.sampled_from(["action", "method", "bucket", "model", "colour"]), JSON,
                             max_size=3),
    "effect": st.dictionaries(st.sampled_from(["http_error", "throttle", "delay_ms", "reset", "garbage",
                                               "task_fail", "task_stall", "task_duration_seconds",
                                               "notification", "explode"]), JSON, max_size=2),
    "times": JSON, "after": JSON, "probability": JSON, "seed": JSON})


VALID_RULE = {"service": "oss", "effect": {"delay_ms": 1}}


def _listed(emulator: LiveServer) -> list[dict]:
    return httpx.get(f"{emulator.url}/_emulator/faults", timeout=10).json()["faults"]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(["faults", "clock", "namespaces", "reset", "requests", "tasks", "billing"]),
       method=st.sampled_from(["GET", "POST", "DELETE", "PUT"]),
       body=st.one_of(JSON, RULE_LIKE, st.lists(RULE_LIKE, max_size=3)),
       raw=st.one_of(st.none(), st.binary(max_size=50)))
# Always tried, whatever hypothesis draws: one rule accepted, a list accepted, a list refused
# because its second rule is bad (the first must not stay behind).
@example(path="faults", method="POST", body=VALID_RULE, raw=None)
@example(path="faults", method="POST", body=[VALID_RULE, VALID_RULE], raw=None)
@example(path="faults", method="POST", body=[VALID_RULE, {"effect": {"delay_ms": -1}}], raw=None)
def test_admin_never_answers_500(emulator: LiveServer, path, method, body, raw) -> None:
    if path == "reset" and method == "POST" and raw is None and not isinstance(body, dict):
        body = {}
    before = _listed(emulator)
    kwargs = {"content": raw} if raw is not None else {"json": body}
    response = httpx.request(method, f"{emulator.url}/_emulator/{path}", timeout=10, **kwargs)
    assert response.status_code < 500, response.text
    if response.status_code == 400:
        assert "error" in response.json()
    assert httpx.get(f"{emulator.url}/_emulator/health").json()["status"] == "ok"
    listed = _listed(emulator)
    assert all("effect" in rule and len(rule["effect"]) == 1 for rule in listed)
    if path == "faults" and method == "POST":
        if response.status_code == 201:
            answered = response.json()
            added = answered if isinstance(answered, list) else [answered]
            assert len(added) == (len(body) if isinstance(body, list) else 1)
            assert listed == before + added  # stored as answered, in order
        else:
            assert listed == before  # a refused request stores nothing
