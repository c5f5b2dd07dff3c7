"""The server against hostile or careless peers: its ffmpeg children die with it, slow clients are
cut off, the admin API can require a token, abandoned bodies leave one log line."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

from emulator.testing.server import LiveServer
from tests.imm_support import convert, world

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def _children(pid: int) -> list[int]:
    """The pids whose parent is `pid`, from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    """Running (a zombie, waiting for init to reap it, counts as gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _ffmpeg_children(pid: int) -> list[int]:
    return [c for c in _children(pid) if "ffmpeg" in Path(f"/proc/{c}/cmdline").read_bytes().decode(
        "utf-8", "replace")]


@linux_only
def test_ffmpeg_children_die_with_a_killed_server(tmp_path: Path) -> None:
    with LiveServer(data_dir=tmp_path / "data", extra_args=["--quiet"]) as server:
        client, _ = world(server)
        # A large size: seconds of work, far longer than finding the ffmpeg.
        convert(client, [{"URI": "oss://media/out/long.mp4", "Container": "mp4",
                          "Video": {"TranscodeVideo": {"Codec": "h264", "Resolution": "1920x1080"}}}])
        assert server.process is not None
        deadline = time.monotonic() + 30
        while not (ffmpeg := _ffmpeg_children(server.process.pid)):
            assert time.monotonic() < deadline, "no ffmpeg started"
            time.sleep(0.05)
        server.process.send_signal(signal.SIGKILL)
        server.process.wait()
        deadline = time.monotonic() + 10
        while survivors := [pid for pid in ffmpeg if _alive(pid)]:
            if time.monotonic() > deadline:
                for pid in survivors:
                    os.kill(pid, signal.SIGKILL)
                pytest.fail(f"ffmpeg outlived the server: {survivors}")
            time.sleep(0.05)


@linux_only
def test_a_spawned_ffmpeg_without_pipes_dies_with_its_parent() -> None:
    """The LiveServer test above would also pass through SIGPIPE on ffmpeg's progress pipe; this
    ffmpeg writes to no pipe, so only the death signal ends it."""
    import subprocess

    parent = subprocess.Popen([sys.executable, "-c", (
        "import subprocess, time\n"
        "from emulator.media.ffmpeg import ffmpeg_exe, spawn\n"
        "spawn([ffmpeg_exe(), '-nostdin', '-re', '-f', 'lavfi', '-i', 'testsrc=duration=600',"
        " '-f', 'null', '-'],"
        " stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
        "time.sleep(600)\n")])
    try:
        deadline = time.monotonic() + 30
        while not (ffmpeg := _ffmpeg_children(parent.pid)):
            assert time.monotonic() < deadline, "no ffmpeg started"
            time.sleep(0.05)
    finally:
        parent.kill()
        parent.wait()
    deadline = time.monotonic() + 10
    while survivors := [pid for pid in ffmpeg if _alive(pid)]:
        if time.monotonic() > deadline:
            for pid in survivors:
                os.kill(pid, signal.SIGKILL)
            pytest.fail(f"ffmpeg outlived its parent: {survivors}")
        time.sleep(0.05)
