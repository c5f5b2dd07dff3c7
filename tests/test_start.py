"""The start: the port opens before the emulator is built; health says "loading" (503) until it is
built and started (a scenario loaded included), then "ok" (200); any other request that arrives
meanwhile waits and gets the emulator's own answer."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

import httpx
import oss2
import pytest
from alibabacloud_imm20200930 import models as imm_models
from alibabacloud_imm20200930.client import Client
from alibabacloud_tea_openapi.utils_models import Config as ImmConfig

from emulator.boot import Boot
from emulator.config import Config
from emulator.listen import Listen, read_listen
from emulator.testing.server import free_port

DEFAULTS = Config()


# ---- where to listen, read without pydantic --------------------------------------------------------

def test_listen_defaults_are_the_configs() -> None:
    assert read_listen({}) == Listen(*(getattr(DEFAULTS, name) for name in Listen._fields))


def test_listen_reads_variables_and_flags_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMULATOR_PORT", "9100")
    monkeypatch.setenv("EMULATOR_HOST", "0.0.0.0")
    monkeypatch.setenv("EMULATOR_HEADER_TIMEOUT_SECONDS", "2.5")
    monkeypatch.setenv("EMULATOR_MAX_CONNECTIONS_PER_CLIENT", "0")
    listen = read_listen({"port": 0, "log_level": "debug", "host": None})
    assert listen == Listen("0.0.0.0", 0, "debug", 2.5, 0)


@pytest.mark.parametrize(("name", "value"), [
    ("EMULATOR_PORT", "http"), ("EMULATOR_PORT", "70000"), ("EMULATOR_PORT", "９０８８"),
    ("EMULATOR_LOG_LEVEL", "WARNING"), ("EMULATOR_HEADER_TIMEOUT_SECONDS", "-1"),
    ("EMULATOR_HEADER_TIMEOUT_SECONDS", "nan"), ("EMULATOR_MAX_CONNECTIONS_PER_CLIENT", "-3"),
])
def test_a_value_not_plainly_valid_is_left_to_the_full_check(monkeypatch: pytest.MonkeyPatch, name: str,
                                                              value: str) -> None:
    monkeypatch.setenv(name, value)
    assert read_listen({}) is None


def test_a_negative_flag_is_left_to_the_full_check() -> None:
    assert read_listen({"header_timeout_seconds": -1.0}) is None
    assert read_listen({"max_connections_per_client": -1}) is None


def test_what_opens_the_port_loads_none_of_the_emulator() -> None:
    """`serve` up to the open port imports neither pydantic nor Starlette nor any service: the build
    thread does (a fresh interpreter, as a start is)."""
    heavy = ("pydantic", "starlette", "PIL", "emulator.app", "emulator.config", "emulator.core.runtime")
    code = f"import sys, emulator.cli, emulator.server; print([m for m in {heavy!r} if m in sys.modules])"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"


# ---- the loading app, in process -------------------------------------------------------------------

class Built:
    """Stands for the emulator: answers every request 200 with its path."""

    def __init__(self) -> None:
        self.events: list[str] = []

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        body = scope["path"].encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    async def startup(self) -> None:
        self.events.append("startup")

    async def shutdown(self) -> None:
        self.events.append("shutdown")


class Lifespan:
    """uvicorn's side of the lifespan protocol."""

    def __init__(self, app: Boot) -> None:
        self.incoming: asyncio.Queue[dict] = asyncio.Queue()
        self.outgoing: asyncio.Queue[dict] = asyncio.Queue()
        self.task = asyncio.create_task(app({"type": "lifespan"}, self.incoming.get, self.outgoing.put))

    async def say(self, message: str) -> str:
        await self.incoming.put({"type": f"lifespan.{message}"})
        return (await self.outgoing.get())["type"]


async def _run_boot(build_blocks: threading.Event, built: Built, fails: str | None) -> dict[str, Any]:
    def build() -> Built:
        build_blocks.wait(30)
        if fails:
            raise RuntimeError(fails)
        return built

    ready: list[Built] = []
    failures: list[str] = []
    boot = Boot(build, ready.append, failures.append, lambda app: app.events.append("close"))
    lifespan = Lifespan(boot)
    seen: dict[str, Any] = {"startup": await lifespan.say("startup")}
    transport = httpx.ASGITransport(app=boot)
    async with httpx.AsyncClient(transport=transport, base_url="http://emulator") as client:
        loading = await client.get("/_emulator/health")
        seen["loading"] = (loading.status_code, loading.json()["status"])
        waiting = asyncio.create_task(client.get("/bucket/key"))
        done, _ = await asyncio.wait({waiting}, timeout=0.2)
        seen["answered while loading"] = bool(done)
        build_blocks.set()
        after = await waiting
        seen["after"] = (after.status_code, after.text)
        health = await client.get("/_emulator/health")
        seen["health"] = (health.status_code, health.text)
    seen["shutdown"] = await lifespan.say("shutdown")
    seen["ready"], seen["failures"], seen["events"] = ready, failures, built.events
    return seen


def test_health_says_loading_and_other_requests_wait_for_the_build() -> None:
    built = Built()
    seen = asyncio.run(_run_boot(threading.Event(), built, fails=None))
    assert seen["startup"] == "lifespan.startup.complete"  # uvicorn serves before the build ends
    assert seen["loading"] == (503, "loading")
    assert not seen["answered while loading"]
    assert seen["after"] == (200, "/bucket/key")  # the built app's answer, once built
    assert seen["health"] == (200, "/_emulator/health")  # from then on the built app answers health
    assert seen["ready"] == [built] and seen["failures"] == []
    assert seen["events"] == ["startup", "shutdown", "close"]
    assert seen["shutdown"] == "lifespan.shutdown.complete"


def test_a_failed_build_says_why_and_answers_failed() -> None:
    built = Built()
    seen = asyncio.run(_run_boot(threading.Event(), built, fails="data dir /x is not a directory"))
    assert seen["failures"] == ["data dir /x is not a directory"] and seen["ready"] == []
    assert seen["after"][0] == 503 and '"status": "failed"' in seen["after"][1]
    assert "data dir /x is not a directory" in seen["health"][1]
    assert seen["events"] == []  # never started, so never shut down


# ---- the real server process -----------------------------------------------------------------------

def _spawn(tmp_path: Path, *args: str) -> tuple[subprocess.Popen, int, Path]:
    """The server on a free port, its ephemeral data directory made under tmp_path/"tmp"."""
    port = free_port()
    log = tmp_path / "server.log"
    (tmp_path / "tmp").mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EMULATOR_")}
    env["TMPDIR"] = str(tmp_path / "tmp")
    with log.open("wb") as stderr:
        process = subprocess.Popen([sys.executable, "-m", "emulator", "serve", "--ephemeral", "--port",
                                    str(port), *args], stdout=subprocess.DEVNULL, stderr=stderr, env=env)
    return process, port, log


def _first_health(process: subprocess.Popen, port: int, log: Path) -> httpx.Response:
    """The first answer health gives, as soon as the port is open."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            return httpx.get(f"http://127.0.0.1:{port}/_emulator/health", timeout=5)
        except httpx.TransportError:
            time.sleep(0.01)
    raise AssertionError("the port never opened")


def _wait_ready(port: int) -> list[tuple[int, str]]:
    """Every health answer until the first 200 (polled with a deadline)."""
    answers = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        health = httpx.get(f"http://127.0.0.1:{port}/_emulator/health", timeout=5)
        answers.append((health.status_code, health.json()["status"]))
        if health.status_code == 200:
            return answers
        time.sleep(0.02)
    raise AssertionError(f"never ready: {answers[-3:]}")


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _oss(port: int, bucket: str) -> oss2.Bucket:
    return oss2.Bucket(oss2.Auth(DEFAULTS.access_key_id, DEFAULTS.access_key_secret),
                       f"http://127.0.0.1:{port}", bucket)


def _create_project(port: int, name: str) -> str:
    client = Client(ImmConfig(access_key_id=DEFAULTS.access_key_id,
                              access_key_secret=DEFAULTS.access_key_secret,
                              endpoint=f"127.0.0.1:{port}", protocol="http"))
    return client.create_project(imm_models.CreateProjectRequest(project_name=name)).body.project.project_name


def _put_and_get(port: int) -> bytes:
    bucket = _oss(port, "first-bucket")
    bucket.create_bucket()
    bucket.put_object("hello.txt", b"first request")
    return bucket.get_object("hello.txt").read()


def test_requests_made_as_the_port_opens_get_the_right_answers(tmp_path: Path) -> None:
    process, port, log = _spawn(tmp_path)
    try:
        first = _first_health(process, port, log)
        assert first.status_code in (503, 200)
        if first.status_code == 503:
            assert first.json()["status"] == "loading"
        with ThreadPoolExecutor(2) as pool:  # both sent while it may still be loading
            oss_answer = pool.submit(_put_and_get, port)
            imm_answer = pool.submit(_create_project, port, "first-project")
            assert oss_answer.result(60) == b"first request"
            assert imm_answer.result(60) == "first-project"
        answers = _wait_ready(port)
        assert answers[-1] == (200, "ok")
        assert f"on http://127.0.0.1:{port} " in log.read_text()  # the banner, once ready
    finally:
        _stop(process)


SCENARIO = """
buckets:
  - name: scenario-bucket
    objects:
      - {key: notes.txt, content: seeded}
"""


def test_a_scenario_loads_before_anything_but_health_answers(tmp_path: Path) -> None:
    # The scenario is a named pipe: the build waits, reading it, until the test writes it.
    scenario = tmp_path / "scenario.yaml"
    os.mkfifo(scenario)
    process, port, log = _spawn(tmp_path, "--scenario", str(scenario))
    try:
        first = _first_health(process, port, log)
        assert (first.status_code, first.json()["status"]) == (503, "loading")
        with ThreadPoolExecutor(2) as pool:
            seeded = pool.submit(lambda: _oss(port, "scenario-bucket").get_object("notes.txt").read())
            project = pool.submit(_create_project, port, "while-loading")
            done, _ = wait([seeded, project], timeout=0.5)
            assert not done, "nothing but health answers before the scenario is loaded"
            assert httpx.get(f"http://127.0.0.1:{port}/_emulator/health", timeout=5).status_code == 503
            assert "on http://" not in log.read_text()  # no banner yet
            scenario.write_text(SCENARIO)
            assert seeded.result(60) == b"seeded"
            assert project.result(60) == "while-loading"
        assert _wait_ready(port) == [(200, "ok")]
    finally:
        _stop(process)


def test_a_stopped_server_removes_its_ephemeral_data_dir(tmp_path: Path) -> None:
    process, port, log = _spawn(tmp_path)
    try:
        _first_health(process, port, log)
        _wait_ready(port)
        assert [p.name[:16] for p in (tmp_path / "tmp").iterdir()] == ["aliyun-emulator-"]
    finally:
        _stop(process)
    assert list((tmp_path / "tmp").iterdir()) == []


def test_a_server_stopped_while_loading_stops_once_loaded_and_leaves_nothing(tmp_path: Path) -> None:
    scenario = tmp_path / "scenario.yaml"
    os.mkfifo(scenario)
    process, port, log = _spawn(tmp_path, "--scenario", str(scenario))
    try:
        assert _first_health(process, port, log).status_code == 503
        process.terminate()
        scenario.write_text(SCENARIO)  # the build it waited for ends; nothing is started
        process.wait(30)
    finally:
        _stop(process)
    assert list((tmp_path / "tmp").iterdir()) == []
    assert "on http://" not in log.read_text()  # never announced
