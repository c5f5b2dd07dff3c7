"""Crash safety: the server is killed (SIGKILL) at a random moment while clients upload objects,
run multipart uploads and submit IMM and DashScope tasks, then restarted on the same data directory,
several times over. No acknowledged object is lost or changed, no object is visible that is not
whole (every one listed holds exactly the bytes some client sent for it), and every acknowledged
task ends Succeeded or Failed.

CI kills 3 times; `CRASH_ROUNDS=12 CRASH_SEED=... pytest -n 0 tests/test_crash_safety.py` kills more."""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree as ET

import httpx
from dashscope_support import SUBMIT, seed_body

from emulator.testing.server import LiveServer

ROUNDS = int(os.environ.get("CRASH_ROUNDS", "3"))
SEED = int(os.environ.get("CRASH_SEED", "14"))
FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "counter_320x240_10fps_12s_gop10.mp4"
IMM = {"x-acs-version": "2020-09-30"}
DASHSCOPE = {"Authorization": "Bearer sk-emulator", "X-DashScope-Async": "enable"}
PART = 100 * 1024  # OSS's smallest part but the last


@dataclass
class Ledger:
    """What clients sent and what the server acknowledged, across every round."""

    sent: dict[str, set[str]] = field(default_factory=dict)  # key -> md5 of every body sent for it
    acked: dict[str, str] = field(default_factory=dict)  # key -> md5 of the last acknowledged body
    imm_tasks: list[str] = field(default_factory=list)
    dashscope_tasks: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, key: str, body: bytes) -> str:
        digest = hashlib.md5(body).hexdigest()
        with self.lock:
            self.sent.setdefault(key, set()).add(digest)
        return digest


def _imm(client: httpx.Client, action: str, **params: object) -> httpx.Response:
    query = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
    return client.post("/", params=query, headers={**IMM, "x-acs-action": action})


def _uploads(client: httpx.Client, ledger: Ledger, rng: random.Random, tag: str,
             stop: threading.Event) -> None:
    for i in range(10_000):
        if stop.is_set():
            return
        key = f"put/{tag}-{i % 7}"  # keys come back: an overwrite must be all old or all new
        body = rng.randbytes(rng.choice([1, 4096, 300_000, 2_000_000]))
        digest = ledger.send(key, body)
        if client.put(f"/media/{key}", content=body).status_code == 200:
            with ledger.lock:
                ledger.acked[key] = digest


def _multipart(client: httpx.Client, ledger: Ledger, rng: random.Random, tag: str,
               stop: threading.Event) -> None:
    for i in range(10_000):
        if stop.is_set():
            return
        key = f"multi/{tag}-{i}"
        parts = [rng.randbytes(PART) for _ in range(rng.randint(1, 3))]
        parts.append(rng.randbytes(rng.randint(1, PART)))
        digest = ledger.send(key, b"".join(parts))
        answer = client.post(f"/media/{key}?uploads")
        upload_id = ET.fromstring(answer.content).findtext("UploadId")
        etags = [client.put(f"/media/{key}?partNumber={n}&uploadId={upload_id}", content=part).headers["etag"]
                 for n, part in enumerate(parts, 1)]
        complete = "".join(f"<Part><PartNumber>{n}</PartNumber><ETag>{etag}</ETag></Part>"
                           for n, etag in enumerate(etags, 1))
        done = client.post(f"/media/{key}?uploadId={upload_id}",
                           content=f"<CompleteMultipartUpload>{complete}</CompleteMultipartUpload>".encode())
        if done.status_code == 200:
            with ledger.lock:
                ledger.acked[key] = digest


def _tasks(client: httpx.Client, ledger: Ledger, tag: str, stop: threading.Event,
           submitted: threading.Event) -> None:
    """Three IMM tasks and one DashScope task a round, a moment apart: enough to be killed mid-way,
    few enough that the last start finishes them in reasonable time."""
    for i in range(3):
        if stop.is_set():
            return
        targets = [{"Image": {"Animations": [{"Format": "gif", "URI": f"oss://media/out/{tag}-{i}.gif",
                                              "StartTime": 1, "Interval": 0.5, "Number": 6, "Width": 160}]}},
                   {"URI": f"oss://media/out/{tag}-{i}.mp4", "Container": "mp4",
                    "Video": {"TranscodeVideo": {"Codec": "h264", "Resolution": "320x240"}}}]
        answer = _imm(client, "CreateMediaConvertTask", ProjectName="p", Targets=targets,
                      Sources=[{"URI": "oss://media/in/counter.mp4"}])
        if answer.status_code == 200:
            with ledger.lock:
                ledger.imm_tasks.append(answer.json()["TaskId"])
        if i == 0:
            answer = client.post(SUBMIT, json=seed_body(), headers=DASHSCOPE)
            if answer.status_code == 200:
                with ledger.lock:
                    ledger.dashscope_tasks.append(answer.json()["output"]["task_id"])
            submitted.set()
        time.sleep(0.5)


def _client_loop(work, *args) -> None:
    """Run until the server dies under it (the point of the exercise)."""
    with httpx.Client(base_url=args[0], timeout=30) as client:
        try:
            work(client, *args[1:])
        except (httpx.TransportError, ET.ParseError, KeyError):
            pass


def _listed(client: httpx.Client, prefix: str) -> list[tuple[str, int]]:
    keys, marker = [], ""
    while True:
        root = ET.fromstring(client.get("/media", params={"prefix": prefix, "marker": marker}).content)
        ns = root.tag.partition("}")[0] + "}" if root.tag.startswith("{") else ""
        for item in root.iter(f"{ns}Contents"):
            keys.append((item.findtext(f"{ns}Key"), int(item.findtext(f"{ns}Size"))))
        if root.findtext(f"{ns}IsTruncated") != "true":
            return keys
        marker = keys[-1][0]


def _check_objects(server: LiveServer, ledger: Ledger) -> int:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        for key, digest in ledger.acked.items():
            got = client.get(f"/media/{key}")
            assert got.status_code == 200, (key, got.status_code)  # not lost
            # Not changed: the last acknowledged body, or a later one a client sent when the kill came.
            assert hashlib.md5(got.content).hexdigest() in ledger.sent[key], key
            if digest != hashlib.md5(got.content).hexdigest():
                assert digest in ledger.sent[key]
        listed = _listed(client, "put/") + _listed(client, "multi/")
        for key, size in listed:
            body = client.get(f"/media/{key}").content
            assert len(body) == size, key
            assert hashlib.md5(body).hexdigest() in ledger.sent[key], f"{key} is not a body a client sent"
    return len(listed)


def _wait_for_tasks(server: LiveServer, ledger: Ledger, deadline_s: float = 600) -> dict[str, int]:
    ended: dict[str, int] = {}
    deadline = time.monotonic() + deadline_s
    with httpx.Client(base_url=server.url, timeout=60) as client:
        for task_id in ledger.imm_tasks:
            while (status := _imm(client, "GetTask", ProjectName="p", TaskType="MediaConvert",
                                  TaskId=task_id).json()["Status"]) == "Running":
                assert time.monotonic() < deadline, f"IMM task {task_id} still Running"
                time.sleep(0.5)
            assert status in ("Succeeded", "Failed"), (task_id, status)
            ended[f"imm {status}"] = ended.get(f"imm {status}", 0) + 1
        for task_id in ledger.dashscope_tasks:
            while (status := client.get(f"/api/v1/tasks/{task_id}", headers=DASHSCOPE).json()["output"][
                    "task_status"]) in ("PENDING", "RUNNING"):
                assert time.monotonic() < deadline, f"DashScope task {task_id} still {status}"
                time.sleep(0.5)
            assert status in ("SUCCEEDED", "FAILED"), (task_id, status)
            ended[f"dashscope {status}"] = ended.get(f"dashscope {status}", 0) + 1
    return ended


def test_no_acknowledged_work_is_lost_across_kills(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    data = tmp_path / "data"
    ledger = Ledger()
    args = ["--no-verify-signatures", "--quiet"]
    with LiveServer(data_dir=data, extra_args=args) as server:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            client.put("/media").raise_for_status()
            client.put("/media/in/counter.mp4", content=FIXTURE.read_bytes()).raise_for_status()
            _imm(client, "CreateProject", ProjectName="p").raise_for_status()
    for round_no in range(ROUNDS):
        server = LiveServer(data_dir=data, extra_args=args).start()
        try:
            _check_objects(server, ledger)  # what the last kill left
            stop, submitted = threading.Event(), threading.Event()
            workers = [threading.Thread(target=_client_loop, args=(work, server.url, *rest), daemon=True)
                       for work, *rest in (
                           (_uploads, ledger, random.Random(rng.random()), f"{round_no}a", stop),
                           (_uploads, ledger, random.Random(rng.random()), f"{round_no}b", stop),
                           (_multipart, ledger, random.Random(rng.random()), f"{round_no}", stop),
                           (_tasks, ledger, f"{round_no}", stop, submitted))]
            for worker in workers:
                worker.start()
            # The kill comes at a random moment once this round's tasks are submitted (under load the
            # submits alone can take seconds), while uploads and conversions are under way.
            submitted.wait(60)
            time.sleep(rng.uniform(0.2, 3.0))
            assert server.process is not None
            server.process.send_signal(signal.SIGKILL)
            server.process.wait()
            stop.set()
            for worker in workers:
                worker.join(60)
        finally:
            server.stop()
    with LiveServer(data_dir=data, extra_args=args) as server:
        listed = _check_objects(server, ledger)
        ended = _wait_for_tasks(server, ledger)
        _check_objects(server, ledger)
    assert ledger.acked and ledger.imm_tasks and ledger.dashscope_tasks, "the kills came before any work"
    print(f"{ROUNDS} kills: {len(ledger.acked)} acknowledged objects kept, {listed} listed, all whole; "
          f"tasks ended {ended}")
