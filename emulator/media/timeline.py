"""A source video's frame timeline (every frame's time, which are keyframes) read by stream copy:
no decoding, so it costs milliseconds even for a long 1080p file."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path

from emulator.media.ffmpeg import MediaError, MediaInfo, ffmpeg_exe, probe, run
from emulator.media.plan import SourceFrames

# Containers IMM lists as video formats (MP4, MOV, MKV, WebM, MPEG-TS, AVI, FLV, M3U8, WMV, RM,
# VOB) plus raw H.264/HEVC. Anything else ffmpeg opens (a text file as "tty" art, images) is not
# a video source.
VIDEO_DEMUXERS = {"mov", "mp4", "matroska", "webm", "mpegts", "avi", "flv", "hls", "asf", "rm", "mpeg",
                  "h264", "hevc", "m4v"}
_TIME_BASE = re.compile(r"^#tb 0: (\d+)/(\d+)", re.MULTILINE)


def _packets(path: Path, keyframes_only: bool, timeout: float) -> list[tuple[float, str]]:
    """(presentation time, size+checksum) of every video packet."""
    args = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error"]
    if keyframes_only:
        args += ["-discard", "nokey"]
    args += ["-i", str(path), "-map", "0:v:0", "-c", "copy", "-f", "framehash", "-hash", "crc32", "-"]
    result = run(args, timeout)
    text = result.stdout.decode("utf-8", "replace")
    base = _TIME_BASE.search(text)
    if result.returncode != 0 or base is None:
        raise MediaError(result.stderr.decode("utf-8", "replace").strip() or "no video stream")
    tb = Fraction(int(base.group(1)), int(base.group(2)))
    packets = []
    for line in text.splitlines():
        fields = [f.strip() for f in line.split(",")]
        if line.startswith("#") or len(fields) < 6:
            continue
        stamp = fields[2] if fields[2].lstrip("-").isdigit() else fields[1]
        if stamp.lstrip("-").isdigit():
            packets.append((float(int(stamp) * tb), f"{fields[4]}:{fields[5]}"))
    return packets


def source_frames(path: Path, info: MediaInfo | None = None, timeout: float = 120) -> SourceFrames:
    """The timeline of the first video stream; MediaError when there is none."""
    info = info or probe(path)
    if not set(info.format.split(",")) & VIDEO_DEMUXERS:
        raise MediaError(f"the {info.format} format is not a video container")
    if not info.has_video:
        raise MediaError("the source has no video stream")
    with ThreadPoolExecutor(2) as both:  # two stream copies at once
        every, keys = both.map(lambda only_keys: _packets(path, only_keys, timeout), (False, True))
    packets = sorted(every)
    if not packets:
        raise MediaError("the source has no video frames")
    # Keyframes are recognised by their bytes: a run that discards the other packets may shift
    # its timestamps (edit lists, B-frame delay), so its times are not comparable.
    key_packets = {digest for _, digest in keys}
    keyframes = [i for i, (_, digest) in enumerate(packets) if digest in key_packets]
    width, height = info.display_size
    return SourceFrames(tuple(t for t, _ in packets), tuple(keyframes or [0]), width, height)
