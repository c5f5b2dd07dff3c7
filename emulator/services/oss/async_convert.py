"""Running a `video/convert`, `audio/convert` or `video/concat` task: probe the sources, plan the
output with the transcoding engine (emulator.media.transcode, as IMM's MediaConvert does), run ffmpeg in the
worker pool into a private directory, then store the file at the sys/saveas target. Nothing is
stored unless ffmpeg made the whole file."""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from emulator.core.errors import ServiceError
from emulator.core.runtime import Runtime
from emulator.media.ffmpeg import MediaError, ffmpeg_exe
from emulator.media.meta import source_media
from emulator.media.render import run_command
from emulator.media.transcode import CONTAINER_CONTENT_TYPES, Clip, PlanError, TranscodePlan, plan_transcode
from emulator.services.oss.concat_params import Concat, ConcatPart
from emulator.services.oss.convert_params import Conversion
from emulator.services.oss.model import OssModel

SERVICE = "oss"
# The engine names a target it cannot meet by its IMM field; OSS names the parameter.
PLAN_FIELDS = ((".Video.TranscodeVideo.Resolution", "s"), (".Video.TranscodeVideo.FrameRate", "fps"),
               (".Video.TranscodeVideo.Bitrate", "vb"), (".Audio.TranscodeAudio.SampleRate", "ar"),
               (".Audio.TranscodeAudio.Bitrate", "ab"))


class TaskFailure(Exception):
    """Ends an OSS async task as Failed with this code and message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def plan_parameter(error: PlanError) -> str:
    """The OSS parameter (s, fps, vb, ar, ab) behind an engine refusal; "f" when none is."""
    return next((name for suffix, name in PLAN_FIELDS if error.field.endswith(suffix)), "f")


def joined_window(plan: TranscodePlan, window: Clip) -> TranscodePlan:
    """The plan with the joined video cut to `window` (video/concat's own ss / t), as output
    options: ffmpeg decodes what comes before and drops it."""
    if not window.start and not window.duration:
        return plan
    rest = max(plan.duration - window.start, 0.0)
    duration = min(rest, window.duration) if window.duration else rest
    cut = ("-ss", f"{window.start:g}", *(("-t", f"{window.duration:g}") if window.duration else ()))
    return replace(plan, output_args=(*cut, *plan.output_args), duration=duration)


async def run_conversion(rt: Runtime, model: OssModel, ns: str, task: dict[str, Any],
                         job: Conversion | Concat) -> int:
    """Make the output and store it; its size in bytes. TaskFailure when it cannot be made."""
    conversion = job.conversion if isinstance(job, Concat) else job
    if isinstance(job, Concat):
        parts, align = job.parts, job.align
    else:
        parts, align = (ConcatPart(None, job.clip.start, job.clip.duration),), 0
    paths, media = [], []
    for part in parts:
        key = part.key if part.key is not None else task["Object"]
        try:
            path = model.object_path(ns, task["Bucket"], key)
        except ServiceError:
            raise TaskFailure("NoSuchKey", f"The source object {key} does not exist.") from None
        try:
            media.append(await rt.pool.run(source_media, path))
        except MediaError as exc:
            raise TaskFailure("InvalidArgument", f"The source {key} is not audio or video that can be "
                              f"decoded: {exc}") from None
        if part.start and part.start >= media[-1].duration:
            raise TaskFailure("InvalidArgument", f"The parameter 'ss' ({part.start * 1000:g} ms) is beyond "
                              f"the end of {key} ({media[-1].duration * 1000:.0f} ms).")
        paths.append(path)
    clips = [Clip(i, part.start, part.duration) for i, part in enumerate(parts)]
    try:
        plan = plan_transcode(conversion.spec, media, clips, primary=align)
    except PlanError as exc:
        raise TaskFailure("InvalidArgument", f"The parameter {plan_parameter(exc)!r} cannot be met: "
                          f"{exc.message}") from None
    if isinstance(job, Concat):
        plan = joined_window(plan, conversion.clip)
    bucket, key = task["Target"][len("oss://"):].split("/", 1)
    rt.events.record(ns, SERVICE, task["TaskId"], "transcoding", sources=len(paths), **_summary(plan))
    with tempfile.TemporaryDirectory(prefix="oss-convert-", dir=rt.data_dir) as work:
        out = Path(work) / f"output.{conversion.spec.container}"
        command = plan.command(ffmpeg_exe(), [str(p) for p in paths], [], str(out))
        try:
            await rt.pool.run(run_command, command)
        except MediaError as exc:
            raise TaskFailure("InvalidArgument", f"The source could not be converted to "
                              f"{conversion.spec.container}: {exc}") from None
        if not out.is_file() or out.stat().st_size == 0:
            raise TaskFailure("InvalidArgument", "The conversion produced no output.")
        try:
            meta = model.put_file(ns, bucket, key, out, CONTAINER_CONTENT_TYPES[conversion.spec.container])
        except ServiceError as exc:
            raise TaskFailure(exc.code, f"The output {task['Target']} could not be written: "
                              f"{exc.message}") from None
    rt.events.record(ns, SERVICE, task["TaskId"], "output written", uri=task["Target"], size=meta.size)
    return meta.size


def _summary(plan: TranscodePlan) -> dict[str, Any]:
    return {"muxer": plan.muxer, "video": plan.video_codec, "audio": plan.audio_codec,
            "size": f"{plan.width}x{plan.height}" if plan.width else None, "fps": plan.fps or None,
            "duration": round(plan.duration, 3)}
