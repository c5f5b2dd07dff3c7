"""The ffmpeg binary (from the imageio-ffmpeg wheel) and probing media with it.

The wheel ships no ffprobe, so `probe` reads what `ffmpeg -i` prints and, for the exact frame
count, stream-copies the video to the null muxer (no decoding: milliseconds even for long files).
"""

from __future__ import annotations

import ctypes
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path


@cache
def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


# prctl(2) option: the signal the kernel sends a child when the thread that started it ends.
_PR_SET_PDEATHSIG = 1


@cache
def _prctl() -> Callable[..., int] | None:
    """libc's prctl, loaded before any fork (the child must not load libraries); None off Linux."""
    if not sys.platform.startswith("linux"):
        return None
    return ctypes.CDLL(None, use_errno=True).prctl


def _dies_with(parent: int) -> Callable[[], None] | None:
    """What the child runs before exec: ask for SIGKILL when the server dies (even by SIGKILL, which
    no handler of ours would see), and quit if the server already died between fork and prctl.

    The signal follows the *thread* that forked. Every ffmpeg here is started and waited for by one
    call in one worker thread, and worker threads live until the server stops, so none is killed
    early."""
    prctl = _prctl()
    if prctl is None:
        return None

    def arm() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:
            os._exit(1)

    return arm


def spawn(args: list[str], **options) -> subprocess.Popen:
    """Start ffmpeg (a `subprocess.Popen`) so that it cannot outlive the server. Every ffmpeg the
    emulator runs goes through here or `run`."""
    return subprocess.Popen(args, preexec_fn=_dies_with(os.getpid()), **options)


def run(args: list[str], timeout: float | None = None) -> subprocess.CompletedProcess:
    """Run ffmpeg to the end (output and errors captured), as `spawn` starts it."""
    return subprocess.run(args, capture_output=True, timeout=timeout, preexec_fn=_dies_with(os.getpid()))


class MediaError(Exception):
    """The input is not media ffmpeg can read (or has no video stream when one is needed)."""


@dataclass(frozen=True)
class MediaInfo:
    format: str  # demuxer names, e.g. "mov,mp4,m4a,3gp,3g2,mj2", "image2", "png_pipe"
    duration: float  # seconds; 0 for still images
    has_video: bool
    video_codec: str | None
    width: int
    height: int
    fps: float  # average frame rate (0 when unknown)
    rotation: int  # display rotation in degrees (0, 90, 180, 270)
    has_audio: bool
    frame_count: int | None = None

    @property
    def display_size(self) -> tuple[int, int]:
        """Width and height as shown, after the rotation side data is applied."""
        if self.rotation % 180:
            return self.height, self.width
        return self.width, self.height


_DURATION = re.compile(r"Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)")
_INPUT = re.compile(r"Input #0, ([^ ]+), from")
_VIDEO = re.compile(r"Stream #0:\d+.*?: Video: (\w+).*?, (\d{2,5})x(\d{2,5})")
_FPS = re.compile(r"([\d.]+)(k?) fps")
_TBR = re.compile(r"([\d.]+)(k?) tbr")
_ROTATION = re.compile(r"rotation of (-?[\d.]+) degrees|rotate\s*:\s*(-?\d+)")
_FRAMES = re.compile(r"frame=\s*(\d+)")


def _rate(match: re.Match | None) -> float:
    if not match:
        return 0.0
    return float(match.group(1)) * (1000 if match.group(2) else 1)


def probe(path: Path | str, count_frames: bool = False, timeout: float = 30) -> MediaInfo:
    out = run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path)], timeout).stderr
    out = out.decode("utf-8", "replace")
    fmt = _INPUT.search(out)
    if not fmt:
        raise MediaError(out.strip().splitlines()[-1] if out.strip() else "unreadable input")
    duration = 0.0
    if m := _DURATION.search(out):
        duration = int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3))
    video = _VIDEO.search(out)
    video_line = next((line for line in out.splitlines() if ": Video: " in line), "")
    fps = _rate(_FPS.search(video_line)) or _rate(_TBR.search(video_line))
    rotation = 0
    if m := _ROTATION.search(out):
        rotation = int(round(float(m.group(1) or m.group(2)))) % 360
        # ffmpeg reports the counter-clockwise rotation matrix; what matters is the 90/270 swap.
    info = MediaInfo(
        format=fmt.group(1).rstrip(","), duration=duration, has_video=video is not None,
        video_codec=video.group(1) if video else None,
        width=int(video.group(2)) if video else 0, height=int(video.group(3)) if video else 0,
        fps=fps, rotation=rotation, has_audio=": Audio: " in out)
    if count_frames and video is not None:
        counted = run(
            [ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path), "-map", "0:v:0", "-c", "copy",
             "-f", "null", "-"], timeout).stderr.decode("utf-8", "replace")
        frames = _FRAMES.findall(counted)
        info = MediaInfo(**{**info.__dict__, "frame_count": int(frames[-1]) if frames else None})
    return info


def iter_frames(path: Path | str, fps: float | str, width: int, height: int,
                pix_fmt: str = "rgb24") -> Iterator[bytes]:
    """Decode a video at a constant `fps`, scaled to width x height, one raw frame at a time
    (rgb24: 3 bytes a pixel, gray: 1), streaming: the whole video is never in memory."""
    import ffmpeg

    bytes_per_pixel = {"rgb24": 3, "gray": 1}[pix_fmt]
    frame_size = width * height * bytes_per_pixel
    args = (ffmpeg.input(str(path))
            .filter("fps", fps=str(fps)).filter("scale", width, height)
            .output("pipe:", format="rawvideo", pix_fmt=pix_fmt)
            .global_args("-hide_banner", "-nostdin", "-loglevel", "error")
            .compile(cmd=ffmpeg_exe()))
    process = spawn(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert process.stdout is not None
        while len(frame := process.stdout.read(frame_size)) == frame_size:
            yield frame
    finally:
        if process.stdout:
            process.stdout.close()
        process.kill()
        process.wait()
