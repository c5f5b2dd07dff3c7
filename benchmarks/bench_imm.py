"""IMM video-to-animation speed (not run in CI): python benchmarks/bench_imm.py [latency]

Source: a generated 60 s 1920x1080 30 fps H.264 video, keyframe every 30 frames (GOP = 1 s),
cached in benchmarks/.cache. Reported, as ratios measured in this process:

1. emulator end to end (SDK submit -> GetTask Succeeded, live server) / a plain one-line ffmpeg
   command producing the same animation (full decode, fps filter, palettegen/paletteuse);
2. the media engine forced to decode every frame / the engine's own choice (seek per sample
   when Interval >= 4x the keyframe spacing);
3. GetTask latency while two conversions run in parallel / the same GetTask calls on a finished
   task with nothing running (same server). `latency` runs only this part.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import oss2  # noqa: E402
from alibabacloud_imm20200930 import models as m  # noqa: E402
from alibabacloud_imm20200930.client import Client  # noqa: E402
from alibabacloud_tea_openapi.utils_models import Config  # noqa: E402

from emulator.media.ffmpeg import ffmpeg_exe  # noqa: E402
from emulator.media.plan import Window, output_geometry, plan_sampling  # noqa: E402
from emulator.media.render import render_animation  # noqa: E402
from emulator.media.timeline import source_frames  # noqa: E402
from emulator.testing.server import LiveServer  # noqa: E402

CACHE = Path(__file__).resolve().parent / ".cache"
SOURCE = CACHE / "src_1080p30_60s_gop30.mp4"
GOP_SECONDS = 1.0
WIDTH = 480
CASES = [("sparse: Interval 4 s (4x GOP)", 4.0), ("medium: Interval 1 s (= GOP)", 1.0),
         ("dense: Interval 0.2 s", 0.2)]


def make_source() -> None:
    if SOURCE.exists():
        return
    CACHE.mkdir(exist_ok=True)
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    "testsrc2=size=1920x1080:rate=30", "-t", "60", "-c:v", "libx264", "-preset", "veryfast",
                    "-g", "30", "-keyint_min", "30", "-sc_threshold", "0", "-pix_fmt", "yuv420p",
                    str(SOURCE)],
                   check=True)


def best_of(runs: int, fn) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def one_line_ffmpeg(interval: float, out: Path) -> None:
    graph = (f"fps=1/{interval},scale={WIDTH}:-2,split[a][b];[a]palettegen[p];[b][p]paletteuse")
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-i", str(SOURCE),
                    "-filter_complex", graph, "-loop", "0", str(out)], check=True)


def engine(interval: float, prefer: str | None, out: Path) -> int:
    frames = source_frames(SOURCE)
    plan = plan_sampling([frames], [Window(0, 0)], 0, interval, 0, prefer)
    geometry = output_geometry(frames.width, frames.height, WIDTH, None)
    render_animation([SOURCE], plan, geometry, "gif", 10, out)
    return plan.decoded_frames


def main() -> None:
    make_source()
    work = Path(tempfile.mkdtemp())
    results = []
    with LiveServer() as server:
        bucket = oss2.Bucket(oss2.Auth(server.access_key_id, server.access_key_secret), server.url, "bench")
        bucket.create_bucket()
        bucket.put_object_from_file("src.mp4", str(SOURCE))
        client = Client(Config(access_key_id=server.access_key_id, access_key_secret=server.access_key_secret,
                               endpoint=server.endpoint, protocol="http"))
        client.create_project(m.CreateProjectRequest(project_name="bench"))

        def submit(interval: float, name: str) -> str:
            request = {"ProjectName": "bench", "Sources": [{"URI": "oss://bench/src.mp4"}],
                       "Targets": [{"Image": {"Animations": [{"Format": "gif", "URI": f"oss://bench/{name}.gif",
                                                               "Interval": interval, "FrameRate": 10,
                                                               "Width": WIDTH}]}}]}
            model = m.CreateMediaConvertTaskRequest().from_map(json.loads(json.dumps(request)))
            return client.create_media_convert_task(model).body.task_id

        def wait(task_ids: list[str], latencies: list[float] | None = None) -> None:
            pending = set(task_ids)
            while pending:
                for task_id in list(pending):
                    start = time.perf_counter()
                    status = client.get_task(m.GetTaskRequest(project_name="bench", task_type="MediaConvert",
                                                              task_id=task_id)).body.status
                    if latencies is not None:
                        latencies.append(time.perf_counter() - start)
                    if status != "Running":
                        assert status == "Succeeded", status
                        pending.discard(task_id)
                # A client polling every 50 ms, as apps do (faster polling spends the CPU the
                # conversion needs on a 2-core machine).
                time.sleep(0.05)

        for label, interval in CASES if "latency" not in sys.argv[1:] else []:
            t_cmd = best_of(2, lambda interval=interval: one_line_ffmpeg(interval, work / "cmd.gif"))
            t_e2e = best_of(2, lambda interval=interval: wait([submit(interval, "e2e")]))
            t_auto = best_of(2, lambda interval=interval: engine(interval, None, work / "auto.gif"))
            t_full = best_of(2, lambda interval=interval: engine(interval, "decode", work / "full.gif"))
            results.append((label, t_cmd, t_e2e, t_auto, t_full))

        idle: list[float] = []
        finished = submit(4.0, "idle")
        wait([finished])
        latencies: list[float] = []
        start = time.perf_counter()
        wait([submit(0.2, "par1"), submit(0.2, "par2")], latencies)
        t_parallel = time.perf_counter() - start
        for _ in range(len(latencies)):  # baseline: as many calls, nothing running
            wait([finished], idle)

    print(f"source: {SOURCE.name} (60 s, 1920x1080, 30 fps, H.264, GOP {GOP_SECONDS:g} s); output GIF "
          f"{WIDTH} px wide, 10 fps")
    if results:
        print("| case | one-line ffmpeg | emulator e2e | e2e / ffmpeg | engine auto | engine full decode "
              "| full / auto |")
        print("|---|---|---|---|---|---|---|")
    for label, t_cmd, t_e2e, t_auto, t_full in results:
        print(f"| {label} | {t_cmd:.2f} s | {t_e2e:.2f} s | {t_e2e / t_cmd:.2f} | {t_auto:.2f} s "
              f"| {t_full:.2f} s | {t_full / t_auto:.2f} |")
    print(f"two dense tasks in parallel: {t_parallel:.2f} s; GetTask meanwhile: median "
          f"{statistics.median(latencies) * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms "
          f"over {len(latencies)} calls")
    print(f"baseline, GetTask of a finished task with nothing running: median "
          f"{statistics.median(idle) * 1000:.1f} ms, max {max(idle) * 1000:.1f} ms -> "
          f"{statistics.median(latencies) / statistics.median(idle):.2f}x at the median")


if __name__ == "__main__":
    main()
