"""Malformed fault rules are refused naming a field; valid ones, whatever they say, never make the
emulator fail (no 500, no stuck server, no lost object)."""

from __future__ import annotations

import httpx
import oss2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import json_values

from emulator.core.clock import Clock
from emulator.core.documents import Documents
from emulator.core.faults import REQUEST_EFFECTS, FaultRuleError, Faults
from emulator.core.ids import Ids
from emulator.testing.server import LiveServer
from tests.oss_clients import oss2_bucket

WINDOW_LIKE = st.one_of(json_values, st.floats(-10, 10**10), st.sampled_from(
    ["2026-01-01T00:00:00Z", "2026-13-01", "tomorrow", "1970-01-01T00:00:00"]))
RULE_LIKE = st.fixed_dictionaries({}, optional={
    "service": st.sampled_from(["oss", "imm", "*"]),
    "effect": st.dictionaries(st.sampled_from([*REQUEST_EFFECTS, "explode"]),
                              st.one_of(json_values, st.dictionaries(
                                  st.sampled_from(["bytes", "fraction", "kib_per_second", "max_seconds",
                                                   "ms", "headers", "per_second", "retry_after", "status"]),
                                  json_values, max_size=3)), min_size=1, max_size=2),
    "from": WINDOW_LIKE, "until": WINDOW_LIKE,
    "schedule": st.one_of(json_values, st.fixed_dictionaries({}, optional={
        "every_seconds": json_values, "for_seconds": json_values, "probability": json_values})),
    "preset": st.sampled_from(["oss-flaky-downloads", "imm-slow-queue", "nope"]) | st.text(max_size=4),
})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=st.one_of(json_values, RULE_LIKE))
def test_any_document_is_added_whole_or_refused_naming_a_field(tmp_path, doc) -> None:
    docs = Documents(tmp_path / "db.sqlite3")
    try:
        faults = Faults(docs, Ids(0), Clock())
        faults.clear()
        faults.register_match_fields("oss", ("bucket",))
        faults.register_match_fields("imm", ("project",))
        try:
            added = faults.add_all(doc)
        except FaultRuleError as err:
            assert isinstance(err.field, str) and err.message
            assert faults.list() == []  # a preset is added whole or not at all
            return
        kept = Faults(docs, Ids(0), Clock()).list()  # what a restart reads back
        assert [r.public() for r in kept] == sorted((r.public() for r in added), key=lambda r: r["id"])
    finally:
        docs.close()


VALID_REQUEST_EFFECT = st.one_of(
    st.fixed_dictionaries({"truncate": st.one_of(st.fixed_dictionaries({"bytes": st.integers(0, 20)}),
                                                 st.fixed_dictionaries({"fraction": st.floats(0, 1)}))}),
    st.fixed_dictionaries({"bandwidth": st.fixed_dictionaries({"kib_per_second": st.floats(4, 1000)})}),
    st.fixed_dictionaries({"hang": st.fixed_dictionaries({"max_seconds": st.floats(0, 0.3)})}),
    st.fixed_dictionaries({"slow_headers": st.fixed_dictionaries({"ms": st.floats(0, 100)})}),
    st.fixed_dictionaries({"corrupt": st.one_of(st.just(True), st.fixed_dictionaries(
        {}, optional={"bytes": st.integers(1, 100),
                      "headers": st.lists(st.sampled_from(["etag", "content-length", "x-oss-*", "*",
                                                           "date", "connection"]), min_size=1)}))}),
    st.fixed_dictionaries({"outage": st.just(True)}),
    st.fixed_dictionaries({"rate_limit": st.fixed_dictionaries({"per_second": st.integers(1, 3)})}),
    st.fixed_dictionaries({"reset": st.just(True)}),
)


@pytest.fixture
def bucket(emulator: LiveServer) -> oss2.Bucket:
    b = oss2_bucket(emulator, "media")
    b.create_bucket()
    b.put_object("clip.bin", b"0123456789" * 10)
    return b


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(effect=VALID_REQUEST_EFFECT, action=st.sampled_from(["GetObject", "HeadObject", "PutObject"]))
def test_no_rule_breaks_the_emulator(emulator: LiveServer, bucket, effect, action) -> None:
    emulator.admin("DELETE", "faults")
    emulator.add_fault({"service": "oss", "match": {"action": action}, "effect": effect, "times": 1})
    method = {"GetObject": "GET", "HeadObject": "HEAD", "PutObject": "PUT"}[action]
    url = bucket.sign_url(method, "clip.bin" if method != "PUT" else "new.bin", 600)
    try:
        answer = httpx.request(method, url, content=b"new" if method == "PUT" else None, timeout=5)
        assert answer.status_code < 500 or answer.status_code == 503  # an outage's 503, never a 500
    except httpx.TransportError:
        pass  # the rule closed the connection: that is its job
    assert httpx.get(emulator.url + "/_emulator/health", timeout=5).json()["status"] == "ok"
    emulator.admin("DELETE", "faults")  # a rate limit may still be counting
    assert bucket.get_object("clip.bin").read() == b"0123456789" * 10
