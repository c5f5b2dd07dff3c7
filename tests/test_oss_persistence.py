"""State survives a restart on the same data directory; interrupted writes leave nothing behind."""

from __future__ import annotations

import os
import socket
import time
from email.utils import formatdate

import httpx
import oss2

from emulator.auth.oss import sign_v1
from emulator.testing.server import LiveServer
from tests.oss_clients import oss2_bucket


def test_buckets_objects_and_uploads_survive_restart(tmp_path) -> None:
    data = {f"k/{i} é.bin": os.urandom(1000 + i) for i in range(5)}
    with LiveServer(data_dir=tmp_path) as server:
        bucket = oss2_bucket(server, "keep")
        bucket.create_bucket()
        for key, value in data.items():
            bucket.put_object(key, value, headers={"x-oss-meta-n": str(len(value))})
        upload_id = bucket.init_multipart_upload("pending.bin").upload_id
        bucket.upload_part("pending.bin", upload_id, 1, b"part-one")
        server.advance(7200)
    with LiveServer(data_dir=tmp_path) as server:
        bucket = oss2_bucket(server, "keep")
        assert sorted(o.key for o in oss2.ObjectIterator(bucket)) == sorted(data)
        for key, value in data.items():
            got = bucket.get_object(key)
            assert got.read() == value and got.headers["x-oss-meta-n"] == str(len(value))
        assert [p.size for p in bucket.list_parts("pending.bin", upload_id).parts] == [8]
        assert server.admin("GET", "clock")["epoch"] - time.time() > 7000  # the clock came back too


def test_interrupted_upload_leaves_no_object(emulator: LiveServer) -> None:
    bucket = oss2_bucket(emulator, "media")
    bucket.create_bucket()
    bucket.put_object("k", b"original")
    # A signed PUT whose connection drops before Content-Length bytes arrived.
    date = formatdate(usegmt=True)
    signature = sign_v1(emulator.access_key_secret, f"PUT\n\n\n{date}\n/media/k")
    head = (f"PUT /media/k HTTP/1.1\r\nHost: 127.0.0.1\r\nDate: {date}\r\nContent-Length: 100000\r\n"
            f"Authorization: OSS {emulator.access_key_id}:{signature}\r\n\r\n")
    puts_before = len(emulator.requests(method="PUT", path="/media/k"))
    with socket.create_connection(("127.0.0.1", emulator.port)) as sock:
        sock.sendall(head.encode() + b"partial" * 1000)
    deadline = time.monotonic() + 30
    while len(emulator.requests(method="PUT", path="/media/k")) == puts_before:  # until it was handled
        assert time.monotonic() < deadline, "the dropped PUT never finished"
        time.sleep(0.02)
    assert bucket.get_object("k").read() == b"original"
    full = httpx.put(bucket.sign_url("PUT", "k", 60), content=b"complete")
    assert full.status_code == 200 and bucket.get_object("k").read() == b"complete"
