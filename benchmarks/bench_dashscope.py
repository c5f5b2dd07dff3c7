"""DashScope motion-proxy render speed (not part of the test suite).

    python benchmarks/bench_dashscope.py

1. Renders the documented sample (5.2 s reference) at the wan-std size and reports how many
   times faster than real time it is (the target is >= 3x on a 2-core machine), next to a
   baseline measured in the same process: x264 encoding the same number of frames of one still
   picture (what the render costs beyond compositing).
2. The content checks (emulator/services/dashscope/content.py: the person detector on the image
   and on the reference's sampled frames) on the same sample: what they add to a wan-std task
   (the target is at most 0.5 s), and what following the performer costs inside the render.
3. Runs a live emulator, submits the seed's task, and polls it while it renders: the slowest
   poll answer shows whether the render blocks the server. Baseline, same run and server: the
   same poll once the task has finished and nothing renders.
"""

from __future__ import annotations

import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from emulator.media import animate
from emulator.media.ffmpeg import probe
from emulator.services.dashscope import content
from emulator.services.dashscope.inputs import ASSETS
from emulator.testing.server import LiveServer

IMAGE = ASSETS / "move_input_image.jpeg"
VIDEO = ASSETS / "move_input_video.mp4"
REPEATS = 3


def render_once(out: Path) -> tuple[float, animate.RenderPlan]:
    start = time.perf_counter()
    info = probe(VIDEO)
    plan = animate.plan_for_inputs("wan2.2-animate-move", "wan-std", IMAGE, (384, 512), VIDEO, info, True)
    animate.render(plan, IMAGE, VIDEO, out)
    return time.perf_counter() - start, plan


def checks_once() -> float:
    start = time.perf_counter()
    assert content.image_verdict(IMAGE) is None
    assert content.video_verdict(VIDEO, probe(VIDEO)) is None
    return time.perf_counter() - start


def tracking_once() -> float:
    info = probe(VIDEO)
    start = time.perf_counter()
    animate.measure_reference(VIDEO, info.display_size, animate.output_fps(info.fps), info.duration)
    return time.perf_counter() - start


def encode_still_once(plan: animate.RenderPlan, out: Path) -> float:
    frame = b"\x80" * (plan.width * plan.height * 3)
    start = time.perf_counter()
    process = subprocess.Popen(animate.encoder_args(plan, out), stdin=subprocess.PIPE)
    assert process.stdin is not None
    for _ in range(plan.frame_count):
        process.stdin.write(frame)
    process.stdin.close()
    process.wait()
    return time.perf_counter() - start


def poll_latency() -> tuple[list[float], list[float]]:
    """Poll answer times while the task renders, then (baseline) as many polls of it finished."""
    with LiveServer() as server:
        body = {"model": "wan2.2-animate-move", "parameters": {"mode": "wan-std"},
                "input": {"image_url": "https://help-static-aliyun-doc.aliyuncs.com/file-manage-files/zh-CN/"
                                       "20250919/adsyrp/move_input_image.jpeg",
                          "video_url": "https://help-static-aliyun-doc.aliyuncs.com/file-manage-files/zh-CN/"
                                       "20250919/kaakcn/move_input_video.mp4"}}
        headers = {"Authorization": "Bearer sk-emulator", "X-DashScope-Async": "enable"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=30) as client:
            task_id = client.post("/api/v1/services/aigc/image2video/video-synthesis", json=body).json()[
                "output"]["task_id"]

            def poll() -> tuple[float, str]:
                start = time.perf_counter()
                status = client.get(f"/api/v1/tasks/{task_id}").json()["output"]["task_status"]
                return time.perf_counter() - start, status

            busy = []
            while True:
                seconds, status = poll()
                busy.append(seconds)
                if status in ("SUCCEEDED", "FAILED"):
                    break
                time.sleep(0.06)  # ~15 polls a second, under the 20 QPS limit
            idle = []
            for _ in range(len(busy)):
                idle.append(poll()[0])
                time.sleep(0.06)
    return busy, idle


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        renders, plan = [], None
        for i in range(REPEATS):
            seconds, plan = render_once(Path(tmp) / f"render{i}.mp4")
            renders.append(seconds)
        assert plan is not None
        stills = [encode_still_once(plan, Path(tmp) / f"still{i}.mp4") for i in range(REPEATS)]
    render, still = min(renders), min(stills)
    print(f"output: {plan.width}x{plan.height}, {plan.frame_count} frames, {plan.duration:.2f} s (wan-std)")
    print(f"render: {render:.2f} s -> {plan.duration / render:.1f}x real time")
    print(f"baseline x264 of a still picture: {still:.2f} s -> "
          f"render costs {render / still:.1f}x the baseline")
    checks = min(checks_once() for _ in range(REPEATS))
    tracking = min(tracking_once() for _ in range(REPEATS))
    print(f"content checks (image + {content.SAMPLED_FRAMES} sampled frames): {checks:.2f} s, "
          f"{checks / render:.0%} of the render")
    print(f"following the performer (inside the render): {tracking:.2f} s")
    busy, idle = poll_latency()
    print(f"polls while rendering: median {statistics.median(busy) * 1000:.1f} ms, "
          f"slowest {max(busy) * 1000:.1f} ms ({len(busy)} polls)")
    print(f"baseline, the same polls once it finished: median {statistics.median(idle) * 1000:.1f} ms, "
          f"slowest {max(idle) * 1000:.1f} ms -> rendering costs a poll "
          f"{statistics.median(busy) / statistics.median(idle):.2f}x at the median")


if __name__ == "__main__":
    main()
