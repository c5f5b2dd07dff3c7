"""Media metadata read with PyAV (libavformat, as ffprobe does): IMM's DetectMediaMeta document
and the summary a transcoding plan needs. Opening a file reads its headers only; nothing is
decoded except, for a video, the first frame (its display rotation)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

from emulator.media.ffmpeg import MediaError
from emulator.media.transcode import SourceMedia

# Containers (demuxer names) that are audio or video; anything else libavformat opens (images,
# text as "tty" art) is not media for IMM.
MEDIA_DEMUXERS = {"mov", "mp4", "m4a", "matroska", "webm", "mpegts", "avi", "flv", "hls", "asf", "rm", "mpeg",
                  "h264", "hevc", "m4v", "mp3", "aac", "flac", "ogg", "ac3", "eac3", "wav", "amr", "mxf",
                  "dash", "opus", "3gp", "caf", "aiff", "w64", "dv"}
# libavutil enum values to ffprobe's names; values missing here ("unspecified") are left out.
COLOR_RANGES = {1: "tv", 2: "pc"}
COLOR_PRIMARIES = {1: "bt709", 4: "bt470m", 5: "bt470bg", 6: "smpte170m", 7: "smpte240m", 8: "film",
                   9: "bt2020", 10: "smpte428", 11: "smpte431", 12: "smpte432"}
COLOR_TRANSFERS = {1: "bt709", 4: "gamma22", 5: "gamma28", 6: "smpte170m", 7: "smpte240m", 8: "linear",
                   13: "iec61966-2-1", 14: "bt2020-10", 15: "bt2020-12", 16: "smpte2084", 18: "arib-std-b67"}
COLOR_SPACES = {0: "gbr", 1: "bt709", 4: "fcc", 5: "bt470bg", 6: "smpte170m", 7: "smpte240m", 8: "ycgco",
                9: "bt2020nc", 10: "bt2020c"}
_TAGS = {"title": "Title", "artist": "Artist", "album_artist": "AlbumArtist", "album": "Album",
         "composer": "Composer", "performer": "Performer", "language": "Language"}


def _open(path: Path):
    import av  # loaded when first needed, not at server start

    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise MediaError(f"not a media file ({exc.__class__.__name__})") from None
    names = set(container.format.name.split(","))
    if not names & MEDIA_DEMUXERS or not (container.streams.video or container.streams.audio):
        container.close()
        raise MediaError(f"the {container.format.name} format is not audio or video")
    if not (_readable(container.streams.video) or _readable(container.streams.audio)):
        container.close()
        raise MediaError("no audio or video stream can be read (a cut or damaged file?)")
    return container


def _readable(streams) -> list:
    """The streams with codec parameters: a damaged file (an MP4 cut before its index, say) can
    name streams whose codec is unknown."""
    return [s for s in streams if s.codec_context is not None]


def _rational(value: Fraction | None) -> str | None:
    return None if value is None else f"{value.numerator}/{value.denominator}"


def _seconds(value: int | None, time_base: Fraction | None) -> float | None:
    if value is None or time_base is None:
        return None
    return round(float(value * time_base), 6)


def _rotation(container, stream) -> int:
    """Clockwise display rotation in degrees (0, 90, 180, 270) from the first frame's matrix."""
    try:
        frame = next(container.decode(stream))
    except Exception:  # undecodable video: no rotation to report
        return 0
    return round(-(getattr(frame, "rotation", 0) or 0)) % 360


def _codec_tag(tag: str | None) -> dict[str, str]:
    if not tag or not tag.strip("\x00"):
        return {}
    raw = tag.encode("latin-1", "replace")[:4].ljust(4, b"\x00")
    return {"CodecTag": "0x" + raw[::-1].hex(), "CodecTagString": tag}


def _common(stream, duration_default: float | None) -> dict[str, Any]:
    ctx = stream.codec_context
    doc: dict[str, Any] = {"Index": stream.index, "CodecName": ctx.codec.canonical_name,
                           "CodecLongName": ctx.codec.long_name, **_codec_tag(stream.codec_tag),
                           "TimeBase": _rational(stream.time_base),
                           "StartTime": _seconds(stream.start_time, stream.time_base),
                           "Duration": _seconds(stream.duration, stream.time_base) or duration_default,
                           "Bitrate": stream.bit_rate or None, "FrameCount": stream.frames or None}
    language = (stream.metadata or {}).get("language")
    if language and language != "und":
        doc["Language"] = language
    return doc


def _video_stream(container, stream, duration: float | None) -> dict[str, Any]:
    ctx = stream.codec_context
    doc = _common(stream, duration)
    rotation = _rotation(container, stream)
    doc.update({
        "Profile": stream.profile, "Level": ctx.level if ctx.level and ctx.level > 0 else None,
        "Width": ctx.width, "Height": ctx.height, "HasBFrames": int(ctx.reorder_depth or 0),
        "SampleAspectRatio": _rational(ctx.sample_aspect_ratio) if ctx.sample_aspect_ratio else "1:1",
        "DisplayAspectRatio": _rational(ctx.display_aspect_ratio) if ctx.display_aspect_ratio else None,
        "PixelFormat": ctx.pix_fmt, "BitDepth": _bit_depth(ctx.pix_fmt),
        "ColorRange": COLOR_RANGES.get(ctx.color_range), "ColorSpace": COLOR_SPACES.get(ctx.colorspace),
        "ColorTransfer": COLOR_TRANSFERS.get(ctx.color_trc),
        "ColorPrimaries": COLOR_PRIMARIES.get(ctx.color_primaries),
        "FrameRate": _rational(stream.base_rate), "AverageFrameRate": _rational(stream.average_rate),
        "Rotate": str(rotation) if rotation else None})
    if doc["SampleAspectRatio"] and "/" in doc["SampleAspectRatio"]:
        doc["SampleAspectRatio"] = doc["SampleAspectRatio"].replace("/", ":")
    if doc["DisplayAspectRatio"]:
        doc["DisplayAspectRatio"] = doc["DisplayAspectRatio"].replace("/", ":")
    elif ctx.width and ctx.height:
        ratio = Fraction(ctx.width, ctx.height)
        doc["DisplayAspectRatio"] = f"{ratio.numerator}:{ratio.denominator}"
    return doc


def _bit_depth(pix_fmt: str | None) -> int | None:
    if not pix_fmt:
        return None
    for depth in (16, 14, 12, 10, 9):
        if f"p{depth}" in pix_fmt:
            return depth
    return 8


def _audio_stream(stream, duration: float | None) -> dict[str, Any]:
    ctx = stream.codec_context
    doc = _common(stream, duration)
    doc.update({"SampleFormat": ctx.format.name if ctx.format else None, "SampleRate": ctx.sample_rate,
                "Channels": ctx.channels, "ChannelLayout": ctx.layout.name if ctx.layout else None})
    return doc


def _subtitle_stream(stream, duration: float | None) -> dict[str, Any]:
    doc = _common(stream, duration)
    ctx = stream.codec_context
    if getattr(ctx, "width", 0):
        doc.update({"Width": ctx.width, "Height": ctx.height})
    return doc


def _clean(doc: dict[str, Any]) -> dict[str, Any]:
    """Unknown values are left out rather than sent empty."""
    return {k: v for k, v in doc.items() if v is not None and v != ""}


def _lat_long(location: str | None) -> str | None:
    """ISO 6709 (`+35.8000-045.9100/`) to IMM's `lat,long`."""
    if not location:
        return None
    import re

    match = re.match(r"^([+-]\d+(?:\.\d+)?)([+-]\d+(?:\.\d+)?)", location)
    if not match:
        return None
    return f"{float(match.group(1)):g},{float(match.group(2)):g}"


def media_meta(path: Path, size: int) -> dict[str, Any]:
    """The DetectMediaMeta response body (without RequestId); MediaError for non-media."""
    container = _open(path)
    try:
        duration = container.duration / 1_000_000 if container.duration else None
        tags = dict(container.metadata or {})
        doc: dict[str, Any] = {
            "FormatName": container.format.name, "FormatLongName": container.format.long_name,
            "Size": size, "Bitrate": container.bit_rate or None,
            "StartTime": container.start_time / 1_000_000 if container.start_time is not None else None,
            "Duration": duration, "StreamCount": len(container.streams),
            "ProgramCount": 0, "ProduceTime": tags.get("creation_time"),
            "LatLong": _lat_long(tags.get("location") or tags.get("location-eng"))}
        doc.update({key: tags[tag] for tag, key in _TAGS.items() if tags.get(tag)})
        videos = [_clean(_video_stream(container, s, duration)) for s in _readable(container.streams.video)]
        audios = [_clean(_audio_stream(s, duration)) for s in _readable(container.streams.audio)]
        subtitles = [_clean(_subtitle_stream(s, duration)) for s in container.streams.subtitles]
        if videos:
            first = next(v for v in videos)
            doc.update({"VideoWidth": first.get("Width"), "VideoHeight": first.get("Height")})
        doc.update({"VideoStreams": videos, "AudioStreams": audios, "Subtitles": subtitles})
        return _clean(doc)
    finally:
        container.close()


def source_media(path: Path) -> SourceMedia:
    """What a transcoding plan needs to know about a source; MediaError for non-media."""
    container = _open(path)
    try:
        duration = container.duration / 1_000_000 if container.duration else 0.0
        fields: dict[str, Any] = {"duration": duration}
        video, audio = _readable(container.streams.video), _readable(container.streams.audio)
        if video:
            stream = video[0]
            ctx = stream.codec_context
            rotation = _rotation(container, stream)
            width, height = (ctx.height, ctx.width) if rotation in (90, 270) else (ctx.width, ctx.height)
            rate = stream.average_rate or stream.base_rate
            own = _seconds(stream.duration, stream.time_base)
            fields.update(width=width, height=height, fps=float(rate) if rate else 0.0,
                          video_codec=ctx.codec.canonical_name, video_bitrate=stream.bit_rate or None,
                          pixel_format=ctx.pix_fmt, duration=own or duration)
        if audio:
            stream = audio[0]
            ctx = stream.codec_context
            fields.update(audio_codec=ctx.codec.canonical_name, audio_bitrate=stream.bit_rate or None,
                          sample_rate=ctx.sample_rate, channels=ctx.channels)
            if not video:
                fields["duration"] = _seconds(stream.duration, stream.time_base) or duration
        fields["subtitles"] = tuple(s.codec_context.name for s in container.streams.subtitles)
        return SourceMedia(**fields)
    finally:
        container.close()
