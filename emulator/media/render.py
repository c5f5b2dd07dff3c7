"""Running plans: extract the sampled frames and encode them into the outputs as they arrive.
Blocking (runs in the worker pool); reports progress as the fraction of sampled frames extracted."""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from emulator.media.ffmpeg import MediaError, spawn
from emulator.media.graph import (
    animation_command,
    direct_animation_command,
    extract_command,
    image_sequence_command,
    skip_filter,
)
from emulator.media.plan import Geometry, Read, SamplingPlan

# Seeking inputs per ffmpeg run: each open input holds a decoder, so memory bounds this.
READS_PER_RUN = 16

FFMPEG_NICENESS = 5

# Handing extracted frames to the encoder: bytes per read, and how long to wait for more of a
# file still being written (a finished run ends the wait at once).
RELAY_CHUNK = 1 << 20
RELAY_WAIT_SECONDS = 0.02

Progress = Callable[[float], None]


@dataclass(frozen=True)
class Rendered:
    files: list[Path]  # in output order (index 1, 2, ...)
    frames: int  # sampled frames in the output(s)
    width: int
    height: int


def run_command(args: list[str], on_frame: Callable[[int], None] | None = None,
                timeout: float | None = None, feed: Callable[[IO[bytes]], None] | None = None) -> None:
    """Run an ffmpeg command line; MediaError with its last lines when it fails. `feed`, when
    given, writes the command's standard input (from another thread); an error it raises is
    raised here."""
    args = [args[0], "-hide_banner", *(() if feed else ("-nostdin",)), "-loglevel", "error",
            "-nostats", "-progress", "pipe:1", *args[1:]]
    process = spawn(args, stdin=subprocess.PIPE if feed else subprocess.DEVNULL,
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    with contextlib.suppress(OSError):  # below the server, so polls stay fast while converting
        os.setpriority(os.PRIO_PROCESS, process.pid, FFMPEG_NICENESS)
    feeding, feed_failure = _start_feeding(process, feed)
    for line in process.stdout:
        if on_frame and line.startswith(b"frame="):
            try:
                on_frame(int(line[6:].strip() or 0))
            except ValueError:
                pass
    stderr = process.stderr.read()
    code = process.wait(timeout)
    if feeding:
        feeding.join()
    if feed_failure:
        raise feed_failure[0]
    if code != 0:
        tail = stderr.decode("utf-8", "replace").strip().splitlines()[-5:]
        raise MediaError("\n".join(tail) or f"ffmpeg exited with {code}")


def _start_feeding(process: subprocess.Popen, feed: Callable[[IO[bytes]], None] | None
                   ) -> tuple[threading.Thread | None, list[BaseException]]:
    """A thread running `feed` into the process's standard input, closing it at the end."""
    failure: list[BaseException] = []
    if feed is None:
        return None, failure
    sink = process.stdin
    assert sink is not None

    def run() -> None:
        try:
            feed(sink)
        except BrokenPipeError:  # ffmpeg stopped reading: its exit status says why
            pass
        except BaseException as exc:  # noqa: BLE001 - raised again by run_command
            failure.append(exc)
            process.kill()
        finally:
            with contextlib.suppress(OSError):
                sink.close()

    thread = threading.Thread(target=run, name="ffmpeg-feed", daemon=True)
    thread.start()
    return thread, failure


def read_batches(reads: tuple[Read, ...]) -> list[list[Read]]:
    """The ffmpeg runs that read `reads`, in order: a decode read runs alone, seek reads share
    runs of up to READS_PER_RUN inputs."""
    batches: list[list[Read]] = []
    for read in reads:
        if batches and read.strategy == "seek" and len(batches[-1]) < READS_PER_RUN \
                and batches[-1][-1].strategy == "seek":
            batches[-1].append(read)
        else:
            batches.append([read])
    return batches


def write_skip_files(reads: list[Read], work: Path, name: str) -> list[Path | None]:
    """The `skip_filter` of each read that skips packets, written to a file in `work` (named
    after `name`); None for the others."""
    files: list[Path | None] = []
    for index, read in enumerate(reads):
        file = None
        if read.skip:
            file = work / f"{name}-{index:02d}.bsf"
            file.write_text(skip_filter(read.skip))
        files.append(file)
    return files


@dataclass(frozen=True)
class Extracting:
    """ffmpeg runs writing the frames of a plan, in order, one raw RGB file each, under way."""
    files: list[Path]
    runs: list[Future]
    frame_bytes: int


def start_extracting(paths: list[Path], plan: SamplingPlan, geometry: Geometry, work: Path,
                     pool: ThreadPoolExecutor, progress: Progress | None = None) -> Extracting:
    """Start the runs reading the plan's frames into files in `work` (their concatenation is the
    frames), as many at once as `pool` has threads."""
    frame_bytes = geometry.out_w * geometry.out_h * 3
    total = max(len(plan.frames), 1)
    batches = read_batches(plan.reads)
    done = [0] * len(batches)  # frames each run has written so far
    lock = threading.Lock()
    files = [work / f"part-{index:04d}.rgb" for index in range(len(batches))]
    for file in files:  # exists from the start, so it can be read while ffmpeg writes it
        file.touch()

    def report(index: int, frames: int) -> None:
        with lock:
            done[index] = frames
            if progress:
                progress(min(sum(done), total) / total)

    def run(index: int) -> None:
        skip_files = write_skip_files(batches[index], work, files[index].stem)
        run_command(extract_command(paths, batches[index], geometry, files[index], skip_files),
                    lambda frames: report(index, frames))
        report(index, files[index].stat().st_size // frame_bytes)

    return Extracting(files, [pool.submit(run, index) for index in range(len(batches))], frame_bytes)


def relay(extracting: Extracting, sink: IO[bytes]) -> int:
    """Copy the extracted frames into `sink` in order, each file while it is being written (so
    an encoder works beside the decoders instead of after them); the frames copied. Raises the
    error of a failed run."""
    copied = 0
    for file, run in zip(extracting.files, extracting.runs, strict=True):
        with file.open("rb") as part:
            while True:
                finished = run.done()  # looked at before reading: then the read reaches the end
                chunk = part.read(RELAY_CHUNK)
                if chunk:
                    sink.write(chunk)
                    copied += len(chunk)
                elif finished:
                    run.result()
                    break
                else:
                    wait([run], timeout=RELAY_WAIT_SECONDS)
    return copied // extracting.frame_bytes


def extract_frames(paths: list[Path], plan: SamplingPlan, geometry: Geometry, work: Path,
                   progress: Progress | None = None, parts: int = 1) -> list[Path]:
    """Write the plan's frames as raw RGB, in order, into files in `work` (one per ffmpeg run:
    their concatenation is the frames); up to `parts` runs at once. The files, in order."""
    with ThreadPoolExecutor(max(1, parts)) as pool:
        extracting = start_extracting(paths, plan, geometry, work, pool, progress)
        for run in extracting.runs:
            run.result()
    count = sum(f.stat().st_size // extracting.frame_bytes for f in extracting.files)
    _check_count(count, plan)
    return extracting.files


def encode_extracted(command: list[str], paths: list[Path], plan: SamplingPlan, geometry: Geometry,
                     work: Path, progress: Progress | None = None, parts: int = 1) -> None:
    """Run `command` (reading raw frames on standard input) on the plan's frames while up to
    `parts` runs extract them."""
    copied: list[int] = []
    with ThreadPoolExecutor(max(1, parts)) as pool:
        extracting = start_extracting(paths, plan, geometry, work, pool, progress)
        try:
            run_command(command, feed=lambda sink: copied.append(relay(extracting, sink)))
        finally:
            for run in extracting.runs:
                run.cancel()
    _check_count(copied[0], plan)


def _check_count(count: int, plan: SamplingPlan) -> None:
    if count != len(plan.frames):
        raise MediaError(f"expected {len(plan.frames)} frames from the source, read {count}")


def render_animation(paths: list[Path], plan: SamplingPlan, geometry: Geometry, fmt: str,
                     frame_rate: float, out: Path, progress: Progress | None = None,
                     parts: int = 1) -> Rendered:
    """The animation of `plan`. Reads that can run in parallel (a decode cut at keyframes by
    `plan_sampling(parts=...)`, or many seeks) are extracted by up to `parts` ffmpeg runs at
    once, then encoded in one pass over their frames in order: the same frames and delays as
    one run gives."""
    total = len(plan.frames)
    batches = read_batches(plan.reads)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix="frames-") as work:
        if len(plan.reads) <= READS_PER_RUN and (parts < 2 or len(batches) < 2):  # one run, no raw file
            def report(frames: int) -> None:
                if progress:
                    progress(min(frames, total) / total)

            reads, encoded = list(plan.reads), Path(work) / "encoded.log"
            run_command(direct_animation_command(paths, reads, geometry, fmt, frame_rate, out,
                                                 write_skip_files(reads, Path(work), "direct"), encoded),
                        report)
            _check_count(len(encoded.read_text().split()), plan)
        else:
            encode_extracted(animation_command(geometry.out_w, geometry.out_h, fmt, frame_rate, out),
                             paths, plan, geometry, Path(work), progress, parts)
    return Rendered([out], total, geometry.out_w, geometry.out_h)


def render_images(paths: list[Path], plan: SamplingPlan, geometry: Geometry, fmt: str, work: Path,
                  tile: tuple[int, int, int, int] | None = None,
                  progress: Progress | None = None, parts: int = 1) -> Rendered:
    """Snapshots (one image per frame) or, with `tile`, sprite sheets; numbered from 1. Up to
    `parts` extracting runs at once."""
    with tempfile.TemporaryDirectory(dir=work, prefix="frames-") as frames:
        pattern = work / f"image-%06d.{fmt}"
        encode_extracted(image_sequence_command(geometry.out_w, geometry.out_h, fmt, pattern, tile),
                         paths, plan, geometry, Path(frames), progress, parts)
    files = sorted(work.glob(f"image-*.{fmt}"))
    return Rendered(files, len(plan.frames), geometry.out_w, geometry.out_h)
