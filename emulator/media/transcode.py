"""Audio/video transcoding planned as data: from what the target asks (container, codecs, size,
rate, speed, segmenting) and what the sources are (probed), the ffmpeg argument list, the output
geometry and the expected duration. No ffmpeg runs here, so unit tests check plans directly.

Model of one output: the clips (Sources[] windows, in order) are each brought to the output size,
frame rate, sample rate and channel layout, concatenated, slowed by Speed, then filtered
(rotation, delogo, watermarks) and encoded. A single source whose streams are copied is remuxed.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from typing import TypeVar

from emulator.media.plan import output_geometry

T = TypeVar("T", int, float)

VIDEO_CONTAINERS = ("mp4", "mkv", "mov", "asf", "avi", "mxf", "ts", "flv")
AUDIO_CONTAINERS = ("mp3", "aac", "flac", "oga", "ac3", "opus")
# webm and amr: OSS video/convert containers (IMM's Container does not take them).
MUXERS = {"mp4": "mp4", "mkv": "matroska", "mov": "mov", "asf": "asf", "avi": "avi", "mxf": "mxf",
          "ts": "mpegts", "flv": "flv", "webm": "webm", "mp3": "mp3", "aac": "adts", "flac": "flac",
          "oga": "ogg", "ac3": "ac3", "opus": "opus", "amr": "amr"}
VIDEO_ENCODERS = {"h264": "libx264", "h265": "libx265", "vp9": "libvpx-vp9"}
AUDIO_ENCODERS = {"mp3": "libmp3lame", "vorbis": "libvorbis", "aac": "aac", "flac": "flac", "ac3": "ac3",
                  "opus": "libopus", "amr": "libopencore_amrnb"}
# Sample rates and channel counts each audio encoder accepts (IMM documents mp3 <= 48 kHz, opus
# 8/12/16/24/48 kHz, ac3 32/44.1/48 kHz, amr 8 kHz mono; the bundled AMR encoder is narrow-band).
CODEC_SAMPLE_RATES = {"mp3": (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000),
                      "opus": (8000, 12000, 16000, 24000, 48000), "ac3": (32000, 44100, 48000),
                      "amr": (8000,)}
CODEC_MAX_CHANNELS = {"mp3": 2, "ac3": 6, "amr": 1, "vorbis": 8, "opus": 8, "aac": 8, "flac": 8}
CHANNEL_LAYOUTS = {1: "mono", 2: "stereo", 3: "2.1", 4: "quad", 5: "5.0", 6: "5.1", 7: "6.1", 8: "7.1"}
# The IMM codecs the bundled ffmpeg's muxer for each container can store (tests check this
# against ffmpeg). MXF keeps only PCM audio, which IMM does not offer. webm and amr: OSS
# video/convert containers only.
CONTAINER_VIDEO_CODECS = {
    "mp4": ("h264", "h265", "vp9"), "mkv": ("h264", "h265", "vp9"), "mov": ("h264", "h265"),
    "asf": ("h264", "vp9"), "avi": ("h264", "h265", "vp9"), "mxf": ("h264",), "ts": ("h264", "h265", "vp9"),
    "flv": ("h264", "h265", "vp9"), "webm": ("vp9",)}
CONTAINER_AUDIO_CODECS = {
    "mp4": ("mp3", "vorbis", "aac", "flac", "ac3", "opus"),
    "mkv": ("mp3", "vorbis", "aac", "flac", "ac3", "opus", "amr"),
    "mov": ("mp3", "vorbis", "aac", "ac3", "amr"), "asf": ("mp3", "vorbis", "aac", "flac", "ac3", "amr"),
    "avi": ("mp3", "vorbis", "aac", "flac", "ac3", "amr"), "mxf": (),
    "ts": ("mp3", "vorbis", "aac", "flac", "ac3", "opus", "amr"),
    "flv": ("mp3", "aac", "flac", "ac3", "opus"),
    "mp3": ("mp3",), "aac": ("aac",), "flac": ("flac",), "oga": ("vorbis", "flac", "opus"), "ac3": ("ac3",),
    "opus": ("vorbis", "flac", "opus"), "webm": ("vorbis", "opus"), "amr": ("amr",)}
# The Content-Type an output of each container is stored with.
CONTAINER_CONTENT_TYPES = {
    "mp4": "video/mp4", "mkv": "video/x-matroska", "mov": "video/quicktime", "asf": "video/x-ms-asf",
    "avi": "video/x-msvideo", "mxf": "application/mxf", "ts": "video/mp2t", "flv": "video/x-flv",
    "webm": "video/webm", "mp3": "audio/mpeg", "aac": "audio/aac", "flac": "audio/flac", "oga": "audio/ogg",
    "ac3": "audio/ac3", "opus": "audio/ogg", "amr": "audio/amr"}
IMM_CODEC_NAMES = {"hevc": "h265", "amr_nb": "amr"}  # a probed codec's IMM name, where they differ
ROTATIONS = {90: "transpose=clock", 180: "hflip,vflip", 270: "transpose=cclock"}
REFER_POSITIONS = ("topleft", "topright", "bottomright", "bottomleft")


class PlanError(Exception):
    """The sources cannot give what the target asks (e.g. an Option `fall` against a smaller
    source): the task fails with InvalidArgument naming `field`."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


# ---- what a target asks -----------------------------------------------------------------------


@dataclass(frozen=True)
class Delogo:
    x: float  # px (>= 1) or ratio of the output (< 1), from ReferPos
    y: float
    width: float
    height: float
    refer: str = "topleft"
    start: float = 0.0
    duration: float | None = None


@dataclass(frozen=True)
class Watermark:
    """A picture laid over the video: an image file, or text (drawn into a picture before the
    run, so that ffmpeg needs no fonts). The k-th watermark is the k-th extra input."""

    kind: str  # "text" | "file"
    content: str = ""  # the text, or the image's oss:// URI
    x: float = 0.0
    y: float = 0.0
    width: float | None = None
    height: float | None = None
    refer: str = "topleft"
    start: float = 0.0
    duration: float | None = None
    font_size: int = 16
    font_color: str = "#000000"
    border_color: str = "#000000"
    border_width: int = 0
    alpha: float = 1.0


@dataclass(frozen=True)
class VideoSettings:
    codec: str = "copy"  # copy | h264 | h265 | vp9
    bitrate: int | None = None
    bitrate_option: str = "fixed"
    crf: float | None = None
    max_bitrate: int | None = None
    buffer_size: int | None = None
    resolution: tuple[int | None, int | None] | None = None  # (w, h); one side may be None
    resolution_option: str = "fixed"
    long_short: bool = False  # AdaptiveResolutionDirection: resolution is (long, short)
    scale_type: str = "stretch"
    frame_rate: float | None = None
    frame_rate_option: str = "fixed"
    pixel_format: str | None = None
    rotation: int = 0
    bframes: int = 3
    refs: int = 2
    gop: int = 150
    speed: float = 1.0  # FilterVideo.Speed
    delogos: tuple[Delogo, ...] = ()
    watermarks: tuple[Watermark, ...] = ()


@dataclass(frozen=True)
class AudioSettings:
    codec: str = "copy"  # copy | mp3 | vorbis | aac | flac | ac3 | opus | amr
    bitrate: int | None = None
    bitrate_option: str = "fixed"
    quality: int | None = None
    sample_rate: int | None = None
    sample_rate_option: str = "fixed"
    channels: int | None = None
    bits_per_sample: int | None = None
    mixing: bool = False


@dataclass(frozen=True)
class Segment:
    format: str  # hls | dash
    duration: float = 10.0
    start_number: int = 0


@dataclass(frozen=True)
class OutputSpec:
    container: str
    video: VideoSettings | None  # None: no video stream
    audio: AudioSettings | None  # None: no audio stream
    speed: float = 1.0
    strip_metadata: bool = False
    segment: Segment | None = None
    field: str = "Targets[0]"  # where in the request this target is, for error messages


# ---- what the sources are ---------------------------------------------------------------------


@dataclass(frozen=True)
class SourceMedia:
    """One source as probed (display size: rotation already applied)."""

    duration: float
    width: int = 0
    height: int = 0
    fps: float = 0.0
    video_codec: str | None = None
    video_bitrate: int | None = None
    pixel_format: str | None = None
    audio_codec: str | None = None
    audio_bitrate: int | None = None
    sample_rate: int = 0
    channels: int = 0
    subtitles: tuple[str, ...] = ()  # codec of each subtitle stream, in order

    @property
    def has_video(self) -> bool:
        return self.video_codec is not None

    @property
    def has_audio(self) -> bool:
        return self.audio_codec is not None


@dataclass(frozen=True)
class Clip:
    """Sources[i]: its window and which of its tracks count."""

    source: int
    start: float = 0.0
    duration: float = 0.0  # 0: to the end
    video: bool = True
    audio: bool = True


# ---- the plan ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TranscodePlan:
    inputs: tuple[tuple[str, ...], ...]  # per source input: the options before its -i
    extra_inputs: int  # watermark images after the sources (paths given at command time)
    filter_complex: str | None
    maps: tuple[str, ...]
    output_args: tuple[str, ...]  # codecs, rates, muxer options (without the output path)
    muxer: str
    duration: float  # seconds of output
    width: int = 0  # 0: no video
    height: int = 0
    fps: float = 0.0
    video_codec: str | None = None  # "copy" or the IMM codec name; None: no video
    audio_codec: str | None = None
    sample_rate: int = 0
    channels: int = 0
    clip_durations: tuple[float, ...] = field(default=())

    @property
    def expected_frames(self) -> int:
        return round(self.duration * self.fps) if self.fps else 0

    def command(self, ffmpeg: str, sources: list[str], extra: list[str], out: str) -> list[str]:
        args = [ffmpeg, "-y"]
        for options, path in zip(self.inputs, sources, strict=True):
            args += [*options, "-i", path]
        for path in extra:
            args += ["-loop", "1", "-i", path]
        if self.filter_complex:
            args += ["-filter_complex", self.filter_complex]
        for label in self.maps:
            args += ["-map", label]
        return [*args, *self.output_args, out]


def stored_codec_error(container: str, codec: str, kind: str) -> str | None:
    """Why an IMM `codec` (of `kind` video or audio) cannot go into `container`; None when it can."""
    stored = (CONTAINER_VIDEO_CODECS if kind == "video" else CONTAINER_AUDIO_CODECS).get(container)
    if stored is None or codec in stored:
        return None
    return (f"{codec} {kind} cannot be stored in Container {container} "
            + (f"(only {', '.join(stored)})." if stored else f"(it keeps no {kind} IMM can encode)."))


def _copyable(container: str, probed: str | None, kind: str, field_name: str) -> None:
    """A copied stream must fit the container: refused here with its reason, rather than by the
    muxer halfway. Codecs IMM cannot encode (PCM, ProRes...) are left to the muxer."""
    codec = IMM_CODEC_NAMES.get(probed or "", probed or "")
    if codec in (VIDEO_ENCODERS if kind == "video" else AUDIO_ENCODERS):
        reason = stored_codec_error(container, codec, kind)
        if reason:
            raise PlanError(field_name, f"the source's {reason} Transcode it (a Codec other than copy) "
                            f"or choose another Container.")


def _even(value: float) -> int:
    return max(2, int(round(value / 2)) * 2)


def clip_length(clip: Clip, source: SourceMedia) -> float:
    start = min(max(clip.start, 0.0), source.duration)
    rest = source.duration - start
    return min(rest, clip.duration) if clip.duration else rest


def target_size(video: VideoSettings, src_w: int, src_h: int, field_name: str) -> tuple[int, int, str]:
    """The output size and how the source is fitted into it (scale type), with the Resolution
    options applied; sizes are even (4:2:0 chroma needs it)."""
    if src_w <= 0 or src_h <= 0:
        return 0, 0, "stretch"
    if video.rotation in (90, 270):
        src_w, src_h = src_h, src_w
    if video.resolution is None:
        return _even(src_w), _even(src_h), "stretch"
    w, h = video.resolution
    if video.long_short and src_h > src_w:  # (long, short) on a portrait source: swap
        w, h = h, w
    want_w = w or round(src_w * (h or src_h) / src_h)
    want_h = h or round(src_h * (w or src_w) / src_w)
    if want_w * want_h > src_w * src_h:
        if video.resolution_option == "adaptive":
            return _even(src_w), _even(src_h), "stretch"
        if video.resolution_option == "fall":
            raise PlanError(f"{field_name}.Video.TranscodeVideo.Resolution",
                            f"the source resolution {src_w}x{src_h} is lower than the target "
                            f"resolution {want_w}x{want_h}.")
    if w is None or h is None:
        return _even(want_w), _even(want_h), "stretch"
    geometry = output_geometry(src_w, src_h, w, h, video.scale_type)
    return _even(geometry.out_w), _even(geometry.out_h), video.scale_type


def _fit_filter(width: int, height: int, scale_type: str) -> str:
    """Bring any input to exactly width x height (fit: the size was already made to match)."""
    if scale_type == "crop":
        return (f"scale={width}:{height}:force_original_aspect_ratio=increase,"
                f"crop={width}:{height}")
    if scale_type == "fill":
        return (f"scale={width}:{height}:force_original_aspect_ratio=decrease,"
                f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2:black")
    return f"scale={width}:{height}"


def _position(value: float, total: int) -> int:
    return round(value * total) if 0 < value < 1 else int(value)


def _placed(refer: str, x: str, y: str, w: str, h: str, big_w: str, big_h: str) -> tuple[str, str]:
    """Top-left corner of a w x h box offset by (x, y) from the ReferPos corner."""
    px = f"{big_w}-{w}-{x}" if refer in ("topright", "bottomright") else x
    py = f"{big_h}-{h}-{y}" if refer in ("bottomright", "bottomleft") else y
    return px, py


def _enable(start: float, duration: float | None) -> str:
    if start <= 0 and duration is None:
        return ""
    end = "" if duration is None else f"*lt(t,{start + duration:g})"
    return f":enable='gte(t,{start:g}){end}'"


def _delogo_filter(delogo: Delogo, width: int, height: int) -> str:
    w = max(1, min(width - 2, _position(delogo.width, width)))
    h = max(1, min(height - 2, _position(delogo.height, height)))
    x, y = _position(delogo.x, width), _position(delogo.y, height)
    if delogo.refer in ("topright", "bottomright"):
        x = width - w - x
    if delogo.refer in ("bottomright", "bottomleft"):
        y = height - h - y
    x, y = max(1, min(x, width - w - 1)), max(1, min(y, height - h - 1))
    return f"delogo=x={x}:y={y}:w={w}:h={h}{_enable(delogo.start, delogo.duration)}"


def _audio_rate(audio: AudioSettings, source_rate: int, field_name: str) -> int:
    rate = source_rate or 44100
    if audio.sample_rate:
        if source_rate and source_rate < audio.sample_rate and audio.sample_rate_option == "adaptive":
            rate = source_rate
        elif source_rate and source_rate < audio.sample_rate and audio.sample_rate_option == "fall":
            raise PlanError(f"{field_name}.Audio.TranscodeAudio.SampleRate",
                            f"the source sample rate {source_rate} is lower than the target "
                            f"sample rate {audio.sample_rate}.")
        else:
            rate = audio.sample_rate
    allowed = CODEC_SAMPLE_RATES.get(audio.codec)
    if allowed and rate not in allowed:  # the source's own rate does not fit the codec
        rate = min(allowed, key=lambda r: (abs(r - rate), -r))
    return rate


def _audio_channels(audio: AudioSettings, source_channels: int) -> int:
    channels = audio.channels or (1 if audio.mixing else source_channels) or 2
    return min(channels, CODEC_MAX_CHANNELS.get(audio.codec, 8))


def _against_source(target: T | None, source: T | None, option: str | None, field: str,
                    what: str) -> T | None:
    """A target above what the source has: kept, lowered to the source's (`adaptive`) or refused
    (`fall`), as the *Option fields say."""
    if target is None or not source or source >= target:
        return target
    if option == "adaptive":
        return source
    if option == "fall":
        raise PlanError(field, f"the source {what} {source} is lower than the target {what} {target}.")
    return target


def _video_codec_args(video: VideoSettings, bitrate: int | None, fps: float, pix_fmt: str,
                      container: str) -> list[str]:
    codec = video.codec
    args = ["-c:v", VIDEO_ENCODERS[codec]]
    if codec in ("h264", "h265"):
        args += ["-preset", "veryfast"]
    if codec == "vp9":
        args += ["-deadline", "realtime", "-cpu-used", "8", "-row-mt", "1"]
    if bitrate is not None:
        args += ["-b:v", str(bitrate)]
    else:
        crf = 23 if video.crf is None else video.crf
        args += ["-crf", f"{crf:g}"] + (["-b:v", "0"] if codec == "vp9" else [])
        if video.max_bitrate and video.buffer_size:
            args += ["-maxrate", str(video.max_bitrate), "-bufsize", str(video.buffer_size)]
    args += ["-g", str(video.gop), "-pix_fmt", pix_fmt]
    if codec != "vp9":
        args += ["-bf", str(video.bframes), "-refs", str(video.refs)]
    if codec == "h265":
        args += ["-x265-params", "log-level=error"]
        if container in ("mp4", "mov"):
            args += ["-tag:v", "hvc1"]  # what Apple players look for
    if fps:
        args += ["-r", f"{fps:g}"]
    return args


def _audio_codec_args(audio: AudioSettings, bitrate: int | None, rate: int, channels: int) -> list[str]:
    args = ["-c:a", AUDIO_ENCODERS[audio.codec], "-ar", str(rate), "-ac", str(channels)]
    if bitrate is not None:
        args += ["-b:a", str(bitrate)]
    elif audio.quality is not None and audio.codec in ("mp3", "vorbis"):
        # Quality 0-100 (higher is better) onto the encoder's VBR scale.
        scale = round(9 - audio.quality * 9 / 100) if audio.codec == "mp3" else round(audio.quality / 10)
        args += ["-q:a", str(scale)]
    if audio.codec == "flac" and audio.bits_per_sample:
        args += ["-sample_fmt", "s16" if audio.bits_per_sample == 16 else "s32"]
    if audio.codec == "vorbis" and channels > 2:
        args += ["-strict", "experimental"]
    return args


def _muxer_args(spec: OutputSpec, has_video_encode: bool, playlist_stem: str | None) -> list[str]:
    args = ["-map_metadata", "-1", "-map_chapters", "-1"] if spec.strip_metadata else []
    segment = spec.segment
    if segment is None:
        if spec.container in ("mp4", "mov"):
            args += ["-movflags", "+faststart"]
        return [*args, "-f", MUXERS[spec.container]]
    stem = playlist_stem or "out"
    if has_video_encode:  # segments start on keyframes at every Duration
        args += ["-force_key_frames", f"expr:gte(t,n_forced*{segment.duration:g})"]
    if segment.format == "hls":
        args += ["-f", "hls", "-hls_time", f"{segment.duration:g}", "-hls_list_size", "0",
                 "-hls_playlist_type", "vod", "-start_number", str(segment.start_number)]
        if spec.container == "mp4":
            return [*args, "-hls_segment_type", "fmp4", "-hls_fmp4_init_filename",
                    f"{posixpath.basename(stem)}-init.mp4", "-hls_segment_filename", f"{stem}-%d.m4s"]
        return [*args, "-hls_segment_filename", f"{stem}-%d.ts"]
    # DASH names its files relative to the manifest's directory.
    base = posixpath.basename(stem)
    return [*args, "-f", "dash", "-seg_duration", f"{segment.duration:g}", "-use_template", "1",
            "-use_timeline", "0", "-init_seg_name", f"{base}-init-$RepresentationID$.m4s",
            "-media_seg_name", f"{base}-$RepresentationID$-$Number$.m4s"]


# A frame rate change keeps, for each output frame, the source frame being shown at its time
# (round=up: a slot takes the last input frame at or before it), as animations sample.
def _video_graph(video: VideoSettings, sources: list[SourceMedia], clips: list[Clip],
                 lengths: list[float], width: int, height: int, fit: str, fps: float, speed: float,
                 pix_fmt: str) -> list[str]:
    """Filter graph statements ending in [vout]."""
    pieces = []
    for i, clip in enumerate(clips):
        if clip.video and sources[clip.source].has_video:
            chain = ["setpts=PTS-STARTPTS", *([ROTATIONS[video.rotation]] if video.rotation else []),
                     _fit_filter(width, height, fit), "setsar=1"]
            if len(clips) > 1:  # concat needs one frame rate
                chain.append(f"fps={fps:g}:round=up")
            pieces.append(f"[{i}:v:0]{','.join(chain)}")
        else:  # black for a source without video, as long as its window
            pieces.append(f"color=c=black:s={width}x{height}:r={fps:g}:d={lengths[i]:.6f},setsar=1")
    post = [f"setpts=PTS/{speed:g}"] if speed != 1 else []
    if len(clips) == 1 and (video.frame_rate or speed != 1):
        post.append(f"fps={fps:g}:round=up")
    post += [_delogo_filter(d, width, height) for d in video.delogos]
    post.append(f"format={pix_fmt}")
    marks = video.watermarks
    base = "[vout]" if not marks else "[vbase]"
    if len(clips) == 1:
        graph = [f"{pieces[0]},{','.join(post)}{base}"]
    else:
        graph = [f"{piece}[v{i}]" for i, piece in enumerate(pieces)]
        graph.append(f"{''.join(f'[v{i}]' for i in range(len(clips)))}concat=n={len(clips)}:v=1:a=0,"
                     f"{','.join(post)}{base}")
    current = base
    for k, mark in enumerate(marks):
        size = ""
        if mark.width is not None or mark.height is not None:
            mw = -1 if mark.width is None else _position(mark.width, width)
            mh = -1 if mark.height is None else _position(mark.height, height)
            size = f"scale={mw}:{mh},"
        graph.append(f"[{len(clips) + k}:v]{size}format=rgba[wm{k}]")
        x, y = _placed(mark.refer, str(_position(mark.x, width)), str(_position(mark.y, height)),
                       "overlay_w", "overlay_h", "main_w", "main_h")
        following = "[vout]" if k == len(marks) - 1 else f"[vo{k}]"
        graph.append(f"{current}[wm{k}]overlay=x={x}:y={y}:shortest=1{_enable(mark.start, mark.duration)},"
                     f"format={pix_fmt}{following}")
        current = following
    return graph


def _audio_graph(sources: list[SourceMedia], clips: list[Clip], lengths: list[float], rate: int,
                 channels: int, speed: float) -> list[str]:
    """Filter graph statements ending in [aout]."""
    layout = CHANNEL_LAYOUTS[channels]
    pieces = []
    for i, clip in enumerate(clips):
        if clip.audio and sources[clip.source].has_audio:
            pieces.append(f"[{i}:a:0]asetpts=PTS-STARTPTS,aresample={rate},"
                          f"aformat=sample_rates={rate}:channel_layouts={layout}")
        else:  # silence for a source without audio, as long as its window
            pieces.append(f"anullsrc=r={rate}:cl={layout},atrim=duration={lengths[i]:.6f}")
    tail = f",atempo={speed:g}" if speed != 1 else ""
    if len(clips) == 1:
        return [f"{pieces[0]}{tail}[aout]"]
    return [*(f"{piece}[a{i}]" for i, piece in enumerate(pieces)),
            f"{''.join(f'[a{i}]' for i in range(len(clips)))}concat=n={len(clips)}:v=0:a=1{tail}[aout]"]


SOURCE_PIXEL_FORMATS = ("yuv420p", "yuv422p", "yuv444p", "yuv420p10le", "yuv422p10le", "yuv444p10le")


def plan_transcode(spec: OutputSpec, sources: list[SourceMedia], clips: list[Clip], primary: int = 0,
                   playlist_stem: str | None = None) -> TranscodePlan:
    """The ffmpeg plan for one target. `primary` indexes `clips` (AlignmentIndex): its source
    decides the defaults (size, frame rate, sample rate, channels; those of a kind of stream it
    lacks come from the first source that has one). `playlist_stem` is the path
    without extension a segmented output's segment files are named after."""
    name = spec.field
    lengths = [clip_length(c, sources[c.source]) for c in clips]
    video = spec.video if any(c.video and sources[c.source].has_video for c in clips) else None
    audio = spec.audio if any(c.audio and sources[c.source].has_audio for c in clips) else None
    if spec.container in AUDIO_CONTAINERS:
        video = None
    if video is None and audio is None:
        raise PlanError(name, "the output would have neither video nor audio: the sources have no "
                        "stream of the kinds the target keeps.")
    speed = spec.speed * (video.speed if video and video.codec != "copy" else 1.0)
    inputs = []
    for clip in clips:
        options: list[str] = []
        if clip.start > 0:
            options += ["-ss", f"{clip.start:g}"]
        if clip.duration:
            options += ["-t", f"{clip.duration:g}"]
        inputs.append(tuple(options))
    graph: list[str] = []
    maps: list[str] = []
    out: list[str] = []
    width = height = rate = channels = 0
    fps = 0.0
    # A primary source without video (or audio) leaves the defaults to the first source that has it.
    lead_video = next((sources[c.source] for c in [clips[primary], *clips] if sources[c.source].has_video),
                      sources[clips[primary].source])
    if video is not None and video.codec == "copy":
        _copyable(spec.container, lead_video.video_codec, "video", f"{name}.Container")
        maps.append(f"{primary}:v:0")
        out += ["-c:v", "copy"]
        width, height, fps = lead_video.width, lead_video.height, lead_video.fps
    elif video is not None:
        width, height, fit = target_size(video, lead_video.width, lead_video.height, name)
        fps = (_against_source(video.frame_rate, lead_video.fps, video.frame_rate_option,
                               f"{name}.Video.TranscodeVideo.FrameRate", "frame rate")
               or lead_video.fps or 25.0)
        own = lead_video.pixel_format
        pix_fmt = video.pixel_format or (own if own in SOURCE_PIXEL_FORMATS else "yuv420p")
        graph += _video_graph(video, sources, clips, lengths, width, height, fit, fps, speed, pix_fmt)
        maps.append("[vout]")
        bitrate = _against_source(video.bitrate, lead_video.video_bitrate, video.bitrate_option,
                                  f"{name}.Video.TranscodeVideo.Bitrate", "bitrate")
        out += _video_codec_args(video, bitrate, fps, pix_fmt, spec.container)
    if audio is not None:
        lead_audio = next(sources[c.source] for c in [clips[primary], *clips]
                          if sources[c.source].has_audio)
        if audio.codec == "copy":
            _copyable(spec.container, lead_audio.audio_codec, "audio", f"{name}.Container")
            maps.append(f"{primary}:a:0")
            out += ["-c:a", "copy"]
            rate, channels = lead_audio.sample_rate, lead_audio.channels
        else:
            rate = _audio_rate(audio, lead_audio.sample_rate, name)
            channels = _audio_channels(audio, lead_audio.channels)
            graph += _audio_graph(sources, clips, lengths, rate, channels, speed)
            maps.append("[aout]")
            audio_bitrate = _against_source(audio.bitrate, lead_audio.audio_bitrate, audio.bitrate_option,
                                            f"{name}.Audio.TranscodeAudio.Bitrate", "bitrate")
            out += _audio_codec_args(audio, audio_bitrate, rate, channels)
    out += _muxer_args(spec, video is not None and video.codec != "copy", playlist_stem)
    return TranscodePlan(
        inputs=tuple(inputs), extra_inputs=len(video.watermarks) if video and video.codec != "copy" else 0,
        filter_complex=";".join(graph) or None,
        maps=tuple(maps), output_args=tuple(out),
        muxer=MUXERS[spec.container] if spec.segment is None else spec.segment.format,
        duration=sum(lengths) / speed, width=width, height=height, fps=fps,
        video_codec=video.codec if video else None, audio_codec=audio.codec if audio else None,
        sample_rate=rate, channels=channels, clip_durations=tuple(lengths))
