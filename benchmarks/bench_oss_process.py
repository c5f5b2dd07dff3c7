"""OSS x-oss-process speed (not run in CI): python benchmarks/bench_oss_process.py

Source: a generated 1920x1080 JPEG. Reported, as ratios measured in this process:

1. GET ?x-oss-process=image/resize,w_320 through oss2 against a live server / the same decode,
   resize and encode done with Pillow in this process (what HTTP, signing and the pool add);
2. a plain HeadObject's latency while four processing requests run at once / its latency on an
   idle server (whether image work blocks the event loop).
"""

from __future__ import annotations

import io
import statistics
import threading
import time

import oss2
from PIL import Image, ImageDraw

from emulator.testing.server import LiveServer

REPEATS = 10


def source() -> bytes:
    image = Image.new("RGB", (1920, 1080), (30, 60, 90))
    draw = ImageDraw.Draw(image)
    for i in range(0, 1920, 40):
        draw.line((i, 0, 1920 - i, 1080), fill=(i % 255, 200, 100), width=3)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def pillow_resize(data: bytes) -> bytes:
    image = Image.open(io.BytesIO(data))
    out = image.resize((320, 180), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    out.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    data = source()
    baseline = statistics.median(timed(lambda: pillow_resize(data)) for _ in range(REPEATS))
    with LiveServer() as server:
        bucket = oss2.Bucket(oss2.Auth(server.access_key_id, server.access_key_secret), server.url, "bench")
        bucket.create_bucket()
        bucket.put_object("big.jpg", data)
        served = statistics.median(
            timed(lambda: bucket.get_object("big.jpg", process="image/resize,w_320").read())
            for _ in range(REPEATS))
        idle = statistics.median(timed(lambda: bucket.head_object("big.jpg")) for _ in range(REPEATS))
        stop = threading.Event()

        def load() -> None:
            while not stop.is_set():
                bucket.get_object("big.jpg", process="image/resize,w_320/rotate,45").read()

        workers = [threading.Thread(target=load) for _ in range(4)]
        for worker in workers:
            worker.start()
        time.sleep(0.5)
        busy = statistics.median(timed(lambda: bucket.head_object("big.jpg")) for _ in range(REPEATS))
        stop.set()
        for worker in workers:
            worker.join()
    print(f"resize 1920x1080 -> 320: served {served * 1000:.1f} ms, Pillow alone {baseline * 1000:.1f} ms, "
          f"ratio {served / baseline:.2f}")
    print(f"HeadObject while 4 images process: {busy * 1000:.1f} ms, idle {idle * 1000:.1f} ms, "
          f"ratio {busy / idle:.2f}")


if __name__ == "__main__":
    main()
