"""Running the transcoding targets of a MediaConvert task (Targets[] with URI + Container, and
TargetGroups[]): probe the sources, plan each output (emulator.media.transcode), run ffmpeg in the
worker pool into a private directory, then store everything in OSS. Nothing is stored before every
output of the task is complete, and a playlist goes in after its segments (a master playlist after
its variants), so no reader ever sees a half-written output."""

from __future__ import annotations

import math
import posixpath
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emulator.core.errors import ServiceError
from emulator.media.ffmpeg import MediaError, ffmpeg_exe
from emulator.media.meta import source_media
from emulator.media.render import run_command
from emulator.media.transcode import (
    CONTAINER_CONTENT_TYPES,
    Clip,
    OutputSpec,
    PlanError,
    SourceMedia,
    TranscodePlan,
    Watermark,
    plan_transcode,
)
from emulator.services.imm.convert import ConvertRequest, resolve_uri
from emulator.services.imm.failures import TaskFailure
from emulator.services.imm.transcode_request import TargetGroup, TranscodeTarget, has_extension

SERVICE = "imm"
CONTENT_TYPES = {
    **CONTAINER_CONTENT_TYPES, "m3u8": "application/vnd.apple.mpegurl", "mpd": "application/dash+xml",
    "m4s": "video/iso.segment", "srt": "application/x-subrip", "vtt": "text/vtt", "ass": "text/x-ssa"}
SUBTITLE_MUXERS = {"srt": "srt", "ass": "ass", "vtt": "webvtt"}
# Output tiers by long x short side (as Alibaba Cloud's transcoding price lists define them).
TIERS = (("LD", 640, 480), ("SD", 1280, 720), ("HD", 1920, 1080), ("2K", 2560, 1440), ("4K", 3840, 2160))
Progress = Callable[[float], None]


@dataclass(frozen=True)
class _Source:
    path: Path
    media: SourceMedia
    modified: float


@dataclass
class _Output:
    target: TranscodeTarget
    plan: TranscodePlan | None  # None: subtitle extraction only
    bucket: str
    key: str  # the main object: the file, or the (media) playlist ("": none)
    files: list[tuple[str, Path, str]] = field(default_factory=list)  # (bucket, file, key), in storing order
    subtitles: list[str] = field(default_factory=list)

    @property
    def uri(self) -> str:
        return f"oss://{self.bucket}/{self.key}"


def _extension(spec: OutputSpec) -> str:
    segment = spec.segment
    if segment is None:
        return spec.container
    return "m3u8" if segment.format == "hls" else "mpd"


def billable_item(plan: TranscodePlan) -> str:
    """MediaTranscode + codec + tier for video, MediaTranscodeAudio for audio only,
    MediaTranscodeRemux when the video is copied."""
    if plan.video_codec is None:
        return "MediaTranscodeAudio"
    if plan.video_codec == "copy":
        return "MediaTranscodeRemux"
    long_side, short_side = max(plan.width, plan.height), min(plan.width, plan.height)
    tier = next((name for name, top_long, top_short in TIERS
                 if long_side <= top_long and short_side <= top_short), "8K")
    return f"MediaTranscode{plan.video_codec.upper()}{tier}"


def billable_minutes(plan: TranscodePlan) -> int:
    """Output minutes, a started minute counting whole (inferred)."""
    return max(1, math.ceil(plan.duration / 60 - 1e-9))


def text_watermark(mark: Watermark, out: Path) -> None:
    """Draw a text watermark into a transparent PNG (ffmpeg then needs no fonts)."""
    from PIL import Image, ImageColor, ImageDraw, ImageFont

    font = ImageFont.load_default(size=mark.font_size)
    probe = ImageDraw.Draw(Image.new("RGBA", (1, 1)))
    left, top, right, bottom = probe.textbbox((0, 0), mark.content, font=font, stroke_width=mark.border_width)
    image = Image.new("RGBA", (max(1, right - left), max(1, bottom - top)), (0, 0, 0, 0))
    alpha = round(255 * mark.alpha)
    fill = (*ImageColor.getrgb(mark.font_color)[:3], alpha)
    stroke = (*ImageColor.getrgb(mark.border_color)[:3], alpha)
    ImageDraw.Draw(image).text((-left, -top), mark.content, font=font, fill=fill,
                               stroke_width=mark.border_width, stroke_fill=stroke)
    image.save(out)


def master_playlist(variants: list[tuple[str, TranscodePlan, int, int]]) -> str:
    """An HLS master playlist: per variant (relative URI, plan, peak and average bit/s)."""
    lines = ["#EXTM3U", "#EXT-X-VERSION:3"]
    for uri, plan, peak, average in variants:
        attributes = f"BANDWIDTH={peak},AVERAGE-BANDWIDTH={average}"
        if plan.width:
            attributes += f",RESOLUTION={plan.width}x{plan.height},FRAME-RATE={plan.fps:.3f}"
        lines += [f"#EXT-X-STREAM-INF:{attributes}", uri]
    return "\n".join(lines) + "\n"


_EXTINF = re.compile(r"^#EXTINF:([\d.]+),\s*\n(\S+)", re.MULTILINE)


def playlist_bandwidth(playlist: Path) -> tuple[int, int]:
    """(peak, average) bit/s of a media playlist's segments, from their sizes and durations."""
    segments = [(float(d), playlist.parent / name) for d, name in _EXTINF.findall(playlist.read_text())]
    rates = [path.stat().st_size * 8 / d for d, path in segments if d > 0]
    total = sum(d for d, _ in segments)
    size = sum(path.stat().st_size for _, path in segments)
    return round(max(rates, default=0)), round(size * 8 / total) if total else 0


class Transcoder:
    def __init__(self, runtime: Any, oss: Any, record_usage: Callable[[str, str, str, int], None], ns: str,
                 task: dict[str, Any], request: ConvertRequest, progress: Progress) -> None:
        self.rt = runtime
        self.oss = oss
        self.record_usage = record_usage
        self.ns = ns
        self.task = task
        self.request = request
        self.progress = progress

    async def run(self) -> dict[str, list[str]]:
        request = self.request
        targets = [*request.transcodes, *(t for g in request.groups for t in g.targets)]
        if not targets:
            return {}
        sources = [await self._open(s.bucket, s.key, s.uri) for s in request.sources]
        with tempfile.TemporaryDirectory(prefix="imm-transcode-", dir=self.rt.data_dir) as work:
            rendered = [await self._render(Path(work) / f"t{n}", target, sources, n, len(targets))
                        for n, target in enumerate(targets)]
            masters = [self._master(Path(work) / f"g{g}", group, rendered, sources)
                       for g, group in enumerate(request.groups)]
            for bucket in {b for o in rendered for b, _, _ in o.files} | {m[0] for m in masters}:
                self._check_bucket(bucket)
            for output in rendered:
                for bucket, path, key in output.files:
                    self._store(bucket, key, path, output.target.field)
            for bucket, key, path, name in masters:
                self._store(bucket, key, path, name)
        outputs: dict[str, list[str]] = {}
        for output in rendered:
            if output.plan is not None:
                outputs[output.target.field] = [output.uri]
                self._meter(output.plan)
            if output.subtitles:
                outputs[f"{output.target.field}.Subtitle"] = output.subtitles
        for group, (bucket, key, _, _) in zip(request.groups, masters, strict=True):
            outputs[group.field] = [f"oss://{bucket}/{key}"]
        return outputs

    async def _open(self, bucket: str, key: str, uri: str) -> _Source:
        try:
            meta = self.oss.head_object(self.ns, bucket, key)
            path = self.oss.object_path(self.ns, bucket, key)
        except ServiceError:
            raise TaskFailure("ResourceNotFound", f"The specified resource {uri} is not found.") from None
        try:
            media = await self.rt.pool.run(source_media, path)
        except MediaError as exc:
            raise TaskFailure("InvalidArgument", f"The source {uri} is not audio or video that can be "
                              f"decoded: {exc}") from None
        return _Source(path, media, meta.last_modified)

    def _clips(self) -> list[Clip]:
        return [Clip(i, s.start, s.duration, not s.disable_video, not s.disable_audio)
                for i, s in enumerate(self.request.sources)]

    def _resolve(self, template: str, ext: str, sources: list[_Source]) -> tuple[str, str]:
        primary = self.request.alignment_index
        bucket, key = resolve_uri(template, self.request.sources[primary], ext, 1, sources[primary].modified,
                                  self.task["StartTime"], self.request.tags)
        return bucket, key if has_extension(key) else f"{key}.{ext}"

    async def _render(self, folder: Path, target: TranscodeTarget, sources: list[_Source], n: int,
                      count: int) -> _Output:
        folder.mkdir()
        if target.spec is None:  # subtitle extraction only
            output = _Output(target, None, "", "")
            await self._subtitles(folder, target, sources, output)
            return output
        ext = _extension(target.spec)
        bucket, key = self._resolve(target.uri, ext, sources)
        name = posixpath.basename(key)
        stem = name.rsplit(".", 1)[0]
        try:
            plan = plan_transcode(target.spec, [s.media for s in sources], self._clips(),
                                  self.request.alignment_index, playlist_stem=str(folder / stem))
        except PlanError as exc:
            raise TaskFailure("InvalidArgument", f"The parameter {exc.field} cannot be met: {exc.message}") \
                from None
        marks = folder / "watermarks"
        extra = []
        marked = target.spec.video.watermarks if plan.extra_inputs and target.spec.video else ()
        for k, mark in enumerate(marked):
            extra.append(str(await self._watermark(mark, marks, k, target.field)))
        out = folder / name
        command = plan.command(ffmpeg_exe(), [str(s.path) for s in sources], extra, str(out))
        expected = max(plan.expected_frames, 1)

        def on_frame(frames: int) -> None:
            self.progress((n + min(frames / expected, 1.0)) / count)

        self.rt.events.record(self.ns, SERVICE, self.task["TaskId"], "transcoding", output=target.field,
                              muxer=plan.muxer, video=plan.video_codec, audio=plan.audio_codec,
                              size=f"{plan.width}x{plan.height}", duration=round(plan.duration, 3))
        try:
            await self.rt.pool.run(run_command, command, on_frame)
        except MediaError as exc:
            raise TaskFailure("InvalidArgument", f"The source could not be transcoded for {target.field}: "
                              f"{exc}") from None
        if not out.is_file() or out.stat().st_size == 0:
            raise TaskFailure("InvalidArgument", f"The transcoding for {target.field} produced no output.")
        directory = posixpath.dirname(key)
        files = sorted((p for p in folder.iterdir() if p.is_file() and p != out), key=lambda p: p.name)
        written = [(bucket, p, posixpath.join(directory, p.name)) for p in files]
        output = _Output(target, plan, bucket, key, [*written, (bucket, out, key)])
        if target.subtitle:
            await self._subtitles(folder, target, sources, output)
        return output

    async def _watermark(self, mark: Watermark, folder: Path, k: int, name: str) -> Path:
        folder.mkdir(exist_ok=True)
        if mark.kind == "text":
            path = folder / f"text-{k}.png"
            await self.rt.pool.run(text_watermark, mark, path)
            return path
        bucket, _, key = mark.content[len("oss://"):].partition("/")
        try:
            return self.oss.object_path(self.ns, bucket, key)
        except ServiceError:
            raise TaskFailure("ResourceNotFound", f"The watermark {mark.content} of {name} is not found.") \
                from None

    async def _subtitles(self, folder: Path, target: TranscodeTarget, sources: list[_Source],
                         output: _Output) -> None:
        """ExtractSubtitle: every subtitle stream of the primary source to <URI>_<index>.<ext>."""
        assert target.subtitle is not None
        primary = sources[self.request.alignment_index]
        fmt = target.subtitle.format
        bucket, prefix = resolve_uri(target.subtitle.uri, self.request.sources[self.request.alignment_index],
                                     fmt, 1, primary.modified, self.task["StartTime"], self.request.tags)
        for index in range(len(primary.media.subtitles)):
            key = f"{prefix}_{index}.{fmt}"
            path = folder / f"subtitle_{index}.{fmt}"
            command = [ffmpeg_exe(), "-y", "-i", str(primary.path), "-map", f"0:s:{index}",
                       "-f", SUBTITLE_MUXERS[fmt], str(path)]
            try:
                await self.rt.pool.run(run_command, command)
            except MediaError as exc:
                raise TaskFailure("InvalidArgument", f"The subtitle stream {index} could not be extracted "
                                  f"for {target.field}.Subtitle.ExtractSubtitle: {exc}") from None
            output.files.insert(0, (bucket, path, key))
            output.subtitles.append(f"oss://{bucket}/{key}")

    def _master(self, folder: Path, group: TargetGroup, rendered: list[_Output],
                sources: list[_Source]) -> tuple[str, str, Path, str]:
        folder.mkdir()
        bucket, key = self._resolve(group.uri, "m3u8", sources)
        variants = []
        for output in rendered:
            if output.plan is None or output.target.field.split(".")[0] != group.field:
                continue
            playlist = next(p for _, p, k in output.files if k == output.key)
            peak, average = playlist_bandwidth(playlist)
            relative = posixpath.relpath(output.key, posixpath.dirname(key))
            variants.append((relative, output.plan, peak, average))
        path = folder / posixpath.basename(key)
        path.write_text(master_playlist(variants))
        return bucket, key, path, group.field

    def _check_bucket(self, bucket: str) -> None:
        try:
            self.oss.get_bucket(self.ns, bucket)
        except ServiceError as exc:
            raise TaskFailure("ResourceNotFound", f"The output bucket {bucket} could not be written: "
                              f"{exc.message}") from None

    def _store(self, bucket: str, key: str, path: Path, name: str) -> None:
        ext = key.rsplit(".", 1)[-1].lower()
        try:
            self.oss.put_file(self.ns, bucket, key, path, CONTENT_TYPES.get(ext, "application/octet-stream"))
        except ServiceError as exc:
            raise TaskFailure("ResourceNotFound" if exc.code == "NoSuchBucket" else "InvalidArgument",
                              f"The output oss://{bucket}/{key} of {name} could not be written: "
                              f"{exc.message}") from None
        self.rt.events.record(self.ns, SERVICE, self.task["TaskId"], "output written", output=name,
                              uri=f"oss://{bucket}/{key}", size=path.stat().st_size)

    def _meter(self, plan: TranscodePlan) -> None:
        self.record_usage(self.ns, self.task["ProjectName"], billable_item(plan), billable_minutes(plan))
