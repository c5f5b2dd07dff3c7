"""CreateMediaConvertTask requests: validation into plain data before a task exists, and the
TargetURI templates ({bucket}, {dirname}, {autoext}, {index}, {tags.x} ...). No HTTP, no state."""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from emulator.media.plan import SAMPLING_MODES, SCALE_TYPES
from emulator.services.imm.errors import invalid, missing
from emulator.services.imm.transcode_request import (
    TargetGroup,
    TranscodeTarget,
    check_concatenation,
    is_transcode_target,
    parse_target_groups,
    parse_transcode_target,
)

MAX_SOURCES = 11
MAX_USER_DATA_BYTES = 2048
MAX_PIXELS = 4096
MAX_FRAME_RATE = 240
_OSS_URI = re.compile(r"^oss://([a-z0-9][a-z0-9-]{1,61}[a-z0-9])/(.+)$")
IMAGE_FORMATS = {"Animations": ("gif", "webp"), "Snapshots": ("jpg", "png"), "Sprites": ("jpg", "png")}
URI_VARIABLES = {"bucket", "key", "dirname", "barename", "basename", "ext", "year", "mon", "day", "hour",
                 "min", "sec", "t_year", "t_mon", "t_day", "t_hour", "t_min", "t_sec", "streamindex",
                 "index", "autoext", "resolution"}


@dataclass(frozen=True)
class SourceSpec:
    bucket: str
    key: str
    start: float
    duration: float  # 0: to the end
    disable_video: bool = False
    disable_audio: bool = False

    @property
    def uri(self) -> str:
        return f"oss://{self.bucket}/{self.key}"


@dataclass(frozen=True)
class ImageOutput:
    """One entry of Targets[t].Image.Animations / Snapshots / Sprites."""

    kind: str  # "Animations" | "Snapshots" | "Sprites"
    target: int
    position: int
    format: str
    uri: str  # template
    start: float = 0.0
    interval: float | None = None
    number: int = 0
    frame_rate: float | None = None
    width: float | None = None
    height: float | None = None
    scale_type: str = "stretch"
    tile: tuple[int, int, int, int] | None = None  # Sprites: columns, rows, pad, margin
    mode: str = "interval"  # interval | keyframe | average (Snapshots, Sprites)

    @property
    def field(self) -> str:
        return f"Targets[{self.target}].Image.{self.kind}[{self.position}]"


@dataclass(frozen=True)
class ConvertRequest:
    sources: list[SourceSpec]
    outputs: list[ImageOutput]
    target_count: int
    alignment_index: int = 0
    mns_topic: str | None = None
    rocketmq: dict[str, str] | None = None
    user_data: str = ""
    tags: dict[str, Any] = field(default_factory=dict)
    transcodes: tuple[TranscodeTarget, ...] = ()  # Targets[] with URI + Container
    groups: tuple[TargetGroup, ...] = ()  # TargetGroups[] (their targets are not in transcodes)


def parse_oss_uri(value: Any, name: str) -> tuple[str, str]:
    match = _OSS_URI.match(value) if isinstance(value, str) else None
    if not match:
        raise invalid(name, "must be an OSS URI of the form oss://${Bucket}/${Object}.")
    return match.group(1), match.group(2)


def _number(item: dict[str, Any], key: str, name: str, low: float = 0.0, high: float | None = None,
            low_open: bool = False, integer: bool = False) -> float | None:
    value = item.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        raise invalid(f"{name}.{key}", "must be a number.")
    if integer and value != int(value):
        raise invalid(f"{name}.{key}", "must be an integer.")
    if value < low or (low_open and value == low) or (high is not None and value > high):
        bound = f"({low}" if low_open else f"[{low}"
        raise invalid(f"{name}.{key}", f"is out of range {bound}, {high if high is not None else 'inf'}].")
    return float(value)


def _whole(item: dict[str, Any], key: str, name: str, default: int, low: int, high: int) -> int:
    value = _number(item, key, name, low=low, high=high, integer=True)
    return default if value is None else int(value)


def _size(item: dict[str, Any], key: str, name: str, ratio_closed: bool = False) -> float | None:
    """Width / Height: a ratio in (0,1) (Sprites: (0,1]) or whole pixels in [1,4096]; 0 = unset."""
    value = _number(item, key, name)
    if not value:
        return None
    if value < 1 or (ratio_closed and value == 1):
        return value
    if value != int(value) or value > MAX_PIXELS:
        raise invalid(f"{name}.{key}", "must be a ratio in (0,1) or a whole number of pixels in "
                      "[1,4096].")
    return value


def check_uri_template(template: str, name: str, tags: dict[str, Any]) -> None:
    parse_oss_uri(template.replace("{", "").replace("}", "") or template, name)
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        raise invalid(name, f"is not a valid URI template: {exc}.") from None
    for variable in fields:
        if variable.startswith("tags."):
            if variable[5:] not in tags:
                raise invalid(name, f"uses {{{variable}}} but Tags has no key {variable[5:]!r}.")
        elif variable not in URI_VARIABLES:
            raise invalid(name, f"uses the unknown variable {{{variable}}}.")


def _image_output(kind: str, target: int, position: int, item: Any, tags: dict[str, Any]) -> ImageOutput:
    name = f"Targets[{target}].Image.{kind}[{position}]"
    if not isinstance(item, dict):
        raise invalid(name, "must be a JSON object.")
    fmt = item.get("Format")
    if not fmt:
        raise missing(f"{name}.Format")
    if fmt not in IMAGE_FORMATS[kind]:
        raise invalid(f"{name}.Format", f"must be one of {', '.join(IMAGE_FORMATS[kind])}.")
    uri = item.get("URI")
    if not uri:
        raise missing(f"{name}.URI")
    if not isinstance(uri, str):
        raise invalid(f"{name}.URI", "must be a string.")
    check_uri_template(uri, f"{name}.URI", tags)
    scale_type = item.get("ScaleType") or "stretch"
    if scale_type not in SCALE_TYPES:
        raise invalid(f"{name}.ScaleType", f"must be one of {', '.join(SCALE_TYPES)}.")
    mode = item.get("Mode") or "interval"
    modes = SAMPLING_MODES if kind != "Animations" else ("interval",)
    if mode == "dhash" and kind != "Animations":
        raise invalid(f"{name}.Mode", "dhash (content-change sampling) is not supported by the emulator.")
    if mode not in modes:
        raise invalid(f"{name}.Mode", f"must be one of {', '.join(modes)}.")
    _number(item, "Threshold", name, high=100, integer=True)
    number = _number(item, "Number", name, integer=True)
    if mode == "average" and not number:
        raise invalid(f"{name}.Number", "must be at least 1 with Mode average.")
    common = dict(kind=kind, target=target, position=position, format=fmt, uri=uri, mode=mode,
                  start=_number(item, "StartTime", name) or 0.0,
                  interval=_number(item, "Interval", name, low_open=True),
                  number=int(number or 0), scale_type=scale_type)
    if kind == "Sprites":
        tile = tuple(_whole(item, key, name, default, low, high)
                     for key, default, low, high in (("TileWidth", 6, 1, 100), ("TileHeight", 6, 1, 100),
                                                     ("Pad", 2, 0, 1000), ("Margin", 2, 0, 1000)))
        return ImageOutput(**common, width=_size(item, "ScaleWidth", name, ratio_closed=True),
                           height=_size(item, "ScaleHeight", name, ratio_closed=True),
                           tile=tile)  # type: ignore[arg-type]
    frame_rate = _number(item, "FrameRate", name, high=MAX_FRAME_RATE, low_open=True) \
        if kind == "Animations" else None
    return ImageOutput(**common, frame_rate=frame_rate, width=_size(item, "Width", name),
                       height=_size(item, "Height", name))


def _sources(value: Any) -> list[SourceSpec]:
    if value is None:
        raise missing("Sources")
    if not isinstance(value, list) or not value:
        raise invalid("Sources", "must be a non-empty JSON array.")
    if len(value) > MAX_SOURCES:
        raise invalid("Sources", f"can hold at most {MAX_SOURCES} files.")
    sources = []
    for i, item in enumerate(value):
        name = f"Sources[{i}]"
        if not isinstance(item, dict):
            raise invalid(name, "must be a JSON object.")
        if not item.get("URI"):
            raise missing(f"{name}.URI")
        bucket, key = parse_oss_uri(item["URI"], f"{name}.URI")
        if item.get("Attached"):
            raise invalid(f"{name}.Attached", "(an extra synchronised stream) is not supported by the "
                          "emulator.")
        if item.get("Subtitles"):
            raise invalid(f"{name}.Subtitles", "(external subtitle files) are not supported by the emulator.")
        flags = [item.get(flag) for flag in ("DisableVideo", "DisableAudio")]
        for flag, value in zip(("DisableVideo", "DisableAudio"), flags, strict=True):
            if value is not None and not isinstance(value, bool):
                raise invalid(f"{name}.{flag}", "must be true or false.")
        sources.append(SourceSpec(bucket, key, _number(item, "StartTime", name) or 0.0,
                                  _number(item, "Duration", name) or 0.0, bool(flags[0]), bool(flags[1])))
    return sources


def _notification(value: Any) -> tuple[str | None, dict[str, str] | None]:
    if value is None:
        return None, None
    if not isinstance(value, dict):
        raise invalid("Notification", "must be a JSON object.")
    topic, rocketmq = None, None
    mns = value.get("MNS")
    if mns is not None:
        if not isinstance(mns, dict) or not isinstance(mns.get("TopicName"), str) or not mns["TopicName"]:
            raise missing("Notification.MNS.TopicName")
        topic = mns["TopicName"]
    rocket = value.get("RocketMQ")
    if rocket is not None:
        if not isinstance(rocket, dict):
            raise invalid("Notification.RocketMQ", "must be a JSON object.")
        for key in ("InstanceId", "TopicName"):
            if not isinstance(rocket.get(key), str) or not rocket[key]:
                raise missing(f"Notification.RocketMQ.{key}")
        rocketmq = {"InstanceId": rocket["InstanceId"], "TopicName": rocket["TopicName"]}
    return topic, rocketmq


def parse_convert_request(sources: Any, targets: Any, target_groups: Any, notification: Any,
                          user_data: str | None, tags: Any, alignment_index: int | None) -> ConvertRequest:
    """The validated request; ServiceError (InvalidArgument, naming the field) otherwise."""
    parsed_sources = _sources(sources)
    if tags is not None and not isinstance(tags, dict):
        raise invalid("Tags", "must be a JSON object.")
    tags = tags or {}
    if user_data and len(user_data.encode()) > MAX_USER_DATA_BYTES:
        raise invalid("UserData", f"must be at most {MAX_USER_DATA_BYTES} bytes.")
    groups = parse_target_groups(target_groups)
    if targets is None and not groups:
        raise missing("Targets")
    if targets is not None and (not isinstance(targets, list) or not targets and not groups):
        raise invalid("Targets", "must be a non-empty JSON array.")
    targets = targets or []
    outputs: list[ImageOutput] = []
    transcodes: list[TranscodeTarget] = []
    for t, target in enumerate(targets):
        if not isinstance(target, dict):
            raise invalid(f"Targets[{t}]", "must be a JSON object.")
        image = target.get("Image") or {}
        if not isinstance(image, dict):
            raise invalid(f"Targets[{t}].Image", "must be a JSON object.")
        before = len(outputs)
        for kind in ("Animations", "Snapshots", "Sprites"):
            items = image.get(kind) or []
            if not isinstance(items, list):
                raise invalid(f"Targets[{t}].Image.{kind}", "must be a JSON array.")
            outputs.extend(_image_output(kind, t, i, item, tags) for i, item in enumerate(items))
        if len(outputs) > before:
            for key in ("URI", "Container"):
                if target.get(key):
                    raise invalid(f"Targets[{t}].{key}", "must not be set for a snapshot, sprite or "
                                  "animation target.")
        elif is_transcode_target(target) or target.get("Subtitle"):
            transcodes.append(parse_transcode_target(target, f"Targets[{t}]"))
        else:
            raise invalid(f"Targets[{t}]", "has no output: set URI and Container, or Image.")
    if len(parsed_sources) > 1:
        raw = {f"Targets[{t}]": target for t, target in enumerate(targets)}
        raw.update({f"TargetGroups[{g}].Targets[{t}]": target for g, group in enumerate(target_groups or [])
                    for t, target in enumerate(group.get("Targets") or [])})
        check_concatenation([*transcodes, *(t for g in groups for t in g.targets)], raw)
    topic, rocketmq = _notification(notification)
    index = alignment_index or 0
    if not 0 <= index < len(parsed_sources):
        raise invalid("AlignmentIndex", "must be the index of one of the Sources.")
    return ConvertRequest(parsed_sources, outputs, len(targets), index, topic, rocketmq,
                          user_data or "", tags, tuple(transcodes), tuple(groups))


class _Tags:
    def __init__(self, tags: dict[str, Any]) -> None:
        self._tags = tags

    def __getattr__(self, name: str) -> Any:
        return self._tags[name]


def resolve_uri(template: str, source: SourceSpec, fmt: str, index: int, source_modified: float,
                task_created: float, tags: dict[str, Any]) -> tuple[str, str]:
    """(bucket, key) of an output: the template with the source's and the task's variables."""
    dirname, _, basename = source.key.rpartition("/")
    barename, dot, ext = basename.rpartition(".")
    if not dot:
        barename, ext = basename, ""
    uploaded = datetime.fromtimestamp(source_modified, tz=timezone.utc)
    created = datetime.fromtimestamp(task_created, tz=timezone.utc)
    values: dict[str, Any] = {
        "bucket": source.bucket, "key": source.key, "dirname": dirname, "basename": basename,
        "barename": barename, "ext": ext, "streamindex": 0, "index": index, "autoext": fmt,
        "resolution": "", "tags": _Tags(tags)}
    for prefix, moment in (("", uploaded), ("t_", created)):
        values.update({f"{prefix}year": f"{moment.year:04d}", f"{prefix}mon": f"{moment.month:02d}",
                       f"{prefix}day": f"{moment.day:02d}", f"{prefix}hour": f"{moment.hour:02d}",
                       f"{prefix}min": f"{moment.minute:02d}", f"{prefix}sec": f"{moment.second:02d}"})
    bucket, key = parse_oss_uri(template.format(**values), "URI")
    return bucket, re.sub("/{2,}", "/", key).lstrip("/")  # an empty {dirname} leaves no "//"
