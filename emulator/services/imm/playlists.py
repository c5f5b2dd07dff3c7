"""GenerateVideoPlaylist (HLS live transcoding): the call writes the media playlists (and the master
playlist) at once, listing every segment, and transcodes the first InitialTranscode seconds; any
other segment is transcoded when it is first read through OSS (OssModel.on_missing), as the real
service does when a player fetches it. Segments are `<Target URI>-<Token>-<index>.ts`."""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import posixpath
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emulator.core.errors import ServiceError
from emulator.media.ffmpeg import MediaError, ffmpeg_exe
from emulator.media.meta import source_media
from emulator.media.render import run_command
from emulator.media.transcode import AudioSettings, Clip, OutputSpec, PlanError, VideoSettings, plan_transcode
from emulator.services.imm.convert import parse_oss_uri
from emulator.services.imm.errors import invalid, missing, not_found
from emulator.services.imm.model import ImmModel
from emulator.services.imm.transcode_request import (
    has_extension,
    json_object,
    number_field,
    transcode_audio_settings,
    transcode_video_settings,
    whole_field,
)
from emulator.services.imm.transcoding import master_playlist
from emulator.services.imm.wire import Params

PLAYLIST_KIND = "imm-live-playlist"
MAX_TARGETS = 6
_SEGMENT = re.compile(r"^(?P<stem>.+)-(?P<token>[0-9a-f]{16})-(?P<index>\d+)\.ts$")
GVP_DEFAULTS_VIDEO = {"Codec": "h264", "BitrateOption": "adaptive", "FrameRateOption": "adaptive",
                      "ResolutionOption": "adaptive"}
GVP_DEFAULTS_AUDIO = {"Codec": "aac", "BitrateOption": "adaptive", "SampleRateOption": "adaptive"}


@dataclass(frozen=True)
class LiveTarget:
    field: str
    uri: str  # prefix, no extension
    duration: float
    initial_transcode: float
    initial_segments: tuple[float, ...]
    video: VideoSettings | None
    audio: AudioSettings | None
    raw: dict[str, Any]


def segment_bounds(length: float, duration: float,
                   initial: tuple[float, ...] = ()) -> list[tuple[float, float]]:
    """(start, duration) of each segment over `length` seconds: the InitialSegments first, then
    `duration` each; the last one is what is left."""
    bounds: list[tuple[float, float]] = []
    start = 0.0
    for size in (*initial, *([duration] * math.ceil(length / duration + 1))):
        if start >= length - 1e-6:
            break
        step = min(size, length - start)
        bounds.append((round(start, 6), round(step, 6)))
        start += step
    return bounds


def media_playlist_text(names: list[str], durations: list[float]) -> str:
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", f"#EXT-X-TARGETDURATION:{math.ceil(max(durations, default=1))}",
             "#EXT-X-MEDIA-SEQUENCE:0", "#EXT-X-PLAYLIST-TYPE:VOD"]
    for name, duration in zip(names, durations, strict=True):
        lines += [f"#EXTINF:{duration:.6f},", name]
    return "\n".join([*lines, "#EXT-X-ENDLIST"]) + "\n"


def _live_target(item: Any, name: str) -> LiveTarget:
    item = json_object(item, name)
    uri = item.get("URI")
    if not uri:
        raise missing(f"{name}.URI")
    parse_oss_uri(uri, f"{name}.URI")
    if has_extension(uri):
        raise invalid(f"{name}.URI", "must be a prefix without an extension.")
    container = item.get("Container") or "ts"
    if container != "ts":
        raise invalid(f"{name}.Container", "must be ts (mp4 is not supported by the emulator).")
    video = audio = None
    raw_video = json_object(item.get("Video"), f"{name}.Video")
    if raw_video.get("TranscodeVideo") and not raw_video.get("DisableVideo"):
        vname = f"{name}.Video.TranscodeVideo"
        video = transcode_video_settings(
            {**GVP_DEFAULTS_VIDEO, **json_object(raw_video["TranscodeVideo"], vname)}, vname, "ts")
        if video.codec not in ("h264", "h265"):
            raise invalid(f"{name}.Video.TranscodeVideo.Codec", "must be h264 or h265.")
        if raw_video.get("FilterVideo"):
            raise invalid(f"{name}.Video.FilterVideo", "is not supported by GenerateVideoPlaylist.")
    raw_audio = json_object(item.get("Audio"), f"{name}.Audio")
    if raw_audio.get("TranscodeAudio") and not raw_audio.get("DisableAudio"):
        audio = transcode_audio_settings({**GVP_DEFAULTS_AUDIO, **json_object(
            raw_audio["TranscodeAudio"], f"{name}.Audio.TranscodeAudio")}, f"{name}.Audio.TranscodeAudio")
        if audio.codec != "aac":
            raise invalid(f"{name}.Audio.TranscodeAudio.Codec", "must be aac.")
    if item.get("Subtitle"):
        raise invalid(f"{name}.Subtitle", "(subtitle playlists) is not supported by the emulator.")
    if video is None and audio is None:
        raise invalid(name, "needs Video or Audio.")
    initial = item.get("InitialSegments") or []
    if not isinstance(initial, list) or len(initial) > 6 or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 for v in initial):
        raise invalid(f"{name}.InitialSegments", "must be at most 6 positive durations.")
    whole_field(item, "TranscodeAhead", name, 10, 30)
    initial_transcode = number_field(item, "InitialTranscode", name)
    return LiveTarget(name, uri, number_field(item, "Duration", name, 5, 15) or 10.0,
                      30.0 if initial_transcode is None else initial_transcode, tuple(initial),
                      video, audio, item)


def _seconds(params: Params, name: str) -> float:
    raw = params.str(name, default="0")
    try:
        value = float(raw)
    except ValueError:
        raise invalid(name, "must be a number of seconds.") from None
    if not 0 <= value < float("inf"):
        raise invalid(name, "must be a number of seconds, not negative.")
    return value


def _token(*parts: Any) -> str:
    return hashlib.sha1(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


class LivePlaylists:
    def __init__(self, runtime: Any, model: ImmModel, oss: Any) -> None:
        self.rt = runtime
        self.model = model
        self.oss = oss
        self._locks: dict[str, asyncio.Lock] = {}
        oss.on_missing.append(self.produce_segment)

    async def generate(self, ns: str, params: Params, request_id: str) -> dict[str, Any]:
        project = params.str("ProjectName", required=True)
        self.model.get_project(ns, project)
        source_uri = params.str("SourceURI", required=True)
        src_bucket, src_key = parse_oss_uri(source_uri, "SourceURI")
        raw_targets = params.json("Targets", list, required=True)
        if not raw_targets or len(raw_targets) > MAX_TARGETS:
            raise invalid("Targets", f"must hold 1 to {MAX_TARGETS} targets.")
        targets = [_live_target(t, f"Targets[{i}]") for i, t in enumerate(raw_targets)]
        master = params.str("MasterURI")
        if len(targets) > 1 and not master:
            raise missing("MasterURI")
        if master:
            parse_oss_uri(master, "MasterURI")
            home = posixpath.dirname(master) + "/"
            for target in targets:
                if not target.uri.startswith(home):
                    raise invalid(f"{target.field}.URI", f"must be in the directory of MasterURI ({home}) "
                                  "or below.")
        start, duration = (_seconds(params, name) for name in ("SourceStartTime", "SourceDuration"))
        policy = params.str("OverwritePolicy", default="overwrite")
        if policy not in ("overwrite", "skip-existing"):
            raise invalid("OverwritePolicy", "must be overwrite or skip-existing.")
        if params.json("SourceSubtitles", list):
            raise invalid("SourceSubtitles", "(subtitle playlists) are not supported by the emulator.")
        params.json("Tags", dict)
        params.json("Notification", dict)
        params.json("CredentialConfig", dict)
        try:
            path = self.oss.object_path(ns, src_bucket, src_key)
        except ServiceError:
            raise not_found("Object") from None
        try:
            media = await asyncio.to_thread(source_media, path)
        except MediaError as exc:
            raise invalid("SourceURI", f"is not a video that can be read: {exc}.") from None
        start = min(start, media.duration)
        length = media.duration - start if not duration else min(duration, media.duration - start)
        body: dict[str, Any] = {"VideoPlaylist": [], "AudioPlaylist": [], "SubtitlePlaylist": [],
                                "Duration": round(length, 6)}
        plans = []
        for target in targets:  # every target checked against the source before anything is written
            bounds = segment_bounds(length, target.duration, target.initial_segments)
            try:
                plans.append((bounds, self._plan(target, media, start, bounds[0] if bounds else (0, 0))))
            except PlanError as exc:
                raise invalid(exc.field, f"cannot be met by this source: {exc.message}") from None
            try:
                self.oss.get_bucket(ns, parse_oss_uri(target.uri, f"{target.field}.URI")[0])
            except ServiceError:
                raise invalid(f"{target.field}.URI", "names a bucket that does not exist.") from None
        variants = []
        for target, (bounds, plan) in zip(targets, plans, strict=True):
            token = _token(source_uri, start, length, target.raw)
            bucket, prefix = parse_oss_uri(target.uri, f"{target.field}.URI")
            names = [f"{posixpath.basename(prefix)}-{token}-{i}.ts" for i in range(len(bounds))]
            self.rt.docs.put(PLAYLIST_KIND, ns, f"{bucket}/{prefix}-{token}", {
                "project": project, "source_bucket": src_bucket, "source_key": src_key, "start": start,
                "bounds": bounds, "target": target.raw, "field": target.field})
            key = f"{prefix}.m3u8"
            if policy == "overwrite" or not self._exists(ns, bucket, key):
                self._put_text(ns, bucket, key, media_playlist_text(names, [d for _, d in bounds]))
            first = target.initial_transcode
            wanted = [i for i, (s, _) in enumerate(bounds) if first < 0 or s < first]
            for index in wanted:
                await self.produce_segment(ns, bucket, f"{prefix}-{token}-{index}.ts")
            entry = {"URI": f"oss://{bucket}/{key}", "Token": token}
            if plan.video_codec:
                body["VideoPlaylist"].append({**entry, "Resolution": f"{plan.width}x{plan.height}",
                                              "FrameRate": f"{plan.fps:g}"})
            else:
                body["AudioPlaylist"].append({**entry, "Channels": plan.channels})
            variants.append((key, plan, bucket))
        if master:
            m_bucket, m_key = parse_oss_uri(master, "MasterURI")
            lines = []
            for key, plan, _ in variants:
                rate = (plan_bitrate(plan.output_args))
                lines.append((posixpath.relpath(key, posixpath.dirname(m_key)), plan, rate, rate))
            self._put_text(ns, m_bucket, m_key, master_playlist(lines))
            body["MasterURI"] = master
            body["Token"] = _token(master, [v[0] for v in variants])
        return body

    def _exists(self, ns: str, bucket: str, key: str) -> bool:
        try:
            self.oss.head_object(ns, bucket, key)
            return True
        except ServiceError:
            return False

    def _put_text(self, ns: str, bucket: str, key: str, text: str) -> None:
        with tempfile.NamedTemporaryFile("w", dir=self.rt.data_dir, suffix=".m3u8") as file:
            file.write(text)
            file.flush()
            try:
                self.oss.put_file(ns, bucket, key, Path(file.name), "application/vnd.apple.mpegurl")
            except ServiceError as exc:
                raise invalid("Targets", f"cannot be written to oss://{bucket}/{key}: {exc.message}") \
                    from None

    def _plan(self, target: LiveTarget, media: Any, start: float, bound: tuple[float, float]):
        spec = OutputSpec("ts", target.video, target.audio, field=target.field)
        return plan_transcode(spec, [media], [Clip(0, start + bound[0], bound[1])])

    async def produce_segment(self, ns: str, bucket: str, key: str) -> None:
        """Transcode one listed segment if `key` is one and is missing (GET hook)."""
        match = _SEGMENT.match(key)
        if not match:
            return
        entry = self.rt.docs.get(PLAYLIST_KIND, ns, f"{bucket}/{match['stem']}-{match['token']}")
        index = int(match["index"])
        if entry is None or index >= len(entry["bounds"]):
            return
        lock = self._locks.setdefault(f"{ns}/{bucket}/{key}", asyncio.Lock())
        async with lock:
            if self._exists(ns, bucket, key):
                return
            try:
                await self._transcode(ns, bucket, key, entry, index)
            finally:
                self._locks.pop(f"{ns}/{bucket}/{key}", None)

    async def _transcode(self, ns: str, bucket: str, key: str, entry: dict[str, Any], index: int) -> None:
        target = _live_target(entry["target"], entry["field"])
        try:
            path = self.oss.object_path(ns, entry["source_bucket"], entry["source_key"])
            media = await self.rt.pool.run(source_media, path)
        except (ServiceError, MediaError):
            return  # the source is gone: the segment stays missing (404)
        start, length = entry["bounds"][index]
        try:
            plan = self._plan(target, media, entry["start"], (start, length))
        except PlanError:
            return
        with tempfile.TemporaryDirectory(prefix="imm-live-", dir=self.rt.data_dir) as work:
            out = Path(work) / "segment.ts"
            command = plan.command(ffmpeg_exe(), [str(path)], [], str(out))
            # Timestamps continue from the previous segment, so the playlist plays as one stream
            # (and the first segment is not shifted by the encoder's B-frame delay either).
            command[-1:-1] = ["-avoid_negative_ts", "disabled", "-output_ts_offset", f"{start:.6f}"]
            try:
                await self.rt.pool.run(run_command, command)
            except MediaError:
                return
            self.oss.put_file(ns, bucket, key, out, "video/mp2t")
        self.model.record_usage(ns, entry["project"], "MediaLiveTranscode", round(length, 3))


def plan_bitrate(args: tuple[str, ...]) -> int:
    """The variant bandwidth a master playlist announces: the target bitrates, else an estimate."""
    total = 0
    for flag, default in (("-b:v", 2_000_000), ("-b:a", 128_000)):
        if flag in args:
            total += int(args[args.index(flag) + 1])
        elif ("-c:v" if flag == "-b:v" else "-c:a") in args:
            total += default
    return total
