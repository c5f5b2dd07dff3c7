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
# Demuxers without an index: ffmpeg seeks them by timestamp and may land past a keyframe, so the
# decoder starts at the next one and frames are lost (see SourceFrames.seekable).
UNINDEXED_DEMUXERS = {"mpegts", "mpeg", "mpegvideo", "h264", "hevc", "m4v", "hls"}


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


# Containers whose packet positions are sample offsets in the file (the same whatever libavformat
# reads them), and so can name a packet to leave out: see `_skippable`.
_OFFSET_CONTAINERS = {"mov", "mp4"}
_H264_SLICES = (1, 5)  # NAL unit types of coded slices (non-IDR, IDR)


def _nal_ref_idc(data: memoryview, length_size: int) -> int | None:
    """The highest nal_ref_idc of the slices of an H.264 access unit in length-prefixed (avcC)
    form: 0 when no other picture refers to any of its pictures (both fields, when field-coded).
    None when no slice is found."""
    highest = None
    i = 0
    while i + length_size < len(data):
        size = int.from_bytes(data[i:i + length_size], "big")
        header = data[i + length_size]
        if header & 0x1F in _H264_SLICES:
            highest = max(highest or 0, (header >> 5) & 3)
        i += length_size + size
    return highest


def _h264_pictures(path: Path) -> list[tuple[int, int, int | None]]:
    """(byte position, size, nal_ref_idc) of every video packet in presentation order, read with
    PyAV (demuxing only); [] unless the source is H.264 (avcC) in MP4/MOV."""
    import av  # loaded when a task first needs it, not at start

    try:
        with av.open(str(path)) as container:
            if not set(container.format.name.split(",")) & _OFFSET_CONTAINERS:
                return []
            stream = container.streams.video[0]
            extradata = stream.codec_context.extradata or b""
            if stream.codec_context.name != "h264" or len(extradata) < 5 or extradata[0] != 1:
                return []  # not H.264, or Annex B start codes instead of avcC lengths
            length_size = (extradata[4] & 3) + 1
            packets = sorted((packet.pts, packet.pos, packet.size,
                              _nal_ref_idc(memoryview(packet), length_size))
                             for packet in container.demux(stream)
                             if packet.size and packet.pts is not None)
    except Exception:  # noqa: BLE001 - sparing the decoder is an optimisation: then decode everything
        return []
    return [(pos, size, ref) for _, pos, size, ref in packets]


def _skippable(pictures: list[tuple[int, int, int | None]], sizes: list[int]) -> dict[int, int]:
    """Frame index -> byte position of every non-reference picture (nal_ref_idc 0), which a
    decoder can be spared when its frame is not wanted: no other picture is predicted from it, so
    every other frame decodes the same. {} unless `pictures` match the stream-copy timeline
    (`sizes`, in presentation order) one for one."""
    if [size for _, size, _ in pictures] != sizes or any(pos is None or pos < 0 for pos, _, _ in pictures):
        return {}
    return {index: pos for index, (pos, _, ref) in enumerate(pictures) if ref == 0}


def source_frames(path: Path, info: MediaInfo | None = None, timeout: float = 120) -> SourceFrames:
    """The timeline of the first video stream; MediaError when there is none."""
    info = info or probe(path)
    if not set(info.format.split(",")) & VIDEO_DEMUXERS:
        raise MediaError(f"the {info.format} format is not a video container")
    if not info.has_video:
        raise MediaError("the source has no video stream")
    with ThreadPoolExecutor(3) as reads:  # two stream copies and a demux at once
        copies = reads.map(lambda only_keys: _packets(path, only_keys, timeout), (False, True))
        pictures = reads.submit(_h264_pictures, path)
        every, keys = copies
    packets = sorted(every)
    if not packets:
        raise MediaError("the source has no video frames")
    # Keyframes are recognised by their bytes: a run that discards the other packets may shift
    # its timestamps (edit lists, B-frame delay), so its times are not comparable.
    key_packets = {digest for _, digest in keys}
    keyframes = [i for i, (_, digest) in enumerate(packets) if digest in key_packets]
    width, height = info.display_size
    skippable = _skippable(pictures.result(), [int(digest.split(":")[0]) for _, digest in packets])
    seekable = not set(info.format.split(",")) & UNINDEXED_DEMUXERS
    return SourceFrames(tuple(t for t, _ in packets), tuple(keyframes or [0]), width, height, skippable,
                        seekable)
