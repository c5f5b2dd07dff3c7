"""How fast the emulator is ready (not run in CI):
python benchmarks/bench_start.py [--runs N] [--poll-ms MS] [--baseline CHECKOUT]

Starts `aliyun-emulator serve --ephemeral --port P` (the console script beside this Python) and
polls /_emulator/health over a raw socket every 2 ms (--poll-ms); reports the time from process
start to the first answer of any status (503 "loading" while the emulator is built behind the
open port), to the first 200 (ready: every request is served), and the process's resident memory
at its first answer and once it is idle after the first 200. As baselines measured in the same
run, interleaved with it: a bare `python -c pass` (which no Python server can beat) and, with
--baseline, `python -m emulator serve` run from another checkout (an older commit, say).

Then the memory floor under the idle RSS: the resident memory of a Python that only imports
what every start needs, in layers (the server stack and SQLite, then pydantic with one model, then the
emulator's core), none of which a lazier start could leave out.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

from emulator.testing.server import free_port

HEALTH_REQUEST = b"GET /_emulator/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"


def health_status(port: int) -> int | None:
    """The status health answers with, or None when nothing answers."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
            conn.sendall(HEALTH_REQUEST)
            head = conn.recv(64)
            return int(head[9:12]) if head.startswith(b"HTTP/1.1 ") else None
    except OSError:
        return None


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def time_to_health(command: list[str], poll: float, cwd: Path | None = None,
                   ) -> tuple[float, float, float, float]:
    """Seconds from spawning the server to its first answer and to its first 200; its RSS (MB) at
    the first answer and when idle after the first 200."""
    port = free_port()
    start = time.perf_counter()
    process = subprocess.Popen([*command, "--port", str(port)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, cwd=cwd)
    first = first_rss = None
    try:
        while (status := health_status(port)) != 200:
            if status is not None and first is None:
                first, first_rss = time.perf_counter() - start, rss_mb(process.pid)
            if process.poll() is not None or time.perf_counter() - start > 30:
                raise RuntimeError("the emulator did not become healthy")
            time.sleep(poll)
        ready = time.perf_counter() - start
        first_rss = first_rss or rss_mb(process.pid)
        time.sleep(1.0)  # idle: whatever start-up left behind has settled
        return first or ready, ready, first_rss, rss_mb(process.pid)
    finally:
        process.terminate()
        process.wait(10)


def time_bare_python() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.perf_counter() - start


# Each layer imports everything the one before it did.
FLOOR_LAYERS = {
    "python": "",
    "+ asyncio (with ssl), uvicorn, Starlette, sqlite3":
        "import asyncio, sqlite3, uvicorn, starlette.applications, starlette.responses",
    "+ pydantic and one model (every emulator document is one)":
        "from pydantic import BaseModel\nclass Document(BaseModel):\n    x: int = 0",
    "+ the emulator's core (runtime, store, clock, faults, pipeline), no service":
        "import emulator.core.runtime, emulator.core.pipeline",
}
RSS_OF_SELF = "\nprint(open('/proc/self/statm').read().split()[1])"


def memory_floor() -> list[tuple[str, float]]:
    """(layer, RSS in MB of a fresh Python importing that layer and the ones before it)."""
    rows, code = [], ""
    for layer, imports in FLOOR_LAYERS.items():
        code += imports + "\n"
        pages = subprocess.run([sys.executable, "-c", code + RSS_OF_SELF], capture_output=True, text=True,
                               check=True).stdout
        rows.append((layer, int(pages) * os.sysconf("SC_PAGE_SIZE") / 2**20))
    return rows


def seconds(label: str, values: list[float]) -> str:
    return (f"{label} after median {statistics.median(values):.3f} s (best {min(values):.3f}, "
            f"worst {max(values):.3f})")


def report(label: str, runs: list[tuple[float, float, float, float]]) -> None:
    first, ready, first_rss, rss = zip(*runs, strict=True)
    print(f"{label}: {seconds('first answer', first)}; {seconds('ready (200)', ready)}; RSS median "
          f"{statistics.median(first_rss):.1f} MB at the first answer, {statistics.median(rss):.1f} MB "
          f"idle once ready (max {max(rss):.1f})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    # Each poll is work for a server that is still loading: a probe polling every 50 ms (as
    # LiveServer does) delays its build less than one polling every 2 ms.
    parser.add_argument("--poll-ms", type=float, default=2, help="time between health polls")
    parser.add_argument("--baseline", type=Path, help="a checkout to compare with")
    args = parser.parse_args()
    command = [str(Path(sys.executable).with_name("aliyun-emulator")), "serve", "--ephemeral"]
    baseline = [sys.executable, "-m", "emulator", "serve", "--ephemeral"]
    runs, bare, base_runs = [], [], []
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    for _ in range(args.runs):  # interleaved, so load from elsewhere hits each alike
        bare.append(time_bare_python())
        runs.append(time_to_health(command, args.poll_ms / 1000))
        if args.baseline:
            base_runs.append(time_to_health(baseline, args.poll_ms / 1000, cwd=args.baseline))
    print(f"{args.runs} runs each; bare `python -c pass`: median {statistics.median(bare):.3f} s; "
          f"load average after: {os.getloadavg()[0]:.1f}")
    report("aliyun-emulator serve --ephemeral", runs)
    if args.baseline:
        report(f"baseline {args.baseline}", base_runs)
        for index, what in ((0, "first answer"), (1, "ready")):
            ratio = statistics.median(r[index] for r in runs) / statistics.median(r[index] for r in base_runs)
            print(f"ratio of medians, {what}: {ratio:.2f}")
    print("memory floor (RSS of a fresh Python importing only this much):")
    for layer, mb in memory_floor():
        print(f"  {mb:5.1f} MB  {layer}")


if __name__ == "__main__":
    main()
