"""Realistic load (not part of the test suite; run by hand, figures in README "Reliability").

    python benchmarks/bench_load.py [--clients 200] [--seconds 60] [--soak 50000]

1. Pollers: `--clients` clients, each polling a task once a second (open loop: a slow answer does
   not slow the schedule) for `--seconds`, half IMM GetTask (signed, RPC V2), half DashScope
   GET /api/v1/tasks/{id}, while two conversions run the whole time (an IMM 1280x720 transcode and a
   DashScope wan-std render, each resubmitted when it ends). The load comes from a separate
   process (asyncio streams, one keep-alive connection a client). DashScope allows 20 task
   queries a second per account, so its pollers are spread over namespaces of 10 (the task's own
   namespace sees it; the others poll the same id and get UNKNOWN, through the same lookup).
   Reports errors (anything but 200, or no answer) and latency p50 / p99 / max.
2. Soak: `--soak` mixed OSS requests (PUT, GET, HEAD, list, DELETE of small objects) from a separate
   process; reports the server's RSS after a warm-up (the first 10%) and at the end, and the size of
   the request journal (it must stay at its bound, --journal-size, 1000 by default).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlencode

import httpx

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "fixtures" / "counter_320x240_10fps_12s_gop10.mp4"
SUBMIT = "/api/v1/services/aigc/image2video/video-synthesis"
SEED_BODY = {
    "model": "wan2.2-animate-move",
    "parameters": {"mode": "wan-std"},
    "input": {
        "image_url": "https://help-static-aliyun-doc.aliyuncs.com/file-manage-files/zh-CN/20250919/adsyrp/"
        "move_input_image.jpeg",
        "video_url": "https://help-static-aliyun-doc.aliyuncs.com/file-manage-files/zh-CN/20250919/kaakcn/"
        "move_input_video.mp4",
    },
}


# ---- the load generator (runs in its own process) ----------------------------------------------


def _imm_query(action: str, params: dict[str, str], access_key_id: str, secret: str) -> str:
    from emulator.auth.acs import rpc_v2_signature

    signed = {
        "Action": action,
        "Version": "2020-09-30",
        "Format": "JSON",
        "AccessKeyId": access_key_id,
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "SignatureNonce": uuid.uuid4().hex,
        "Timestamp": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        **params,
    }
    signed["Signature"] = rpc_v2_signature("POST", list(signed.items()), secret)
    return urlencode(signed)


class _Connection:
    """One client's keep-alive HTTP/1.1 connection, written with asyncio streams: a pool of 200
    httpx clients in one process spends more CPU than the server it measures, so the latency it
    reports is mostly its own."""

    def __init__(self, url: str) -> None:
        host, port = url.split("//", 1)[1].rsplit(":", 1)
        self.host, self.port = host, int(port)
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def request(self, method: str, target: str, headers: dict[str, str]) -> tuple[int, bytes]:
        if self.streams is None:
            self.streams = await asyncio.open_connection(self.host, self.port)
        reader, writer = self.streams
        lines = [f"{method} {target} HTTP/1.1", f"Host: {self.host}:{self.port}", "Content-Length: 0"]
        writer.write(("\r\n".join(lines + [f"{k}: {v}" for k, v in headers.items()]) + "\r\n\r\n").encode())
        try:
            await writer.drain()
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            fields = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in head[1:])}
            body = await reader.readexactly(int(fields.get("content-length", "0")))
        except (OSError, asyncio.IncompleteReadError):
            self.streams = None
            raise
        if fields.get("connection", "").lower() == "close":
            writer.close()
            self.streams = None
        return int(head[0].split()[1]), body


async def _poller(url: str, job: dict, start: float, seconds: float, samples: list[float],
                  errors: list[str]) -> None:
    connection = _Connection(url)
    tick = 0
    while (due := start + tick) < start + seconds:
        tick += 1
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        sent = time.monotonic()
        try:
            if job["kind"] == "imm":
                query = _imm_query(
                    "GetTask",
                    {"ProjectName": "p", "TaskType": "MediaConvert", "TaskId": job["task_id"]},
                    job["access_key_id"],
                    job["secret"],
                )
                status, body = await connection.request("POST", f"/?{query}", {})
            else:
                status, body = await connection.request(
                    "GET", f"/api/v1/tasks/{job['task_id']}", {"Authorization": f"Bearer {job['key']}"}
                )
            samples.append(time.monotonic() - sent)
            if status != 200:
                errors.append(f"{job['kind']} {status} {body[:120].decode('utf-8', 'replace')}")
        except (OSError, asyncio.IncompleteReadError) as exc:
            errors.append(f"{job['kind']} {type(exc).__name__}")


async def _poll(url: str, jobs: list[dict], seconds: float) -> dict:
    samples: dict[str, list[float]] = {"imm": [], "dashscope": []}
    errors: list[str] = []
    start = time.monotonic() + 1.0
    # Spread the clients' first polls over the first second, as independent clients would be.
    await asyncio.gather(
        *(
            _poller(url, job, start + i / len(jobs), seconds, samples[job["kind"]], errors)
            for i, job in enumerate(jobs)
        )
    )
    return {"samples": samples, "errors": errors}


def _soak(url: str, total: int, pid: int) -> dict:
    """Mixed OSS requests; the server's RSS (process `pid`, on this machine) after warm-up and at
    the end."""
    import random

    rng = random.Random(14)
    rss: dict[str, int] = {}
    errors = 0
    with httpx.Client(base_url=url, timeout=30) as client:
        for i in range(total):
            key = f"soak/{rng.randrange(200)}"
            kind = rng.choice(["put", "get", "get", "head", "list", "delete"])
            if kind == "put":
                answer = client.put(
                    f"/soak-bucket/{key}", content=rng.randbytes(rng.choice([10, 1000, 20_000]))
                )
            elif kind == "get":
                answer = client.get(f"/soak-bucket/{key}")
            elif kind == "head":
                answer = client.head(f"/soak-bucket/{key}")
            elif kind == "list":
                answer = client.get("/soak-bucket", params={"prefix": "soak/1", "max-keys": "50"})
            else:
                answer = client.delete(f"/soak-bucket/{key}")
            errors += answer.status_code >= 500 or answer.status_code not in (200, 204, 404)
            if i + 1 in (total // 10, total):
                rss["warm" if i + 1 == total // 10 else "end"] = _rss(pid)
    return {"rss": rss, "errors": errors}


def _rss(pid: int) -> int:
    """A process's resident set in bytes, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for {pid}")


# ---- the driver --------------------------------------------------------------------------------


def _loadgen(payload: dict) -> dict:
    """Run one load in a child process (its CPU is not the server's, nor the driver's)."""
    done = subprocess.run(
        [sys.executable, __file__, "--child"],
        input=json.dumps(payload),
        text=True,
        capture_output=True,
        check=True,
        cwd=ROOT,
    )
    return json.loads(done.stdout)


def _percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000)[int(q * 1000) - 1] if len(values) > 1 else float("nan")


class Conversions:
    """Keeps one IMM transcode and one DashScope render running: each resubmitted when it ends."""

    def __init__(self, server) -> None:
        from tests.imm_support import convert, imm_client

        self.server, self.imm = server, imm_client(server)
        self.convert = convert
        self.stop = threading.Event()
        self.finished = {"imm": 0, "dashscope": 0}
        self.imm_task = self._imm()
        self.dashscope_task = self._dashscope()
        self.last = {"imm": self.imm_task, "dashscope": self.dashscope_task}
        self.thread = threading.Thread(target=self._keep, daemon=True)

    def _imm(self) -> str:
        return self.convert(
            self.imm,
            [
                {
                    "URI": f"oss://media/out/{uuid.uuid4().hex}.mp4",
                    "Container": "mp4",
                    "Video": {"TranscodeVideo": {"Codec": "h264", "Resolution": "1280x720"}},
                }
            ],
        )

    def _dashscope(self) -> str:
        answer = httpx.post(
            self.server.url + SUBMIT,
            json=SEED_BODY,
            timeout=30,
            headers={"Authorization": "Bearer sk-emulator", "X-DashScope-Async": "enable"},
        )
        return answer.json()["output"]["task_id"]

    def _keep(self) -> None:
        from alibabacloud_imm20200930 import models as m

        imm, dashscope = self.imm_task, self.dashscope_task
        self.last = {"imm": imm, "dashscope": dashscope}
        while not self.stop.wait(2):
            status = self.imm.get_task(
                m.GetTaskRequest(project_name="p", task_type="MediaConvert", task_id=imm)
            ).body.status
            if status != "Running":
                self.finished["imm"] += 1
                imm = self.last["imm"] = self._imm()
            got = httpx.get(
                f"{self.server.url}/api/v1/tasks/{dashscope}",
                timeout=30,
                headers={"Authorization": "Bearer sk-emulator"},
            ).json()["output"]["task_status"]
            if got not in ("PENDING", "RUNNING"):
                self.finished["dashscope"] += 1
                dashscope = self.last["dashscope"] = self._dashscope()


def pollers(clients: int, seconds: float) -> None:
    from emulator.testing.server import LiveServer
    from tests.imm_support import wait_for_task, world

    with LiveServer(extra_args=["--quiet"]) as server:
        world(server)
        keys = [server.dashscope_api_key] + [
            server.create_namespace().dashscope_api_key for _ in range((clients // 2 - 1) // 10)
        ]
        conversions = Conversions(server)
        jobs = []
        for i in range(clients):
            if i % 2 == 0:
                jobs.append(
                    {
                        "kind": "imm",
                        "task_id": conversions.imm_task,
                        "access_key_id": server.access_key_id,
                        "secret": server.access_key_secret,
                    }
                )
            else:
                jobs.append(
                    {"kind": "dashscope", "task_id": conversions.dashscope_task, "key": keys[(i // 2) // 10]}
                )
        conversions.thread.start()
        loaded = _loadgen({"mode": "poll", "url": server.url, "jobs": jobs, "seconds": seconds})
        conversions.stop.set()
        conversions.thread.join(30)
        # The baseline, same server and clients: once nothing converts any more.
        wait_for_task(conversions.imm, "p", conversions.last["imm"], timeout=600)
        while httpx.get(
            f"{server.url}/api/v1/tasks/{conversions.last['dashscope']}",
            timeout=30,
            headers={"Authorization": "Bearer sk-emulator"},
        ).json()["output"]["task_status"] in ("PENDING", "RUNNING"):
            time.sleep(1)
        idle = _loadgen({"mode": "poll", "url": server.url, "jobs": jobs, "seconds": min(seconds, 20)})
    print(
        f"pollers: {clients} clients x 1/s for {seconds:.0f} s while two conversions ran "
        f"({conversions.finished} finished and were resubmitted meanwhile)"
    )
    for name, result in (("converting", loaded), ("idle (baseline)", idle)):
        every = result["samples"]["imm"] + result["samples"]["dashscope"]
        print(f"  {name}: {len(every)} answers, errors: {len(result['errors'])}")
        for kind, samples in [("all", every), *result["samples"].items()]:
            print(
                f"    {kind:9} p50 {1000 * statistics.median(samples):7.1f} ms  "
                f"p99 {1000 * _percentile(samples, 0.99):7.1f} ms  max {1000 * max(samples):7.1f} ms"
            )
        for line in sorted(set(result["errors"]))[:10]:
            print("    error:", line)


def soak(total: int) -> None:
    from emulator.testing.server import LiveServer

    with LiveServer(extra_args=["--quiet", "--no-verify-signatures"]) as server:
        httpx.put(server.url + "/soak-bucket", timeout=30).raise_for_status()
        assert server.process is not None
        result = _loadgen({"mode": "soak", "url": server.url, "total": total, "pid": server.process.pid})
        journal = len(server.requests(limit="100000"))
    warm, end = result["rss"]["warm"], result["rss"]["end"]
    print(
        f"soak: {total} mixed OSS requests, unexpected answers {result['errors']}; server RSS after "
        f"warm-up ({total // 10} requests) {warm / 2**20:.1f} MiB, at the end {end / 2**20:.1f} MiB "
        f"(growth {(end - warm) / 2**20:+.1f} MiB); the journal holds {journal} entries (bound 1000)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--soak", type=int, default=50_000)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        payload = json.loads(sys.stdin.read())
        if payload["mode"] == "poll":
            print(json.dumps(asyncio.run(_poll(payload["url"], payload["jobs"], payload["seconds"]))))
        else:
            print(json.dumps(_soak(payload["url"], payload["total"], payload["pid"])))
        return
    if args.clients:
        pollers(args.clients, args.seconds)
    if args.soak:
        soak(args.soak)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
