"""Running a `video/snapshots` or `video/sprite` task: sample the source's frames
(emulator.media.plan, as IMM's Snapshots and Sprites do), render them as images or sprite sheets
in the worker pool, then store them at the names snapshot_params gives. Nothing is stored unless
every image was made."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from emulator.core.errors import ServiceError
from emulator.core.runtime import Runtime
from emulator.media.ffmpeg import MediaError
from emulator.media.plan import IMAGE_CONTENT_TYPES, SourceFrames, Window, plan_sampling
from emulator.media.render import render_images
from emulator.media.timeline import source_frames
from emulator.services.oss.async_convert import TaskFailure
from emulator.services.oss.model import OssModel
from emulator.services.oss.snapshot_params import (
    MAX_SHEET_SIDE,
    Snapshots,
    Sprite,
    sheet_size,
    snapshot_geometry,
    snapshot_keys,
)

SERVICE = "oss"
MAX_IMAGES = 1000


async def source_video(rt: Runtime, model: OssModel, ns: str,
                       task: dict[str, Any]) -> tuple[Path, SourceFrames]:
    """The task's source object and its frame timeline; TaskFailure when it is gone or no video."""
    try:
        path = model.object_path(ns, task["Bucket"], task["Object"])
    except ServiceError:
        raise TaskFailure("NoSuchKey", "The source object does not exist any more.") from None
    try:
        return path, await rt.pool.run(source_frames, path)
    except MediaError as exc:
        raise TaskFailure("InvalidArgument", f"The source is not a video that can be decoded: {exc}") \
            from None


async def run_snapshots(rt: Runtime, model: OssModel, ns: str, task: dict[str, Any],
                        operation: Snapshots | Sprite) -> int:
    """Make the images (or sheets) and store them; their total size in bytes. The URIs written go
    in task["Outputs"]. TaskFailure when they cannot be made."""
    sprite = operation if isinstance(operation, Sprite) else None
    op = sprite.images if sprite else operation
    assert isinstance(op, Snapshots)
    path, frames = await source_video(rt, model, ns, task)
    plan = plan_sampling([frames], [Window(0, op.ss_ms / 1000)], 0.0, op.inter_ms / 1000 or None, op.num,
                         mode=sprite.mode if sprite else "interval", parts=rt.pool.size)
    if not plan.frames:
        raise TaskFailure("InvalidArgument", "The parameter 'ss' is beyond the end of the video.")
    if len(plan.frames) > MAX_IMAGES:
        raise TaskFailure("InvalidArgument", f"The snapshots would be {len(plan.frames)} images; the "
                          f"emulator makes at most {MAX_IMAGES}: raise inter or set num.")
    geometry = snapshot_geometry(op, frames.width, frames.height)
    if sprite and max(sheet_size(sprite.tile, geometry.out_w, geometry.out_h)) > MAX_SHEET_SIDE:
        size = "x".join(map(str, sheet_size(sprite.tile, geometry.out_w, geometry.out_h)))
        raise TaskFailure("InvalidArgument", f"The sprite would be {size}: at most {MAX_SHEET_SIDE} px a "
                          f"side; lower tw, th or the image size.")
    bucket, key = task["Target"][len("oss://"):].split("/", 1)
    rt.events.record(ns, SERVICE, task["TaskId"], "rendering", frames=len(plan.frames),
                     size=f"{geometry.out_w}x{geometry.out_h}")
    with tempfile.TemporaryDirectory(prefix="oss-snapshots-", dir=rt.data_dir) as work:
        try:
            rendered = await rt.pool.run(render_images, [path], plan, geometry, op.fmt, Path(work),
                                         sprite.tile if sprite else None, None, rt.pool.size)
        except MediaError as exc:
            raise TaskFailure("InvalidArgument", f"The video could not be captured: {exc}") from None
        keys = snapshot_keys(key, op.fmt, len(rendered.files))
        total, outputs = 0, []
        for file, name in zip(rendered.files, keys, strict=True):
            try:
                meta = model.put_file(ns, bucket, name, file, IMAGE_CONTENT_TYPES[op.fmt])
            except ServiceError as exc:
                raise TaskFailure(exc.code, f"The output oss://{bucket}/{name} could not be written: "
                                  f"{exc.message}") from None
            total += meta.size
            outputs.append(f"oss://{bucket}/{name}")
    task["Outputs"] = list(dict.fromkeys(outputs))  # one name written over and over is one output
    rt.events.record(ns, SERVICE, task["TaskId"], "output written", uri=outputs[0], images=len(outputs),
                     size=total)
    return total
