"""ffmpeg command lines built from plans with ffmpeg-python. Two stages:

1. extract: the sampled frames, each read as its plan says (one seeking input per sample, or a
   `select` over a decoded run), scaled / cropped / padded, concatenated into a raw RGB file;
2. encode: that file into the target: animated GIF (own palette), animated WebP, numbered
   JPG / PNG snapshots, or sprite sheets (tile).

An animation whose plan needs few inputs is made in one run (sources to GIF / WebP).

Building only; running is emulator.media.render's job.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import ffmpeg

from emulator.media.ffmpeg import ffmpeg_exe
from emulator.media.plan import Geometry, Read, frame_delay

RAW_PIXEL_FORMAT = "rgb24"


def select_expression(picks: tuple[int, ...]) -> str:
    """A `select` expression true for exactly the frame numbers in `picks` (ascending), written
    as arithmetic runs so that thousands of picks stay a short expression."""
    terms: list[str] = []
    i = 0
    while i < len(picks):
        j = i + 1
        step = picks[j] - picks[i] if j < len(picks) else 1
        while j + 1 < len(picks) and picks[j + 1] - picks[j] == step:
            j += 1
        if j < len(picks) and j - i >= 2:
            terms.append(f"between(n,{picks[i]},{picks[j]})*not(mod(n-{picks[i]},{step}))")
            i = j + 1
        else:
            terms.append(f"eq(n,{picks[i]})")
            i += 1
    return "+".join(terms)


def skip_filter(positions: tuple[int, ...]) -> str:
    """An ffmpeg `-bsf` value dropping the packets at byte `positions` (ascending, at least one)
    before they reach the decoder: `noise`'s drop expression written as a binary search over the
    positions, so each packet costs a few comparisons however many there are. Too long for a
    command line on long sources, so it is passed in a file (`-/bsf:v <file>`)."""
    def search(low: int, high: int) -> str:
        if high - low == 1:
            return f"eq(pos,{positions[low]})"
        middle = (low + high) // 2
        return f"if(lt(pos,{positions[middle]}),{search(low, middle)},{search(middle, high)})"

    return "noise=drop=" + search(0, len(positions)).replace(",", "\\,")  # a comma ends a filter


def apply_geometry(stream, geometry: Geometry):
    # RGB from here on: crop / pad to odd sizes would otherwise trip over 4:2:0 chroma.
    stream = stream.filter("scale", geometry.scale_w, geometry.scale_h, flags="bicubic")
    stream = stream.filter("format", RAW_PIXEL_FORMAT)
    if geometry.fit == "crop" and (geometry.scale_w, geometry.scale_h) != (geometry.out_w, geometry.out_h):
        stream = stream.filter("crop", geometry.out_w, geometry.out_h)  # centred by default
    elif geometry.fit == "fill" and (geometry.scale_w, geometry.scale_h) != (geometry.out_w, geometry.out_h):
        stream = stream.filter("pad", geometry.out_w, geometry.out_h, "(ow-iw)/2", "(oh-ih)/2",
                               color="black")
    return stream.filter("setsar", 1)


def sampled_frames(paths: list[Path], reads: list[Read], geometry: Geometry,
                   skip_files: Sequence[Path | None]):
    """The frames of `reads`, in order, at the output size. `skip_files[i]` holds the
    `skip_filter` of `reads[i]` (None: it skips nothing)."""
    streams = []
    for read, skip_file in zip(reads, skip_files, strict=True):
        # No accurate seek and no -t: decoding starts at the keyframe the plan counted from,
        # frames before the first wanted one are dropped by time, the wanted ones picked by
        # position, and trim ends the input (ffmpeg stops decoding it) after the last one.
        skipping = {"/bsf:v": str(skip_file)} if skip_file else {}
        stream = ffmpeg.input(str(paths[read.source]), ss=f"{read.seek:.6f}", noaccurate_seek=None,
                              an=None, sn=None, dn=None, **skipping).video
        stream = stream.filter("select", f"gte(t,{read.after:.6f})")
        stream = stream.filter("trim", end_frame=read.picks[-1] + 1)
        if read.picks != tuple(range(read.picks[-1] + 1)):
            stream = stream.filter("select", select_expression(read.picks))
        streams.append(apply_geometry(stream, geometry))
    return streams[0] if len(streams) == 1 else ffmpeg.concat(*streams, v=1, a=0)


def extract_command(paths: list[Path], reads: list[Read], geometry: Geometry, out: Path,
                    skip_files: Sequence[Path | None]) -> list[str]:
    """One ffmpeg run writing the frames of `reads` (in order) to `out` as raw RGB."""
    stream = sampled_frames(paths, reads, geometry, skip_files)
    output = stream.output(str(out), f="rawvideo", pix_fmt=RAW_PIXEL_FORMAT, fps_mode="passthrough")
    return output.compile(cmd=ffmpeg_exe(), overwrite_output=True)


def _raw_input(width: int, height: int, rate: float | str):
    """Raw RGB frames on standard input (fed while they are extracted: see render.py)."""
    return ffmpeg.input("pipe:0", f="rawvideo", pix_fmt=RAW_PIXEL_FORMAT, s=f"{width}x{height}",
                        framerate=rate).video


def _encode_animation(stream, fmt: str, frame_rate: float, out: Path,
                      encoded_log: Path | None = None) -> list[str]:
    """GIF with a palette made for these frames; WebP lossy, looping. Every frame (the last one
    too) carries the same delay: GIF counts in 1/100 s, WebP in 1/1000 s. With `encoded_log`,
    ffmpeg writes there a line per frame it hands the encoder."""
    ticks = 100 if fmt == "gif" else 1000
    delay = frame_delay(frame_rate, ticks)
    # Timestamps one delay apart, and the fps filter gives every frame (the last one included)
    # that duration, which the GIF muxer uses for the last frame's delay.
    stream = (stream.filter("settb", f"1/{ticks}").filter("setpts", f"N*{delay}")
              .filter("fps", f"{ticks}/{delay}"))
    # The file cannot tell how many frames went in: libwebp merges identical neighbours (a still
    # scene can end as one still picture).
    log = {"stats_enc_pre": str(encoded_log), "stats_enc_pre_fmt": "{n}"} if encoded_log else {}
    if fmt == "gif":
        split = stream.filter_multi_output("split")
        palette = split[0].filter("palettegen", stats_mode="full")
        stream = ffmpeg.filter([split[1], palette], "paletteuse", dither="sierra2_4a")
        output = stream.output(str(out), f="gif", loop=0, fps_mode="passthrough",
                               enc_time_base=f"1/{ticks}", **log)
    else:
        output = stream.output(str(out), f="webp", vcodec="libwebp_anim", loop=0, quality=80,
                               pix_fmt="yuva420p", fps_mode="passthrough", enc_time_base=f"1/{ticks}",
                               **log)
    return output.compile(cmd=ffmpeg_exe(), overwrite_output=True)


def animation_command(width: int, height: int, fmt: str, frame_rate: float, out: Path) -> list[str]:
    """The animation from raw RGB frames on standard input (in order): the same bytes as
    `direct_animation_command` gives for the same frames (square pixels declared, as there)."""
    stream = _raw_input(width, height, frame_rate).filter("setsar", 1)
    return _encode_animation(stream, fmt, frame_rate, out)


def direct_animation_command(paths: list[Path], reads: list[Read], geometry: Geometry, fmt: str,
                             frame_rate: float, out: Path, skip_files: Sequence[Path | None],
                             encoded_log: Path | None = None) -> list[str]:
    """The animation in one ffmpeg run, straight from the sources (few enough inputs); with
    `encoded_log`, a line there per frame encoded."""
    return _encode_animation(sampled_frames(paths, reads, geometry, skip_files), fmt, frame_rate, out,
                             encoded_log)


def image_sequence_command(width: int, height: int, fmt: str, pattern: Path,
                           tile: tuple[int, int, int, int] | None = None) -> list[str]:
    """Numbered still images (1, 2, ...) from raw frames on standard input; with `tile` =
    (columns, rows, pad, margin), sprite sheets of columns x rows frames each."""
    stream = _raw_input(width, height, 25)
    if tile:
        columns, rows, pad, margin = tile
        stream = stream.filter("tile", f"{columns}x{rows}", padding=pad, margin=margin, color="black")
    options = {"q:v": 2} if fmt == "jpg" else {}
    output = stream.output(str(pattern), f="image2", start_number=1, fps_mode="passthrough",
                           vcodec="mjpeg" if fmt == "jpg" else "png", pix_fmt="yuvj444p" if fmt == "jpg"
                           else "rgb24", **options)
    return output.compile(cmd=ffmpeg_exe(), overwrite_output=True)
