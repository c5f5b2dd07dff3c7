"""The server starts, answers health, resets, and moves its clock."""

from __future__ import annotations

import httpx

from emulator.testing.server import LiveServer


def test_health_lists_services(emulator: LiveServer) -> None:
    body = httpx.get(emulator.url + "/_emulator/health").json()
    assert body["status"] == "ok"
    assert set(body["services"]) >= {"oss", "imm", "mns", "dashscope"}


def test_clock_advances_and_resets(emulator: LiveServer) -> None:
    before = emulator.admin("GET", "clock")["epoch"]
    after = emulator.advance(3600)["epoch"]
    assert after - before >= 3600
    emulator.reset()
    assert emulator.admin("GET", "clock")["epoch"] < before + 60


def test_clock_rejects_bad_input(emulator: LiveServer) -> None:
    response = httpx.post(emulator.url + "/_emulator/clock", json={"advance_seconds": "soon"})
    assert response.status_code == 400
    assert response.json()["field"] == "advance_seconds"
    response = httpx.post(emulator.url + "/_emulator/clock", content=b"{not json")
    assert response.status_code == 400
