"""How fast the emulator is ready (not run in CI): python benchmarks/bench_start.py [runs]

Starts `aliyun-emulator serve --ephemeral --port P` (the console script beside this Python) and
polls /_emulator/health over a raw socket every 2 ms; reports the time from process start to the
first 200 answer, and the process's resident memory once it is idle. As a baseline measured in the
same run: the time a bare `python -c pass` takes, which no Python server can beat.
"""

from __future__ import annotations

import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

HEALTH_REQUEST = b"GET /_emulator/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


def time_to_health(command: list[str]) -> tuple[float, float]:
    """Seconds from spawning the server to its first healthy answer; its RSS when idle after."""
    port = free_port()
    start = time.perf_counter()
    process = subprocess.Popen([*command, "--port", str(port)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
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


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    script = Path(sys.executable).with_name("aliyun-emulator")
    command = [str(script), "serve", "--ephemeral"]
    ready, rss, bare = [], [], []
    for _ in range(runs):  # interleaved, so load from elsewhere hits both alike
        bare.append(time_bare_python())
        seconds, megabytes = time_to_health(command)
        ready.append(seconds)
        rss.append(megabytes)
    print(f"{runs} runs of `{' '.join(command[1:])}`")
    print(f"time to first healthy answer: median {statistics.median(ready):.3f} s, "
          f"best {min(ready):.3f} s, worst {max(ready):.3f} s")
    print(f"bare `python -c pass`: median {statistics.median(bare):.3f} s, best {min(bare):.3f} s")
    print(f"idle RSS: median {statistics.median(rss):.1f} MB, max {max(rss):.1f} MB")


if __name__ == "__main__":
    main()
