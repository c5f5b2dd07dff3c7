"""Every Python example and every curl example in README.md works, as written, against a live
emulator (its port put in place of 9088): each curl answers 2xx with a JSON body that is not an
error, and a `<placeholder>` is filled from what an earlier command of the block answered."""

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
CURL = [code for lang, code in BLOCKS if lang == "bash" and code.lstrip().startswith(("curl", "export"))]
def _run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=180)


@pytest.mark.parametrize("code", PYTHON, ids=[f"python-{i}" for i in range(len(PYTHON))])
def test_python_example(code: str, emulator: LiveServer, tmp_path: Path) -> None:
    """A script runs with `python -c`; a test module (it has `def test_`) runs under pytest with
    the plugin, as a user's suite would. Both find the seed's `brewing.mov` (and the DashScope
    example's `person.jpeg` and `dance.mp4`) beside them."""
    shutil.copy(ROOT / "fixtures" / "brewing.mov", tmp_path / "brewing.mov")
    # "your files" of the DashScope local-upload example
    shutil.copy(ROOT / "emulator" / "assets" / "move_input_image.jpeg", tmp_path / "person.jpeg")
    shutil.copy(ROOT / "emulator" / "assets" / "move_input_video.mp4", tmp_path / "dance.mp4")
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


def test_the_scenario_shown_is_the_real_file() -> None:
    shown = [code for lang, code in re.findall(r"```(yaml)\n(.*?)```", README, re.S)
             if "fixtures/scenarios/seed-docs.yaml" in code]
    assert shown == [(ROOT / "fixtures" / "scenarios" / "seed-docs.yaml").read_text(encoding="utf-8")]


def test_every_readme_flag_exists() -> None:
    """The settings table and the CLI table name only flags and commands the parser knows."""
    from emulator.cli import build_parser

    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices  # argparse keeps them nowhere public
    serve_flags = {opt for action in commands["serve"]._actions for opt in action.option_strings}
    named = set(re.findall(r"^\| `(--[a-z-]+)", README, re.M))
    assert named and named <= serve_flags, named - serve_flags
    used = set(re.findall(r"`aliyun-emulator ([a-z]+)", README))
    assert used and used <= set(commands), used - set(commands)
