"""IMM video-to-animation speed (not run in CI):
python benchmarks/bench_imm.py [--seconds 60] [--runs 2] [--only engine|e2e] [--cases dense,...]

Source: a generated 1920x1080 30 fps H.264 video (60 s by default), keyframe every 30 frames
(GOP = 1 s), cached in benchmarks/.cache. Reported, as ratios measured in this process:

1. emulator end to end (SDK submit -> GetTask Succeeded, live server) / a plain one-line ffmpeg
   command producing the same animation (full decode, fps filter, palettegen/paletteuse);
2. the media engine forced to decode every frame / the engine's own choice (seek per sample
   when Interval >= 4x the keyframe spacing);
3. the engine with the source timeline cut at keyframes into one part per core, decoded in
   parallel / the one-line command, for GIF and WebP; and against the engine's single pass;
4. GetTask latency while two conversions run in parallel / the same GetTask calls on a finished
   task with nothing running (same server).

Every figure is the best of --runs runs; the ratios compare runs made minutes apart in this
process, so load from other programs on the machine affects both sides (but not equally: say how
loaded the machine was when you report them).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import oss2  # noqa: E402
from alibabacloud_imm20200930 import models as m  # noqa: E402
from alibabacloud_imm20200930.client import Client  # noqa: E402
from alibabacloud_tea_openapi.utils_models import Config  # noqa: E402

from emulator.media.ffmpeg import ffmpeg_exe  # noqa: E402
from emulator.media.plan import Window, output_geometry, plan_sampling  # noqa: E402
from emulator.media.render import FFMPEG_NICENESS, render_animation  # noqa: E402
from emulator.media.timeline import source_frames  # noqa: E402
from emulator.testing.server import LiveServer  # noqa: E402

CACHE = Path(__file__).resolve().parent / ".cache"
GOP_SECONDS = 1.0
WIDTH = 480
CASES = {"sparse": ("sparse: Interval 4 s (4x GOP)", 4.0), "medium": ("medium: Interval 1 s (= GOP)", 1.0),
         "dense": ("dense: Interval 0.2 s", 0.2)}
CORES = os.cpu_count() or 1


def make_source(seconds: int) -> Path:
    source = CACHE / f"src_1080p30_{seconds}s_gop30.mp4"
    if source.exists():
        return source
    CACHE.mkdir(exist_ok=True)
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    "testsrc2=size=1920x1080:rate=30", "-t", str(seconds), "-c:v", "libx264",
                    "-preset", "veryfast", "-g", "30", "-keyint_min", "30", "-sc_threshold", "0",
                    "-pix_fmt", "yuv420p", str(source)],
                   check=True)
    return source


def best_of(runs: int, fn) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def one_line_ffmpeg(source: Path, interval: float, out: Path) -> None:
    """What a user would type: GIF with a palette of its own frames, or animated WebP."""
    if out.suffix == ".gif":
        graph = f"fps=1/{interval},scale={WIDTH}:-2,split[a][b];[a]palettegen[p];[b][p]paletteuse"
        codec = []
    else:
        graph = f"fps=1/{interval},scale={WIDTH}:-2"
        codec = ["-c:v", "libwebp_anim", "-quality", "80"]
    # At the engine's priority: on a loaded machine a lower one gets a smaller share of the CPU.
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-i", str(source),
                    "-filter_complex", graph, *codec, "-loop", "0", str(out)], check=True,
                   preexec_fn=lambda: os.nice(FFMPEG_NICENESS))


def engine(source: Path, interval: float, prefer: str | None, out: Path, parts: int = 1) -> int:
    frames = source_frames(source)
    plan = plan_sampling([frames], [Window(0, 0)], 0, interval, 0, prefer, parts)
    geometry = output_geometry(frames.width, frames.height, WIDTH, None)
    render_animation([source], plan, geometry, out.suffix[1:], 10, out, parts=parts)
    return plan.decoded_frames


def bench_engine(source: Path, cases: list[str], runs: int, work: Path) -> None:
    """The one-line command against the engine in one pass and with parts decoded in parallel."""
    print(f"engine, {CORES} cores: one part per core")
    print("| case | format | one-line ffmpeg | engine single pass | engine parallel | parallel / one-line "
          "| parallel / single |")
    print("|---|---|---|---|---|---|---|")
    for case in cases:
        label, interval = CASES[case]
        for fmt in ("gif", "webp"):
            out = work / f"out.{fmt}"
            t_cmd = best_of(runs, partial(one_line_ffmpeg, source, interval, out))
            t_single = best_of(runs, partial(engine, source, interval, None, out))
            t_parallel = best_of(runs, partial(engine, source, interval, None, out, CORES))
            print(f"| {label} | {fmt} | {t_cmd:.2f} s | {t_single:.2f} s | {t_parallel:.2f} s "
                  f"| {t_parallel / t_cmd:.2f} | {t_parallel / t_single:.2f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=60, help="length of the generated source")
    parser.add_argument("--runs", type=int, default=2, help="runs per figure (the best counts)")
    parser.add_argument("--only", choices=["engine", "e2e"], help="one of the two tables")
    parser.add_argument("--cases", default="sparse,medium,dense", help="which of sparse, medium, dense")
    args = parser.parse_args()
    source = make_source(args.seconds)
    cases = args.cases.split(",")
    work = Path(tempfile.mkdtemp())
    print(f"source: {source.name} ({args.seconds} s, 1920x1080, 30 fps, H.264, GOP {GOP_SECONDS:g} s); "
          f"output {WIDTH} px wide, 10 fps; best of {args.runs}")
    if args.only != "e2e":
        bench_engine(source, cases, args.runs, work)
    if args.only != "engine":
        bench_e2e(source, cases, args.runs, work)


@contextmanager
def imm_client(source: Path) -> Iterator[Client]:
    """An IMM SDK client of a live emulator holding `source` as oss://bench/src.mp4 and project
    "bench"."""
    with LiveServer() as server:
        bucket = oss2.Bucket(oss2.Auth(server.access_key_id, server.access_key_secret), server.url, "bench")
        bucket.create_bucket()
        bucket.put_object_from_file("src.mp4", str(source))
        client = Client(Config(access_key_id=server.access_key_id, access_key_secret=server.access_key_secret,
                               endpoint=server.endpoint, protocol="http"))
        client.create_project(m.CreateProjectRequest(project_name="bench"))
        yield client


def bench_e2e(source: Path, cases: list[str], runs: int, work: Path) -> None:
    results = []
    with imm_client(source) as client:

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

        for case in cases:
            label, interval = CASES[case]
            t_cmd = best_of(runs, partial(one_line_ffmpeg, source, interval, work / "cmd.gif"))
            t_e2e = best_of(runs, lambda interval=interval: wait([submit(interval, "e2e")]))
            t_auto = best_of(runs, partial(engine, source, interval, None, work / "auto.gif"))
            t_full = best_of(runs, partial(engine, source, interval, "decode", work / "full.gif"))
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

    print("end to end (the server plans one part per core), GIF")
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
