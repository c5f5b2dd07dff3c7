"""Every Python example and every runnable curl example in README.md works, as written, against
a live emulator (its port put in place of 9088)."""

from __future__ import annotations

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
CURL = [code for lang, code in BLOCKS if lang == "bash" and code.lstrip().startswith(("curl", "export"))
        and "<" not in code]


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
    script = "set -e\n" + code.replace("127.0.0.1:9088", emulator.endpoint).replace("curl -s", "curl -sf")
    result = _run(["bash", "-c", script], tmp_path)
    assert result.returncode == 0, result.stderr + result.stdout
