"""CreateMediaConvertTask transcoding targets (Targets[] with URI + Container, TargetGroups[])
validated into plain data (emulator.media.transcode's settings) before a task exists. Every
refusal is InvalidArgument naming the exact field, e.g. Targets[0].Video.TranscodeVideo.CRF.
No HTTP, no state."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from typing import Any

from emulator.media.plan import SCALE_TYPES
from emulator.media.transcode import (
    AUDIO_CONTAINERS,
    CODEC_MAX_CHANNELS,
    CODEC_SAMPLE_RATES,
    REFER_POSITIONS,
    VIDEO_CONTAINERS,
    AudioSettings,
    Delogo,
    OutputSpec,
    Segment,
    VideoSettings,
    Watermark,
    stored_codec_error,
)
from emulator.services.imm.errors import invalid, missing

VIDEO_CODECS = ("copy", "h264", "h265", "vp9")
AUDIO_CODECS = ("copy", "mp3", "vorbis", "aac", "flac", "ac3", "opus", "amr")
OPTIONS = ("fixed", "adaptive", "fall")
PIXEL_FORMATS = ("yuv420p", "yuv422p", "yuv444p", "yuv420p10le", "yuv422p10le", "yuv444p10le", "yuva420p")
# IMM's list says 12025 (sic); 11025, the rate it surely means, is taken too.
SAMPLE_RATES = (8000, 11025, 12025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 64000, 88200, 96000)
SEGMENT_CONTAINERS = {"hls": ("ts", "mp4"), "dash": ("mp4",)}
SUBTITLE_FORMATS = ("ass", "srt", "webvtt", "vtt")
FONT_NAMES = ("SourceHanSans-Regular", "SourceHanSans-Bold", "SourceHanSerif-Regular", "SourceHanSerif-Bold")
# What a VP9 stream can be muxed into.
VP9_CONTAINERS = ("mp4", "mkv")
MAX_SEGMENT_SECONDS = 3600
_RESOLUTION = re.compile(r"^(\d+)?x(\d+)?$")
_COLOR = re.compile(r"^(#[0-9A-Fa-f]{6}|[A-Za-z]+)$")
_OSS_URI = re.compile(r"^oss://[a-z0-9][a-z0-9-]{1,61}[a-z0-9]/.+$")
# Extensions a URI may end in and still be a prefix (no extension): none; anything after a dot
# in the last path segment is an extension.
_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,8}$")


@dataclass(frozen=True)
class SubtitleExtract:
    format: str  # ass | srt | vtt
    uri: str  # prefix: outputs are <URI>_<index>.<ext>


@dataclass(frozen=True)
class TranscodeTarget:
    field: str  # "Targets[0]", "TargetGroups[0].Targets[1]"
    uri: str  # template, with or without extension ("" for a subtitle extraction only)
    spec: OutputSpec | None  # None: subtitle extraction only
    subtitle: SubtitleExtract | None = None
    group: int | None = None  # index into TargetGroups


@dataclass(frozen=True)
class TargetGroup:
    field: str
    uri: str  # the master playlist
    targets: tuple[TranscodeTarget, ...]


def has_extension(uri: str) -> bool:
    return bool(_EXTENSION.search(uri.rsplit("/", 1)[-1]))


# ---- readers that name the field ---------------------------------------------------------------


def json_object(value: Any, name: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise invalid(name, "must be a JSON object.")
    return value


def _bool(item: dict[str, Any], key: str, name: str) -> bool:
    value = item.get(key)
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise invalid(f"{name}.{key}", "must be true or false.")


def number_field(item: dict[str, Any], key: str, name: str, low: float | None = None,
                 high: float | None = None, low_open: bool = False, integer: bool = False) -> float | None:
    value = item.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value \
            or value in (float("inf"), float("-inf")):
        raise invalid(f"{name}.{key}", "must be a number.")
    if integer and value != int(value):
        raise invalid(f"{name}.{key}", "must be an integer.")
    too_low = low is not None and (value < low or low_open and value == low)
    if too_low or (high is not None and value > high):
        bound = f"({low:g}" if low_open else f"[{low:g}" if low is not None else "(-inf"
        raise invalid(f"{name}.{key}", f"is out of range {bound}, {high:g}]." if high is not None
                      else f"is out of range {bound}, inf).")
    return value


def whole_field(item: dict[str, Any], key: str, name: str, low: int, high: int) -> int | None:
    value = number_field(item, key, name, low, high, integer=True)
    return None if value is None else int(value)


def _choice(item: dict[str, Any], key: str, name: str, choices: tuple[str, ...], default: str) -> str:
    value = item.get(key)
    if value is None or value == "":
        return default
    if value not in choices:
        raise invalid(f"{name}.{key}", f"must be one of {', '.join(choices)}.")
    return value


def _streams(item: dict[str, Any], name: str) -> None:
    value = item.get("Stream")
    if value is None:
        return
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise invalid(f"{name}.Stream", "must be a JSON array of integers.")


def oss_uri_field(value: Any, name: str) -> str:
    if not isinstance(value, str) or not _OSS_URI.match(value.replace("{", "").replace("}", "")):
        raise invalid(name, "must be an OSS URI of the form oss://${Bucket}/${Object}.")
    return value


def _length(item: dict[str, Any], key: str, name: str, allow_zero: bool = False) -> float | None:
    """Pixels (a whole number in [1,4096]) or a ratio of the output in (0,1)."""
    value = number_field(item, key, name, low=0)
    if value is None or value == 0 and allow_zero:
        return None if value is None else 0.0
    if 0 < value < 1:
        return float(value)
    if value != int(value) or not 1 <= value <= 4096:
        raise invalid(f"{name}.{key}", "must be a ratio in (0,1) or a whole number of pixels in [1,4096].")
    return float(value)


# ---- video ------------------------------------------------------------------------------------


def _resolution(value: Any, name: str) -> tuple[int | None, int | None] | None:
    if value is None or value == "":
        return None
    match = _RESOLUTION.match(value) if isinstance(value, str) else None
    if not match or not (match.group(1) or match.group(2)):
        raise invalid(name, "must be WxH, Wx or xH.")
    sides = tuple(int(g) if g else None for g in match.groups())
    if any(s is not None and not 0 < s <= 4096 for s in sides):
        raise invalid(name, "has a side outside (0, 4096].")
    return sides  # type: ignore[return-value]


def _placement(item: dict[str, Any], name: str) -> dict[str, Any]:
    return {"x": _length(item, "Dx", name, allow_zero=True) or 0.0,
            "y": _length(item, "Dy", name, allow_zero=True) or 0.0,
            "refer": _choice(item, "ReferPos", name, REFER_POSITIONS, "topleft"),
            "start": number_field(item, "StartTime", name, low=0) or 0.0,
            "duration": number_field(item, "Duration", name, low=0, low_open=True)}


def _watermark(item: Any, name: str) -> Watermark:
    item = json_object(item, name)
    kind = _choice(item, "Type", name, ("text", "file"), "text")
    if kind == "text":
        content = item.get("Content")
        if not isinstance(content, str) or not content:
            raise missing(f"{name}.Content")
    else:
        if not item.get("URI"):
            raise missing(f"{name}.URI")
        content = oss_uri_field(item["URI"], f"{name}.URI")
    for key in ("FontColor", "BorderColor"):
        value = item.get(key)
        if value is not None and (not isinstance(value, str) or not _COLOR.match(value)):
            raise invalid(f"{name}.{key}", "must be #RRGGBB or a colour name.")
    _choice(item, "FontName", name, FONT_NAMES, FONT_NAMES[0])
    return Watermark(kind=kind, content=content, width=_length(item, "Width", name),
                     height=_length(item, "Height", name), **_placement(item, name),
                     font_size=whole_field(item, "FontSize", name, 5, 119) or 16,
                     font_color=item.get("FontColor") or "#000000",
                     border_color=item.get("BorderColor") or "#000000",
                     border_width=whole_field(item, "BorderWidth", name, 0, 4096) or 0,
                     alpha=number_field(item, "FontApha", name, 0, 1, low_open=True) or 1.0)


def _delogo(item: Any, name: str) -> Delogo:
    item = json_object(item, name)
    width = number_field(item, "Width", name, low=0, low_open=True)
    height = number_field(item, "Height", name, low=0, low_open=True)
    for key, value in (("Width", width), ("Height", height)):
        if value is not None and value > 1 and (value != int(value) or value > 4096):
            raise invalid(f"{name}.{key}", "must be a ratio in (0,1] or a whole number of pixels in "
                          "[1,4096].")
    # 1.0 (the default) is the decimal "whole frame", not one pixel.
    place = _placement(item, name)
    return Delogo(width=0.9999 if width in (None, 1.0) else width,
                  height=0.9999 if height in (None, 1.0) else height, **place)


def transcode_video_settings(item: dict[str, Any], name: str, container: str) -> VideoSettings:
    codec = _choice(item, "Codec", name, VIDEO_CODECS, "copy")
    bitrate = whole_field(item, "Bitrate", name, 1, 10**9)
    crf = number_field(item, "CRF", name, 0, 51)
    if bitrate is not None and crf is not None:
        raise invalid(f"{name}.CRF", "cannot be set together with Bitrate.")
    max_bitrate = whole_field(item, "MaxBitrate", name, 1, 10**9)
    buffer_size = whole_field(item, "BufferSize", name, 1, 10**10)
    if max_bitrate is not None and buffer_size is None:
        raise missing(f"{name}.BufferSize")
    pixel_format = item.get("PixelFormat") or None
    if pixel_format is not None and pixel_format not in PIXEL_FORMATS:
        raise invalid(f"{name}.PixelFormat", f"must be one of {', '.join(PIXEL_FORMATS)}.")
    if pixel_format == "yuva420p" and codec != "vp9":
        raise invalid(f"{name}.PixelFormat", "yuva420p needs Codec vp9.")
    rotation = whole_field(item, "Rotation", name, 0, 270) or 0
    if rotation not in (0, 90, 180, 270):
        raise invalid(f"{name}.Rotation", "must be 0, 90, 180 or 270.")
    slim = whole_field(item, "VideoSlim", name, 0, 1) or 0
    if slim and (codec not in ("h264", "h265") or pixel_format not in (None, "yuv420p")):
        raise invalid(f"{name}.VideoSlim", "needs Codec h264 or h265 and an 8-bit yuv420p PixelFormat.")
    if codec == "vp9" and container not in VP9_CONTAINERS:
        raise invalid(f"{name}.Codec", f"vp9 cannot be stored in Container {container} "
                      f"(only {', '.join(VP9_CONTAINERS)}).")
    return VideoSettings(
        codec=codec, bitrate=bitrate, bitrate_option=_choice(item, "BitrateOption", name, OPTIONS, "fixed"),
        crf=crf, max_bitrate=max_bitrate, buffer_size=buffer_size,
        resolution=_resolution(item.get("Resolution"), f"{name}.Resolution"),
        resolution_option=_choice(item, "ResolutionOption", name, OPTIONS, "fixed"),
        long_short=_bool(item, "AdaptiveResolutionDirection", name),
        scale_type=_choice(item, "ScaleType", name, SCALE_TYPES, "stretch"),
        frame_rate=number_field(item, "FrameRate", name, 0, 240, low_open=True),
        frame_rate_option=_choice(item, "FrameRateOption", name, OPTIONS, "fixed"),
        pixel_format=pixel_format, rotation=rotation,
        bframes=whole_field(item, "BFrames", name, 0, 16) if item.get("BFrames") is not None else 3,
        refs=whole_field(item, "Refs", name, 1, 16) or 2,
        gop=whole_field(item, "GOPSize", name, 1, 100000) or 150)


def _video(value: Any, name: str, container: str) -> VideoSettings | None:
    """None: no video in the output. An absent Video (or one without TranscodeVideo) copies the
    first video stream; an empty TranscodeVideo means no video, as documented."""
    video = json_object(value, name)
    _streams(video, name)
    if _bool(video, "DisableVideo", name) or container in AUDIO_CONTAINERS:
        return None
    if "TranscodeVideo" not in video or video["TranscodeVideo"] is None:
        return VideoSettings()
    transcode = json_object(video["TranscodeVideo"], f"{name}.TranscodeVideo")
    if not transcode:
        return None
    settings = transcode_video_settings(transcode, f"{name}.TranscodeVideo", container)
    filters = json_object(video.get("FilterVideo"), f"{name}.FilterVideo")
    if not filters or settings.codec == "copy":  # FilterVideo only applies when re-encoding
        return settings
    fname = f"{name}.FilterVideo"
    if filters.get("Desensitization"):
        raise invalid(f"{fname}.Desensitization", "(face / licence plate blurring) is not supported by "
                      "the emulator.")
    lists = {}
    for key in ("Watermarks", "Delogos"):
        items = filters.get(key) or []
        if not isinstance(items, list):
            raise invalid(f"{fname}.{key}", "must be a JSON array.")
        lists[key] = items
    return VideoSettings(**{
        **settings.__dict__, "speed": number_field(filters, "Speed", fname, 0.5, 1.0) or 1.0,
        "watermarks": tuple(_watermark(w, f"{fname}.Watermarks[{i}]")
                            for i, w in enumerate(lists["Watermarks"])),
        "delogos": tuple(_delogo(d, f"{fname}.Delogos[{i}]") for i, d in enumerate(lists["Delogos"]))})


# ---- audio ------------------------------------------------------------------------------------


def transcode_audio_settings(item: dict[str, Any], name: str) -> AudioSettings:
    codec = _choice(item, "Codec", name, AUDIO_CODECS, "copy")
    bitrate = whole_field(item, "Bitrate", name, 1000, 10_000_000)
    quality = whole_field(item, "Quality", name, 0, 100)
    if bitrate is not None and quality is not None:
        raise invalid(f"{name}.Quality", "cannot be set together with Bitrate.")
    sample_rate = whole_field(item, "SampleRate", name, 8000, 96000)
    if sample_rate is not None:
        if sample_rate not in SAMPLE_RATES:
            raise invalid(f"{name}.SampleRate", f"must be one of {', '.join(map(str, SAMPLE_RATES))}.")
        allowed = CODEC_SAMPLE_RATES.get(codec)
        if allowed and sample_rate not in allowed:
            raise invalid(f"{name}.SampleRate", f"must be one of {', '.join(map(str, allowed))} for "
                          f"Codec {codec}.")
    channels = whole_field(item, "Channel", name, 1, 8)
    if channels is not None and codec in CODEC_MAX_CHANNELS and channels > CODEC_MAX_CHANNELS[codec]:
        raise invalid(f"{name}.Channel", f"must be at most {CODEC_MAX_CHANNELS[codec]} for Codec {codec}.")
    bits = whole_field(item, "BitsPerSample", name, 16, 24)
    if bits is not None and (bits not in (16, 24) or codec != "flac"):
        raise invalid(f"{name}.BitsPerSample", "must be 16 or 24, with Codec flac only.")
    return AudioSettings(
        codec=codec, bitrate=bitrate, bitrate_option=_choice(item, "BitrateOption", name, OPTIONS, "fixed"),
        quality=quality, sample_rate=sample_rate,
        sample_rate_option=_choice(item, "SampleRateOption", name, OPTIONS, "fixed"),
        channels=channels, bits_per_sample=bits)


def _audio(value: Any, name: str) -> AudioSettings | None:
    audio = json_object(value, name)
    _streams(audio, name)
    if _bool(audio, "DisableAudio", name):
        return None
    filters = json_object(audio.get("FilterAudio"), f"{name}.FilterAudio")
    mixing = _bool(filters, "Mixing", f"{name}.FilterAudio")
    if "TranscodeAudio" not in audio or audio["TranscodeAudio"] is None:
        return AudioSettings()
    transcode = json_object(audio["TranscodeAudio"], f"{name}.TranscodeAudio")
    if not transcode:
        return None
    settings = transcode_audio_settings(transcode, f"{name}.TranscodeAudio")
    return AudioSettings(**{**settings.__dict__, "mixing": mixing and settings.codec != "copy"})


# ---- one target -------------------------------------------------------------------------------


def _segment(value: Any, name: str, container: str, group: bool) -> Segment | None:
    if value is None or value == {} and not group:
        return Segment("hls") if group else None
    segment = json_object(value, name)
    fmt = segment.get("Format")
    if not fmt:
        raise missing(f"{name}.Format")
    formats = ("hls",) if group else ("hls", "dash")
    if fmt not in formats:
        raise invalid(f"{name}.Format", f"must be {' or '.join(formats)}.")
    if container not in SEGMENT_CONTAINERS[fmt]:
        raise invalid(f"{name}.Format", f"{fmt} needs Container {' or '.join(SEGMENT_CONTAINERS[fmt])}, "
                      f"not {container}.")
    start_number = whole_field(segment, "StartNumber", name, 0, 2**31 - 1) or 0
    if start_number and fmt != "hls":
        raise invalid(f"{name}.StartNumber", "applies to hls only.")
    duration = number_field(segment, "Duration", name, 0, MAX_SEGMENT_SECONDS, low_open=True)
    return Segment(fmt, duration or 10.0, start_number)


def _subtitle(value: Any, name: str, group: bool) -> SubtitleExtract | None:
    subtitle = json_object(value, name)
    _streams(subtitle, name)
    _bool(subtitle, "DisableSubtitle", name)
    extract = subtitle.get("ExtractSubtitle")
    if not extract:
        return None
    extract = json_object(extract, f"{name}.ExtractSubtitle")
    formats = ("vtt",) if group else SUBTITLE_FORMATS
    fmt = extract.get("Format")
    if not fmt:
        raise missing(f"{name}.ExtractSubtitle.Format")
    if fmt not in formats:
        raise invalid(f"{name}.ExtractSubtitle.Format", f"must be one of {', '.join(formats)}.")
    if not extract.get("URI"):
        raise missing(f"{name}.ExtractSubtitle.URI")
    return SubtitleExtract("vtt" if fmt == "webvtt" else fmt, oss_uri_field(extract["URI"],
                                                                       f"{name}.ExtractSubtitle.URI"))


def is_transcode_target(target: dict[str, Any]) -> bool:
    return bool(target.get("URI") or target.get("Container"))


def parse_transcode_target(target: dict[str, Any], name: str, group: int | None = None) -> TranscodeTarget:
    uri, container = target.get("URI"), target.get("Container")
    if not uri and not container and group is None:  # subtitle extraction only
        subtitle = _subtitle(target.get("Subtitle"), f"{name}.Subtitle", False)
        if subtitle is None:
            raise missing(f"{name}.Subtitle.ExtractSubtitle")
        return TranscodeTarget(name, "", None, subtitle)
    if not container:
        raise invalid(f"{name}.Container", "must be set together with URI.")
    if not uri:
        raise invalid(f"{name}.URI", "must be set together with Container.")
    containers = ("mp4", "ts") if group is not None else VIDEO_CONTAINERS + AUDIO_CONTAINERS
    if container not in containers:
        raise invalid(f"{name}.Container", f"must be one of {', '.join(containers)}.")
    oss_uri_field(uri, f"{name}.URI")
    speed = number_field(target, "Speed", name, 0.5, 1.0) or 1.0
    video = _video(target.get("Video"), f"{name}.Video", container)
    audio = _audio(target.get("Audio"), f"{name}.Audio")
    if video is None and audio is None:
        raise invalid(name, "keeps neither video nor audio (Video and Audio are both disabled).")
    for kind, settings in (("Video", video), ("Audio", audio)):
        if settings is None or settings.codec == "copy":
            continue  # a copied stream is judged against the source, in the plan
        reason = stored_codec_error(container, settings.codec, kind.lower())
        if reason:
            raise invalid(f"{name}.{kind}.Transcode{kind}.Codec", f"is invalid: {reason}")
    copied = [kind for kind, s in (("Video", video), ("Audio", audio)) if s is not None and s.codec == "copy"]
    if speed != 1 and copied:
        which = copied[0]
        raise invalid(f"{name}.Speed", f"needs {which} to be transcoded (a Codec other than copy).")
    for key in ("AttachedPicture", "Data"):
        _streams(json_object(target.get(key), f"{name}.{key}"), f"{name}.{key}")
    spec = OutputSpec(container=container, video=video, audio=audio, speed=speed,
                      strip_metadata=_bool(target, "StripMetadata", name),
                      segment=_segment(target.get("Segment"), f"{name}.Segment", container,
                                       group is not None),
                      field=name)
    return TranscodeTarget(name, uri, spec, _subtitle(target.get("Subtitle"), f"{name}.Subtitle",
                                                     group is not None), group)


def parse_target_groups(value: Any) -> list[TargetGroup]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise invalid("TargetGroups", "must be a JSON array.")
    groups = []
    for g, item in enumerate(value):
        name = f"TargetGroups[{g}]"
        item = json_object(item, name)
        if not item.get("URI"):
            raise missing(f"{name}.URI")
        uri = oss_uri_field(item["URI"], f"{name}.URI")
        targets = item.get("Targets")
        if not targets:
            raise missing(f"{name}.Targets")
        if not isinstance(targets, list):
            raise invalid(f"{name}.Targets", "must be a JSON array.")
        home = posixpath.dirname(uri) + "/"
        parsed = []
        for t, target in enumerate(targets):
            tname = f"{name}.Targets[{t}]"
            parsed_target = parse_transcode_target(json_object(target, tname), tname, group=g)
            if not parsed_target.uri.startswith(home):
                raise invalid(f"{tname}.URI", f"must be in the directory of {name}.URI ({home}) or below it.")
            if parsed_target.subtitle and not parsed_target.subtitle.uri.startswith(home):
                raise invalid(f"{tname}.Subtitle.ExtractSubtitle.URI",
                              f"must be in the directory of {name}.URI ({home}) or below it.")
            parsed.append(parsed_target)
        groups.append(TargetGroup(name, uri, tuple(parsed)))
    return groups


def check_concatenation(targets: list[TranscodeTarget], raw: dict[str, Any]) -> None:
    """Several Sources are joined by re-encoding: a copied stream or VideoSlim cannot be used."""
    for target in targets:
        spec = target.spec
        if spec is None:
            continue
        where = raw.get(target.field) or {}
        if spec.video is not None and spec.video.codec == "copy":
            has_codec = isinstance(where.get("Video"), dict) and where["Video"].get("TranscodeVideo")
            field = f"{target.field}.Video.TranscodeVideo.Codec" if has_codec else f"{target.field}.Video"
            raise invalid(field, "copy cannot be used when concatenating Sources: set a video Codec.")
        if spec.audio is not None and spec.audio.codec == "copy":
            has_codec = isinstance(where.get("Audio"), dict) and where["Audio"].get("TranscodeAudio")
            field = f"{target.field}.Audio.TranscodeAudio.Codec" if has_codec else f"{target.field}.Audio"
            raise invalid(field, "copy cannot be used when concatenating Sources: set an audio Codec.")
        slim = (((where.get("Video") or {}).get("TranscodeVideo") or {}).get("VideoSlim")
                if isinstance(where.get("Video"), dict) else None)
        if slim:
            raise invalid(f"{target.field}.Video.TranscodeVideo.VideoSlim", "cannot be used when "
                          "concatenating several Sources.")
