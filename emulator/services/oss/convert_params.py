"""`video/convert` and `audio/convert` (x-oss-async-process): the parameters of the OSS "Video
transcoding" page checked and mapped onto the transcoding engine's settings
(emulator.media.transcode) as plain data, before any task exists. A bad value is 400
InvalidArgument naming the parameter. No HTTP, no ffmpeg.

    video/convert,f_mp4,vcodec_h264,s_1280x720,fps_25,acodec_aac,ab_128000
        -> Conversion("video/convert", OutputSpec("mp4", VideoSettings(...), AudioSettings(...)), Clip(0))
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from emulator.core.errors import ServiceError
from emulator.media.plan import SCALE_TYPES
from emulator.media.transcode import (
    CODEC_MAX_CHANNELS,
    CODEC_SAMPLE_RATES,
    CONTAINER_AUDIO_CODECS,
    CONTAINER_VIDEO_CODECS,
    AudioSettings,
    Clip,
    OutputSpec,
    VideoSettings,
)
from emulator.services.oss.process import _choice, _Params, _split_action, invalid_argument, missing_argument

VIDEO_CONTAINERS = ("mp4", "mkv", "mov", "asf", "avi", "mxf", "ts", "flv", "webm")
AUDIO_CONTAINERS = ("mp3", "aac", "flac", "oga", "ac3", "opus", "amr")
VIDEO_CODECS = ("copy", "h264", "h265", "vp9")
AUDIO_CODECS = ("copy", "mp3", "aac", "flac", "vorbis", "ac3", "opus", "amr")
# fpsopt, sopt, vbopt, aropt, acopt, abopt: what to do when the source is below the target.
OPTIONS = {"0": "fixed", "1": "adaptive", "2": "fall"}
PIXEL_FORMATS = ("yuv420p", "yuva420p", "yuv420p10le", "yuv422p", "yuv422p10le", "yuv444p", "yuv444p10le")
SAMPLE_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 64000, 88200, 96000)
MAX_MS = 2**31 - 1
# What each container can store is the engine's table (CONTAINER_VIDEO_CODECS / _AUDIO_CODECS).
# These take no copied stream: their muxers hold only what OSS encodes into them.
NO_COPY_CONTAINERS = ("webm", "mxf", *AUDIO_CONTAINERS)
# The audio codec an output gets when acodec is not given, where copying is not possible.
DEFAULT_AUDIO_CODECS = {"webm": "opus", "mp3": "mp3", "aac": "aac", "flac": "flac", "oga": "vorbis",
                        "ac3": "ac3", "opus": "opus", "amr": "amr"}
# The MXF muxer takes PCM audio only, which OSS does not offer: MXF outputs are video only.
VIDEO_ONLY_CONTAINERS = ("mxf",)
# Parameters that shape an encoded stream: refused with a copied one (they would do nothing).
VIDEO_ENCODING = ("fps", "fpsopt", "pixfmt", "s", "sopt", "scaletype", "arotate", "g", "vb", "vbopt", "crf",
                  "maxrate", "bufsize")
AUDIO_ENCODING = ("ar", "aropt", "ac", "acopt", "ab", "abopt", "aq", "adepth")
_FPS = re.compile(r"^\d{1,3}(\.\d{1,6})?$")
_SIZE = re.compile(r"^(\d{1,5})?x(\d{1,5})?$")


@dataclass(frozen=True)
class Conversion:
    """One output from one window (ss, t) of the source."""

    operation: str  # "video/convert" | "audio/convert" | "video/concat"
    spec: OutputSpec
    clip: Clip


def _invalid(p: _Params, key: str, message: str) -> ServiceError:
    return invalid_argument(f"The parameter {key!r} of {p.action} {message}")


def _one_of(values: tuple[str, ...]) -> str:
    return values[0] if len(values) == 1 else f"one of {', '.join(values)}"


def _check_stored(p: _Params, key: str, codec: str, container: str,
                  table: dict[str, tuple[str, ...]]) -> None:
    """The codec must be one the container's muxer stores (copy: wherever a copy can go)."""
    stored = table.get(container, ())
    if codec in stored or (codec == "copy" and container not in NO_COPY_CONTAINERS):
        return
    raise _invalid(p, key, f"must be {_one_of(stored)} with f_{container}, not {codec!r}.")


def _flag(p: _Params, key: str) -> bool:
    return bool(p.int(key, 0, 1, 0))


def _option(p: _Params, key: str) -> str:
    raw = p.take(key)
    if raw is None:
        return "fixed"
    if raw not in OPTIONS:
        raise _invalid(p, key, f"must be 0, 1 or 2, not {raw!r}.")
    return OPTIONS[raw]


def _fps(p: _Params) -> float | None:
    raw = p.take("fps")
    if raw is None:
        return None
    if not _FPS.match(raw) or not 0 < float(raw) <= 240:
        raise _invalid(p, "fps", f"must be a frame rate in (0, 240], not {raw!r}.")
    return float(raw)


def _size(p: _Params) -> tuple[int | None, int | None] | None:
    raw = p.take("s")
    if raw is None:
        return None
    match = _SIZE.match(raw)
    if not match or not (match.group(1) or match.group(2)):
        raise _invalid(p, "s", f"must be <width>x<height>, <width>x or x<height>, not {raw!r}.")
    sides = tuple(int(side) if side else None for side in match.groups())
    if any(side is not None and (side % 2 or not 64 <= side <= 4096) for side in sides):
        raise _invalid(p, "s", f"must have even sides in [64, 4096], not {raw!r}.")
    return sides  # type: ignore[return-value]


def _refuse(p: _Params, keys: tuple[str, ...], reason: str) -> None:
    """Parameters that would do nothing here are refused rather than ignored."""
    for key in keys:
        if key in p.pairs:
            raise _invalid(p, key, reason)


def _video(p: _Params, container: str) -> VideoSettings:
    codec = _choice(p, "vcodec", VIDEO_CODECS, "copy")
    _check_stored(p, "vcodec", codec, container, CONTAINER_VIDEO_CODECS)
    if codec == "copy":
        _refuse(p, VIDEO_ENCODING, "needs vcodec set to an encoder: a copied stream keeps its own settings.")
        return VideoSettings()
    bitrate = p.int("vb", 10_000, 100_000_000)
    crf = p.int("crf", 0, 51)
    if bitrate is not None and crf is not None:
        raise _invalid(p, "crf", "cannot be set together with vb.")
    max_bitrate = p.int("maxrate", 10_000, 100_000_000)
    buffer_size = p.int("bufsize", 10_000, 200_000_000)
    if (max_bitrate is None) != (buffer_size is None):
        raise _invalid(p, "bufsize" if buffer_size is None else "maxrate", "must be set together with "
                       f"{'maxrate' if buffer_size is None else 'bufsize'}.")
    pixel_format = _choice(p, "pixfmt", PIXEL_FORMATS, "") or None
    if pixel_format == "yuva420p" and codec != "vp9":
        raise _invalid(p, "pixfmt", "yuva420p needs vcodec_vp9.")
    return VideoSettings(
        codec=codec, bitrate=bitrate, bitrate_option=_option(p, "vbopt"),
        crf=float(crf) if crf is not None else None, max_bitrate=max_bitrate, buffer_size=buffer_size,
        resolution=_size(p), resolution_option=_option(p, "sopt"), long_short=_flag(p, "arotate"),
        scale_type=_choice(p, "scaletype", SCALE_TYPES, "stretch"),
        frame_rate=_fps(p), frame_rate_option=_option(p, "fpsopt"), pixel_format=pixel_format,
        gop=p.int("g", 1, 100_000, 150) or 150)


def _audio(p: _Params, container: str) -> AudioSettings:
    codec = _choice(p, "acodec", AUDIO_CODECS, DEFAULT_AUDIO_CODECS.get(container, "copy"))
    _check_stored(p, "acodec", codec, container, CONTAINER_AUDIO_CODECS)
    if codec == "copy":
        _refuse(p, AUDIO_ENCODING, "needs acodec set to an encoder: a copied stream keeps its own settings.")
        return AudioSettings()
    sample_rate = p.int("ar", 8000, 96000)
    if sample_rate is not None:
        rates = CODEC_SAMPLE_RATES.get(codec, SAMPLE_RATES)
        if sample_rate not in rates:
            raise _invalid(p, "ar", f"must be one of {', '.join(map(str, rates))} for acodec_{codec}, "
                           f"not {sample_rate}.")
    channels = p.int("ac", 1, 8)
    if channels is not None and channels > CODEC_MAX_CHANNELS.get(codec, 8):
        raise _invalid(p, "ac", f"must be at most {CODEC_MAX_CHANNELS[codec]} for acodec_{codec}.")
    bitrate = p.int("ab", 1000, 10_000_000)
    quality = p.int("aq", 0, 100)
    if bitrate is not None and quality is not None:
        raise _invalid(p, "aq", "cannot be set together with ab.")
    depth = p.int("adepth", 16, 24)
    if depth is not None and (depth not in (16, 24) or codec != "flac"):
        raise _invalid(p, "adepth", "must be 16 or 24, with acodec_flac only.")
    _option(p, "acopt")  # checked, not honoured: the channels are always as asked (README)
    return AudioSettings(
        codec=codec, bitrate=bitrate, bitrate_option=_option(p, "abopt"), quality=quality,
        sample_rate=sample_rate, sample_rate_option=_option(p, "aropt"), channels=channels,
        bits_per_sample=depth)


def parse_conversion(family: str, text: str) -> Conversion:
    """`family` is "video" or "audio"; `text` the action and its parameters ("convert,f_mp4,...")."""
    p = _split_action(text)
    conversion = conversion_parameters(p, family)
    p.done()
    return conversion


def conversion_parameters(p: _Params, family: str) -> Conversion:
    """The output parameters of a convert (or concat) action, taken from `p`; what is left in
    `p` is for the caller."""
    operation = f"{family}/{p.action}"
    containers = AUDIO_CONTAINERS if family == "audio" else VIDEO_CONTAINERS + AUDIO_CONTAINERS
    container = _choice(p, "f", containers, "")
    if not container:
        raise missing_argument(f"{operation} needs the parameter 'f' ({', '.join(containers)}).")
    start = p.int("ss", 0, MAX_MS, 0) or 0
    duration = p.int("t", 0, MAX_MS, 0) or 0
    audio_only = container in AUDIO_CONTAINERS
    if family == "video":
        no_video = _flag(p, "vn")
        no_audio = _flag(p, "an")
        if container in VIDEO_ONLY_CONTAINERS and not no_audio:
            raise _invalid(p, "an", f"must be 1 with f_{container}: the emulator writes {container} files "
                           f"without audio (the muxer takes only PCM audio).")
        _flag(p, "sn")  # subtitles are never carried over (see README)
        if audio_only and no_audio:
            raise _invalid(p, "an", f"cannot be 1 with the audio container f_{container}.")
        if no_video and no_audio:
            raise _invalid(p, "an", "cannot be 1 together with vn_1: the output would be empty.")
        if audio_only or no_video:
            _refuse(p, ("vcodec", *VIDEO_ENCODING), "has no effect on an output without video.")
        video = None if audio_only or no_video else _video(p, container)
    else:
        no_audio = False
        video = None
    if no_audio:
        _refuse(p, ("acodec", *AUDIO_ENCODING), "has no effect on an output without audio.")
    audio = None if no_audio else _audio(p, container)
    return Conversion(operation, OutputSpec(container, video, audio, field=operation),
                      Clip(0, start / 1000, duration / 1000))
