"""The command line: `serve` refuses bad settings in one line with exit status 2 and leaves
nothing behind; the client commands drive a running emulator through the admin API."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from emulator.cli import main
from emulator.testing.server import LiveServer, free_port


def _serve(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "emulator", "serve", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=60, env={**_clean_env(), **(env or {})})


def _clean_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("EMULATOR_")}


def _refused(result: subprocess.CompletedProcess, says: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert says in lines[0], lines[0]
    assert lines[0].startswith("aliyun-emulator")
    assert result.stdout == ""


@pytest.mark.parametrize(("args", "says"), [
    (["--no-such-flag"], "unrecognized arguments: --no-such-flag"),
    (["--port", "70000"], "port must be a number from 0 (any free port) to 65535"),
    (["--port", "-1"], "port must be a number from 0 (any free port) to 65535"),
    (["--log-level", "loud"], "log level must be one of critical, error, warning, info, debug, trace"),
    (["--workers", "0"], "workers must be a whole number >= 1"),
    (["--speed", "warp"], "invalid choice: 'warp'"),
])
def test_bad_flags_are_one_line_and_status_2(args: list[str], says: str, tmp_path: Path) -> None:
    _refused(_serve(*args, cwd=tmp_path), says)
    assert list(tmp_path.iterdir()) == [], "nothing created"


def test_a_bad_environment_variable_is_one_line(tmp_path: Path) -> None:
    _refused(_serve(cwd=tmp_path, env={"EMULATOR_PORT": "http"}),
             "EMULATOR_PORT (or --port): Input should be a valid integer")
    _refused(_serve(cwd=tmp_path, env={"EMULATOR_LOG_LEVEL": "chatty"}),
             "EMULATOR_LOG_LEVEL (or --log-level): Input should be 'critical'")


def test_a_port_in_use_is_refused_before_the_banner_and_creates_nothing(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = _serve("--port", str(port), "--data-dir", str(tmp_path / "data"), cwd=tmp_path)
    _refused(result, f"cannot listen on 127.0.0.1:{port}: address already in use")
    assert not (tmp_path / "data").exists()


def test_a_data_dir_that_cannot_be_one_is_refused(tmp_path: Path) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("not a directory")
    _refused(_serve("--port", str(free_port()), "--data-dir", str(a_file), cwd=tmp_path),
             "is not a directory")
    _refused(_serve("--port", str(free_port()), "--data-dir", str(a_file / "below"), cwd=tmp_path),
             "cannot create data dir")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_a_bad_scenario_removes_the_data_dir_it_created(tmp_path: Path) -> None:
    scenario = tmp_path / "bad.yaml"
    scenario.write_text("buckets: 3\n")
    result = _serve("--port", str(free_port()), "--data-dir", str(tmp_path / "data"), "--scenario",
                    str(scenario), cwd=tmp_path)
    _refused(result, "buckets")
    assert not (tmp_path / "data").exists()


def _cli(capsys: pytest.CaptureFixture[str], server: LiveServer, *args: str) -> tuple[int, str, str]:
    code = main([args[0], "--url", server.url, *args[1:]])
    out, err = capsys.readouterr()
    return code, out, err


def test_status_reset_and_clock(emulator: LiveServer, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _cli(capsys, emulator, "status")
    assert code == 0 and "ok" in out.splitlines()[0] and f"{emulator.url}/_emulator/ui" in out
    assert _cli(capsys, emulator, "clock", "freeze")[1].strip().endswith("Z (frozen)")
    shown = _cli(capsys, emulator, "clock", "set", "2030-01-01T00:00:00Z")[1]
    assert shown.strip() == "2030-01-01T00:00:00.000Z (frozen)"
    shown = _cli(capsys, emulator, "clock", "advance", "90")[1]
    assert shown.strip() == "2030-01-01T00:01:30.000Z (frozen)"
    assert _cli(capsys, emulator, "clock")[1].strip() == "2030-01-01T00:01:30.000Z (frozen)"
    assert "(frozen)" not in _cli(capsys, emulator, "clock", "unfreeze")[1]
    code, _, err = _cli(capsys, emulator, "clock", "advance", "soon")
    assert code == 1
    assert err.strip() == "aliyun-emulator clock: clock advance needs a number of seconds, not 'soon'"
    code, out, _ = _cli(capsys, emulator, "reset")
    assert code == 0 and out.strip() == "reset: all"
    assert emulator.admin("GET", "clock")["now"] < "2030"
    code, _, err = _cli(capsys, emulator, "reset", "--namespace", "nobody")
    assert code == 1 and "no namespace 'nobody'" in err


def test_faults_add_list_clear(emulator: LiveServer, capsys: pytest.CaptureFixture[str],
                               tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("- {id: one, service: oss, effect: {throttle: true}}\n"
                     "- {id: two, service: imm, effect: {delay_ms: 10}, times: 2}\n")
    code, out, _ = _cli(capsys, emulator, "faults", "add", str(rules))
    assert code == 0 and out.split() == ["added", "one", "added", "two"]
    listed = [json.loads(line) for line in _cli(capsys, emulator, "faults")[1].splitlines()]
    assert [(r["id"], r["service"], r["times"]) for r in listed] == [("one", "oss", None), ("two", "imm", 2)]
    bad = tmp_path / "bad.json"
    bad.write_text('{"service": "oss", "effect": {"explode": true}}')
    code, _, err = _cli(capsys, emulator, "faults", "add", str(bad))
    assert code == 1 and "the emulator refused" in err and "(effect" in err
    assert _cli(capsys, emulator, "faults", "clear")[0] == 0
    assert emulator.admin("GET", "faults")["faults"] == []


def test_requests_and_tasks(emulator: LiveServer, capsys: pytest.CaptureFixture[str]) -> None:
    httpx.get(f"{emulator.url}/no-such-bucket/key")
    code, out, _ = _cli(capsys, emulator, "requests", "--service", "oss")
    assert code == 0
    assert out.splitlines()[-1].split()[1:4] == ["default", "oss", "GetObject"]
    code, out, _ = _cli(capsys, emulator, "tasks")
    assert code == 0 and out.strip() == "no tasks"


def test_an_unreachable_emulator_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["status", "--url", f"http://127.0.0.1:{free_port()}"])
    err = capsys.readouterr().err
    assert code == 1 and len(err.strip().splitlines()) == 1 and "cannot reach the emulator" in err
