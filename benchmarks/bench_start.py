"""How fast the emulator is ready (not run in CI):
python benchmarks/bench_start.py [--runs N] [--baseline CHECKOUT]

Starts `aliyun-emulator serve --ephemeral --port P` (the console script beside this Python) and
polls /_emulator/health over a raw socket every 2 ms; reports the time from process start to the
first 200 answer, and the process's resident memory once it is idle. As baselines measured in the
same run, interleaved with it: a bare `python -c pass` (which no Python server can beat) and, with
--baseline, `python -m emulator serve` run from another checkout (an older commit, say).
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

from emulator.testing.server import free_port

HEALTH_REQUEST = b"GET /_emulator/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"


def healthy(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
            conn.sendall(HEALTH_REQUEST)
            return conn.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def time_to_health(command: list[str], cwd: Path | None = None) -> tuple[float, float]:
    """Seconds from spawning the server to its first healthy answer; its RSS when idle after."""
    port = free_port()
    start = time.perf_counter()
    process = subprocess.Popen([*command, "--port", str(port)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, cwd=cwd)
    try:
        while not healthy(port):
            if process.poll() is not None or time.perf_counter() - start > 30:
                raise RuntimeError("the emulator did not become healthy")
            time.sleep(0.002)
        ready = time.perf_counter() - start
        time.sleep(1.0)  # idle: whatever start-up left behind has settled
        return ready, rss_mb(process.pid)
    finally:
        process.terminate()
        process.wait(10)


def time_bare_python() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.perf_counter() - start


def report(label: str, ready: list[float], rss: list[float]) -> None:
    print(f"{label}: first healthy answer after median {statistics.median(ready):.3f} s "
          f"(best {min(ready):.3f}, worst {max(ready):.3f}); idle RSS median "
          f"{statistics.median(rss):.1f} MB (max {max(rss):.1f})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--baseline", type=Path, help="a checkout to compare with")
    args = parser.parse_args()
    command = [str(Path(sys.executable).with_name("aliyun-emulator")), "serve", "--ephemeral"]
    baseline = [sys.executable, "-m", "emulator", "serve", "--ephemeral"]
    ready, rss, bare, base_ready, base_rss = [], [], [], [], []
    for _ in range(args.runs):  # interleaved, so load from elsewhere hits each alike
        bare.append(time_bare_python())
        seconds, megabytes = time_to_health(command)
        ready.append(seconds)
        rss.append(megabytes)
        if args.baseline:
            seconds, megabytes = time_to_health(baseline, cwd=args.baseline)
            base_ready.append(seconds)
            base_rss.append(megabytes)
    print(f"{args.runs} runs each; bare `python -c pass`: median {statistics.median(bare):.3f} s")
    report("aliyun-emulator serve --ephemeral", ready, rss)
    if args.baseline:
        report(f"baseline {args.baseline}", base_ready, base_rss)
        print(f"ratio (median): {statistics.median(ready) / statistics.median(base_ready):.2f}")


if __name__ == "__main__":
    main()
