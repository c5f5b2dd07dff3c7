"""The request log: one stderr line per request, from the journal's record (`--quiet` turns it
off); the line's format as a unit."""

from __future__ import annotations

import io
import time

import httpx
import oss2

from emulator.core.requestlog import format_line, write_line
from emulator.testing.server import LiveServer


def test_a_line_says_time_namespace_service_operation_status_latency_and_fault() -> None:
    record = {"time": 1767225600.5, "namespace": "team-a", "service": "oss", "action": "GetObject",
              "method": "GET", "path": "/b/k", "status": 503, "latency_ms": 1.234,
              "fault": {"id": "f-1", "effect": "http_error"}}
    assert format_line(record) == ("2026-01-01T00:00:00.500Z team-a oss GetObject 503 1.2ms "
                                   "fault=f-1:http_error")
    unnamed = {**record, "action": None, "status": None, "fault": None, "namespace": None}
    assert format_line(unnamed) == "2026-01-01T00:00:00.500Z - oss GET /b/k - 1.2ms"
    listed = {**record, "time": "2026-01-01T00:00:00.500Z"}  # as /_emulator/requests gives it
    assert format_line(listed) == format_line(record)


def test_a_closed_stream_does_not_fail_the_request() -> None:
    stream = io.StringIO()
    stream.close()
    write_line({"time": 0, "service": "oss", "status": 200, "latency_ms": 0}, stream)


def _wait_for_line(server: LiveServer, text: str, timeout: float = 10) -> str:
    deadline = time.monotonic() + timeout
    while text not in server.log():
        if time.monotonic() > deadline:
            raise AssertionError(f"{text!r} never logged; stderr:\n{server.log()}")
        time.sleep(0.05)
    return server.log()


def test_every_request_is_logged_by_default() -> None:
    with LiveServer() as server:
        auth = oss2.Auth(server.access_key_id, server.access_key_secret)
        bucket = oss2.Bucket(auth, server.url, "log-bucket")
        bucket.create_bucket()
        error = {"status": 503, "code": "ServiceUnavailable"}
        server.add_fault({"service": "oss", "match": {"method": "GET"}, "id": "slow-get",
                          "effect": {"http_error": error}, "times": 1})
        assert httpx.get(f"{server.url}/log-bucket/missing").status_code == 503
        log = _wait_for_line(server, "fault=slow-get:http_error")
    assert "console: http://127.0.0.1:" in log
    lines = [line for line in log.splitlines() if " oss " in line]
    assert any(line.split()[1:5] == ["default", "oss", "PutBucket", "200"] for line in lines), lines
    faulted = next(line for line in lines if "fault=" in line)
    assert faulted.split()[1:5] == ["default", "oss", "GetObject", "503"]
    assert not any("/_emulator/" in line for line in lines)  # the admin API is not a cloud request


def test_quiet_turns_the_log_off() -> None:
    with LiveServer(extra_args=["--quiet"]) as server:
        assert httpx.get(f"{server.url}/no-such-bucket/k").status_code in (403, 404)
        entries = server.requests(service="oss")
        assert entries, "the journal still records"
        log = server.log()
    assert "NoSuchBucket" not in log and " oss " not in log
