"""Running plans: extract the sampled frames, then encode them into the outputs. Blocking (runs in
the worker pool); reports progress as the fraction of sampled frames extracted."""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from emulator.media.ffmpeg import MediaError
from emulator.media.graph import (
    animation_command,
    direct_animation_command,
    extract_command,
    image_sequence_command,
)
from emulator.media.plan import Geometry, SamplingPlan, frame_delay

# Seeking inputs per ffmpeg run: each open input holds a decoder, so memory bounds this.
READS_PER_RUN = 16

FFMPEG_NICENESS = 5

Progress = Callable[[float], None]


@dataclass(frozen=True)
class Rendered:
    files: list[Path]  # in output order (index 1, 2, ...)
    frames: int  # sampled frames in the output(s)
    width: int
    height: int


def run_command(args: list[str], on_frame: Callable[[int], None] | None = None,
                timeout: float | None = None) -> None:
    """Run an ffmpeg command line; MediaError with its last lines when it fails."""
    args = [args[0], "-hide_banner", "-nostdin", "-loglevel", "error", "-nostats",
            "-progress", "pipe:1", *args[1:]]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    with contextlib.suppress(OSError):  # below the server, so polls stay fast while converting
        os.setpriority(os.PRIO_PROCESS, process.pid, FFMPEG_NICENESS)
    for line in process.stdout:
        if on_frame and line.startswith(b"frame="):
            try:
                on_frame(int(line[6:].strip() or 0))
            except ValueError:
                pass
    stderr = process.stderr.read()
    code = process.wait(timeout)
    if code != 0:
        tail = stderr.decode("utf-8", "replace").strip().splitlines()[-5:]
        raise MediaError("\n".join(tail) or f"ffmpeg exited with {code}")


def extract_frames(paths: list[Path], plan: SamplingPlan, geometry: Geometry, raw: Path,
                   progress: Progress | None = None) -> int:
    """Write the plan's frames as raw RGB to `raw`; the number of frames written."""
    frame_bytes = geometry.out_w * geometry.out_h * 3
    total = max(len(plan.frames), 1)
    done = 0
    batches: list[list] = []
    for read in plan.reads:  # decode reads run alone; seek reads share runs
        if batches and read.strategy == "seek" and len(batches[-1]) < READS_PER_RUN \
                and batches[-1][-1].strategy == "seek":
            batches[-1].append(read)
        else:
            batches.append([read])
    with open(raw, "wb") as sink:
        for batch in batches:
            with tempfile.NamedTemporaryFile(dir=raw.parent, suffix=".rgb") as part:
                base = done

                def report(frames: int, base: int = base) -> None:
                    if progress:
                        progress(min(base + frames, total) / total)

                run_command(extract_command(paths, batch, geometry, Path(part.name)), report)
                data = Path(part.name).read_bytes()
            sink.write(data)
            done += len(data) // frame_bytes
            if progress:
                progress(min(done, total) / total)
    if done != len(plan.frames):
        raise MediaError(f"expected {len(plan.frames)} frames from the source, read {done}")
    return done


def render_animation(paths: list[Path], plan: SamplingPlan, geometry: Geometry, fmt: str,
                     frame_rate: float, out: Path, progress: Progress | None = None) -> Rendered:
    total = len(plan.frames)
    if len(plan.reads) <= READS_PER_RUN:  # one run, no intermediate file
        def report(frames: int) -> None:
            if progress:
                progress(min(frames, total) / total)

        run_command(direct_animation_command(paths, list(plan.reads), geometry, fmt, frame_rate, out),
                    report)
        shown = _frames_shown(out, fmt, frame_rate)
        if shown != total:
            raise MediaError(f"expected {total} frames from the source, got {shown}")
        return Rendered([out], total, geometry.out_w, geometry.out_h)
    raw = out.with_suffix(".rgb")
    count = extract_frames(paths, plan, geometry, raw, progress)
    run_command(animation_command(raw, geometry.out_w, geometry.out_h, fmt, frame_rate, out))
    raw.unlink()
    return Rendered([out], count, geometry.out_w, geometry.out_h)


def _frames_shown(path: Path, fmt: str, frame_rate: float) -> int:
    """How many frame delays the animation lasts: the WebP encoder merges identical consecutive
    frames into one longer frame, so the number of stored frames can be smaller."""
    from PIL import Image  # loaded when a task first needs it, not at start

    delay_ms = frame_delay(frame_rate, 100) * 10 if fmt == "gif" else frame_delay(frame_rate, 1000)
    with Image.open(path) as image:
        frames = getattr(image, "n_frames", 1)
        if frames == 1:  # a one-frame WebP carries no duration
            return 1
        total_ms = 0
        for index in range(frames):
            image.seek(index)
            image.load()  # the WebP reader sets a frame's duration when it decodes it
            total_ms += image.info.get("duration", delay_ms)
    return round(total_ms / delay_ms)


def render_images(paths: list[Path], plan: SamplingPlan, geometry: Geometry, fmt: str, work: Path,
                  tile: tuple[int, int, int, int] | None = None,
                  progress: Progress | None = None) -> Rendered:
    """Snapshots (one image per frame) or, with `tile`, sprite sheets; numbered from 1."""
    raw = work / "frames.rgb"
    count = extract_frames(paths, plan, geometry, raw, progress)
    pattern = work / f"image-%06d.{fmt}"
    run_command(image_sequence_command(raw, geometry.out_w, geometry.out_h, fmt, pattern, tile))
    raw.unlink()
    files = sorted(work.glob(f"image-*.{fmt}"))
    return Rendered(files, count, geometry.out_w, geometry.out_h)
