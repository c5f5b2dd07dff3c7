"""Every Python example and every curl example in README.md works, as written, against a live
emulator (its port put in place of 9088): each curl answers 2xx with a JSON body that is not an
error, and a `<placeholder>` is filled from what an earlier command of the block answered."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from emulator.testing.server import LiveServer

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```(python|bash)\n(.*?)```", README, re.S)
PYTHON = [code for lang, code in BLOCKS if lang == "python"]
CURL = [code for lang, code in BLOCKS if lang == "bash" and code.lstrip().startswith(("curl", "export"))]
PLACEHOLDER = re.compile(r"<([a-z_]+)>")


def commands(block: str) -> list[str]:
    """The block's commands: each starts a line with `curl` or `export` (a command may go on over
    several lines, through a backslash or a quoted string)."""
    found: list[str] = []
    for line in block.splitlines():
        if line.startswith(("curl", "export")) or not found:
            found.append(line)
        else:
            found[-1] += "\n" + line
    return found


def find_key(value, key: str):
    """The first value under `key` anywhere in a decoded JSON document, or None."""
    if isinstance(value, dict):
        if key in value:
            return value[key]
        value = list(value.values())
    if isinstance(value, list):
        return next((found for v in value if (found := find_key(v, key)) is not None), None)
    return None


def _run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=180)


@pytest.mark.parametrize("code", PYTHON, ids=[f"python-{i}" for i in range(len(PYTHON))])
def test_python_example(code: str, emulator: LiveServer, tmp_path: Path) -> None:
    """A script runs with `python -c`; a test module (it has `def test_`) runs under pytest with
    the plugin, as a user's suite would. Both find the seed's `brewing.mov` beside them."""
    shutil.copy(ROOT / "fixtures" / "brewing.mov", tmp_path / "brewing.mov")
    script = code.replace("127.0.0.1:9088", emulator.endpoint)
    if "def test_" in code:
        (tmp_path / "test_example.py").write_text(script)
        result = _run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_example.py"],
                      tmp_path)
        assert result.returncode == 0 and " passed" in result.stdout, result.stdout[-3000:]
        return
    result = _run([sys.executable, "-c", script], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
@pytest.mark.parametrize("code", CURL, ids=[f"curl-{i}" for i in range(len(CURL))])
def test_curl_example(code: str, emulator: LiveServer, tmp_path: Path) -> None:
    exports: list[str] = []
    answers: list = []
    for command in commands(code.replace("127.0.0.1:9088", emulator.endpoint)):
        if command.startswith("export"):
            exports.append(command)
            continue
        for name in PLACEHOLDER.findall(command):  # e.g. <task_id> from the submit's answer
            value = next((v for a in reversed(answers) if (v := find_key(a, name)) is not None), None)
            assert value is not None, f"nothing earlier in the block answered {name!r}"
            command = command.replace(f"<{name}>", str(value))
        script = "\n".join(["set -e", *exports, command.replace("curl -s", "curl -sf", 1)])
        result = _run(["bash", "-c", script], tmp_path)
        assert result.returncode == 0, (command, result.stderr + result.stdout)
        answer = json.loads(result.stdout)
        assert not (isinstance(answer, dict) and {"code", "error", "Code"} & set(answer)), (command, answer)
        assert find_key(answer, "task_status") != "UNKNOWN", (command, answer)  # DashScope's "no such task"
        answers.append(answer)
    assert answers, "the block sent no request"
