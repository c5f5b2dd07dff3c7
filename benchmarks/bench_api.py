"""Requests per second through one keep-alive connection, in one run, for:

- a signed OSS GET (V1 presigned URL) of a 1 KiB object on the emulator;
- an IMM GetTask (RPC V2 signature) on the emulator;
- a bare ASGI app answering 1 KiB under the same uvicorn settings (the ceiling);
- moto_server's S3 GET of a 1 KiB object (installed into this environment if missing).

    python benchmarks/bench_api.py [seconds-per-target]

The same small keep-alive client (one socket, one request at a time, as `wrk -c1 -t1` would)
drives every target, so the figures compare the servers, not the clients. The ratios against the
bare app are what README reports.
"""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote, urlsplit

import httpx

from emulator.auth.acs import rpc_v2_signature
from emulator.testing.server import LiveServer, free_port

ROOT = Path(__file__).resolve().parent.parent
VIDEO = ROOT / "fixtures" / "counter_64x48_5fps_4s.mp4"
PAYLOAD = b"x" * 1024

BARE_APP = '''
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/octet-stream"), (b"content-length", b"1024")]})
    await send({"type": "http.response.body", "body": b"x" * 1024})
'''


def requests_per_second(host: str, port: int, request: bytes, seconds: float) -> float:
    """Send `request` again and again, one at a time, on one keep-alive connection (a new one
    whenever the server closes it, as moto_server's HTTP/1.0 server does); answers per second."""
    count, deadline = 0, time.perf_counter() + seconds
    started = time.perf_counter()
    while time.perf_counter() < deadline:
        with socket.create_connection((host, port)) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            reader = sock.makefile("rb")
            keep_alive = True
            while keep_alive and time.perf_counter() < deadline:
                sock.sendall(request)
                status = reader.readline()
                if not status.split(b" ", 2)[1:2] or not status.split(b" ", 2)[1].startswith(b"2"):
                    raise AssertionError(f"unexpected answer {status!r}")
                keep_alive = status.startswith(b"HTTP/1.1")
                length = None
                while (line := reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.partition(b":")
                    name = name.strip().lower()
                    if name == b"content-length":
                        length = int(value)
                    elif name == b"connection" and value.strip().lower() == b"close":
                        keep_alive = False
                reader.read(length) if length is not None else reader.read()
                count += 1
    return count / (time.perf_counter() - started)


def get_request(url: str, host: str) -> bytes:
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    return f"GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: keep-alive\r\n\r\n".encode()


def wait_until_up(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not come up")


def emulator_targets(server: LiveServer) -> dict[str, tuple[int, bytes]]:
    import oss2

    host = f"127.0.0.1:{server.port}"
    bucket = oss2.Bucket(oss2.Auth(server.access_key_id, server.access_key_secret), server.url, "bench")
    bucket.create_bucket()
    bucket.put_object("small.bin", PAYLOAD)
    bucket.put_object("in/counter.mp4", VIDEO.read_bytes())
    oss_get = get_request(bucket.sign_url("GET", "small.bin", 3600), host)

    def rpc(action: str, **params: str) -> dict[str, str]:
        query = {"Action": action, "Version": "2020-09-30", "Format": "JSON",
                 "AccessKeyId": server.access_key_id, "SignatureMethod": "HMAC-SHA1",
                 "SignatureVersion": "1.0", "SignatureNonce": os.urandom(8).hex(),
                 "Timestamp": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), **params}
        query["Signature"] = rpc_v2_signature("POST", list(query.items()), server.access_key_secret)
        return query

    def post(query: dict[str, str]) -> httpx.Response:
        response = httpx.post(server.url + "/", params=query, timeout=30)
        response.raise_for_status()
        return response

    post(rpc("CreateProject", ProjectName="bench"))
    targets = json.dumps([{"Image": {"Snapshots": [
        {"URI": "oss://bench/out/snap-{index}.jpg", "Format": "jpg", "Number": 1}]}}])
    task_id = post(rpc("CreateMediaConvertTask", ProjectName="bench",
                       Sources=json.dumps([{"URI": "oss://bench/in/counter.mp4"}]),
                       Targets=targets)).json()["TaskId"]
    query = rpc("GetTask", ProjectName="bench", TaskType="MediaConvert", TaskId=task_id)
    target = "/?" + "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in query.items())
    get_task = (f"POST {target} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\n"
                f"Connection: keep-alive\r\n\r\n").encode()
    return {"emulator: signed OSS GET 1 KiB": (server.port, oss_get),
            "emulator: IMM GetTask (RPC V2)": (server.port, get_task)}


def run_bare(seconds: float) -> float:
    with tempfile.TemporaryDirectory() as work:
        (Path(work) / "bare_app.py").write_text(BARE_APP)
        port = free_port()
        # The emulator's own uvicorn settings (emulator/server.py), minus what only it needs.
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "bare_app:app", "--port", str(port), "--log-level",
             "warning", "--no-access-log", "--lifespan", "off", "--timeout-keep-alive", "75",
             "--no-server-header", "--no-date-header"], cwd=work)
        try:
            wait_until_up(f"http://127.0.0.1:{port}/")
            return requests_per_second("127.0.0.1", port, get_request("/", f"127.0.0.1:{port}"), seconds)
        finally:
            process.terminate()
            process.wait()


def run_moto(seconds: float) -> float:
    if importlib.util.find_spec("moto") is None or importlib.util.find_spec("flask") is None:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "moto[server]"], check=True)
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "moto.server", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_up(url + "/moto-api/")
        import boto3  # moto depends on it

        s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="x",
                          aws_secret_access_key="x")
        s3.create_bucket(Bucket="bench")
        s3.put_object(Bucket="bench", Key="small.bin", Body=PAYLOAD)
        signed = s3.generate_presigned_url("get_object", Params={"Bucket": "bench", "Key": "small.bin"},
                                           ExpiresIn=3600)
        return requests_per_second("127.0.0.1", port, get_request(signed, f"127.0.0.1:{port}"), seconds)
    finally:
        process.terminate()
        process.wait()


def main(seconds: float = 5.0) -> None:
    results: dict[str, float] = {}
    with LiveServer() as server:
        for name, (port, request) in emulator_targets(server).items():
            requests_per_second("127.0.0.1", port, request, 0.5)  # warm up
            results[name] = requests_per_second("127.0.0.1", port, request, seconds)
    results["bare uvicorn ASGI app, 1 KiB"] = run_bare(seconds)
    results["moto_server: S3 GET 1 KiB (presigned)"] = run_moto(seconds)
    bare = results["bare uvicorn ASGI app, 1 KiB"]
    print(f"{'target':42} {'req/s':>8} {'vs bare':>8}")
    for name, rate in results.items():
        print(f"{name:42} {rate:8.0f} {rate / bare:8.2f}")


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 5.0)
