"""The server against hostile or careless peers: its ffmpeg children die with it, slow clients are
cut off, the admin API can require a token, abandoned bodies leave one log line."""

from __future__ import annotations

import os
import signal
import socket
import sys
import time
from pathlib import Path

import httpx
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


def _closed_within(sock: socket.socket, seconds: float) -> bool:
    """Whether the server closes `sock` (EOF or reset) before `seconds` pass."""
    sock.settimeout(seconds)
    try:
        while sock.recv(4096):
            pass
    except TimeoutError:
        return False
    except ConnectionResetError:
        pass
    return True


def test_slow_headers_are_cut_off_while_others_are_served() -> None:
    with LiveServer(extra_args=["--quiet", "--header-timeout-seconds", "1"]) as server:
        slow = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(5)]
        slow[0].sendall(b"GET /_emulator/health HTT")  # an incomplete request line
        slow[1].sendall(b"garbage without an end")
        for _ in range(3):
            assert httpx.get(server.url + "/_emulator/health", timeout=5).status_code == 200
        # A kept-alive connection that starts its next request and stalls gets the same deadline
        # (connected now: an idle one made at the start may already be cut on a loaded machine).
        slow[2].close()
        slow[2] = socket.create_connection(("127.0.0.1", server.port))
        slow[2].sendall(b"GET /_emulator/health HTTP/1.1\r\nHost: x\r\n\r\n")
        assert slow[2].recv(4096).startswith(b"HTTP/1.1 200")
        slow[2].sendall(b"GET /_emulator/health HTTP/1.1\r\nHost: x\r\n")
        for sock in slow:
            assert _closed_within(sock, 5)
            sock.close()
        assert "no complete request headers in 1s" in server.log()
        assert httpx.get(server.url + "/_emulator/health", timeout=5).status_code == 200


def test_one_client_holds_a_bounded_number_of_connections() -> None:
    with LiveServer(extra_args=["--quiet", "--max-connections-per-client", "3"]) as server:
        held = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(3)]
        extra = socket.create_connection(("127.0.0.1", server.port))
        assert _closed_within(extra, 5)
        assert not _closed_within(held[0], 0.2)
        for sock in held:
            sock.close()
        deadline = time.monotonic() + 10
        while True:  # the server notices the closes, then serves this client again
            try:
                if httpx.get(server.url + "/_emulator/health", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert "max_connections_per_client" in server.log()


def test_a_body_abandoned_after_the_response_leaves_one_log_line(tmp_path: Path) -> None:
    import oss2

    with LiveServer(extra_args=["--quiet"], env={"EMULATOR_OSS_MAX_OBJECT_SIZE": "1000"}) as server:
        bucket = oss2.Bucket(oss2.Auth(server.access_key_id, server.access_key_secret), server.url, "bkt")
        bucket.create_bucket(oss2.BUCKET_ACL_PUBLIC_READ_WRITE)
        sock = socket.create_connection(("127.0.0.1", server.port))
        sock.sendall(b"PUT /bkt/k HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                     b"800\r\n" + b"x" * 2048 + b"\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 400")  # EntityTooLarge before the body ended
        sock.sendall(b"zz\r\n")  # then the body's framing breaks
        assert _closed_within(sock, 5)
        sock.close()
        # An admin request whose client leaves mid-body.
        sock = socket.create_connection(("127.0.0.1", server.port))
        sock.sendall(b"POST /_emulator/faults HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{")
        sock.close()
        deadline = time.monotonic() + 10
        while "abandoned body" not in server.log() or "client left before" not in server.log():
            assert time.monotonic() < deadline, server.log()
            time.sleep(0.05)
        assert httpx.get(server.url + "/_emulator/health", timeout=5).status_code == 200
        log = server.log()
        assert "Traceback" not in log and "LocalProtocolError" not in log, log


def test_the_admin_token_guards_the_admin_api_and_console(tmp_path: Path) -> None:
    from emulator.cli import main

    token = "s3cret-token"
    with LiveServer(extra_args=["--quiet"], admin_token=token) as server:
        admin = server.url + "/_emulator"
        for path in ("namespaces", "clock", "faults", "ui/", "console/buckets"):
            refused = httpx.get(f"{admin}/{path}")
            assert refused.status_code == 401, path
            assert refused.json()["field"] == "Authorization"
            assert httpx.get(f"{admin}/{path}", headers={"Authorization": "Bearer wrong"}).status_code == 401
            bearer = {"Authorization": f"Bearer {token}"}
            assert httpx.get(f"{admin}/{path}", headers=bearer).status_code == 200
        assert httpx.post(f"{admin}/clock", json={"advance_seconds": 5}).status_code == 401
        assert httpx.get(f"{admin}/health").status_code == 200  # open: probes and LiveServer poll it
        # The console: ?token= once sets a cookie and leaves the URL without the token.
        with httpx.Client() as browser:
            signed_in = browser.get(f"{admin}/ui/?token={token}", follow_redirects=True)
            assert signed_in.status_code == 200 and "token=" not in str(signed_in.url)
            assert browser.get(f"{admin}/namespaces").status_code == 200
        # LiveServer/AdminCalls send it.
        namespace = server.create_namespace()
        listed = server.admin("GET", "namespaces")["namespaces"]
        assert namespace.namespace in {n["namespace"] for n in listed}
        # The CLI: --token (or EMULATOR_ADMIN_TOKEN), refused without.
        assert main(["clock", "--url", server.url, "--token", token]) == 0
        assert main(["clock", "--url", server.url]) == 1
    with LiveServer(extra_args=["--quiet"]) as open_server:  # without a token nothing changes
        assert httpx.get(open_server.url + "/_emulator/namespaces").status_code == 200


def test_a_warning_when_listening_beyond_loopback_without_a_token() -> None:
    with LiveServer(extra_args=["--quiet", "--host", "0.0.0.0"]) as server:
        assert "without --admin-token" in server.log()
    with LiveServer(extra_args=["--quiet", "--host", "0.0.0.0"], admin_token="t") as server:
        assert "without --admin-token" not in server.log()
    with LiveServer(extra_args=["--quiet"]) as server:
        assert "without --admin-token" not in server.log()
