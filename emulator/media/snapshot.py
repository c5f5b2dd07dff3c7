"""OSS `video/snapshot`: which frame (planned from the source's frame timeline, no decoding) and
its size, then the frame extracted by the same reader IMM uses and encoded with Pillow. Blocking:
callers run `take_snapshot` in the worker pool."""

from __future__ import annotations

import io
import tempfile
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from emulator.media.plan import Geometry, SamplingPlan, SourceFrames, output_geometry, plan_reads
from emulator.media.render import extract_frames
from emulator.media.timeline import source_frames


@dataclass(frozen=True)
class SnapshotPlan:
    frame: int  # index into the source's frames
    geometry: Geometry


def plan_snapshot(frames: SourceFrames, t_ms: int, width: int = 0, height: int = 0,
                  fast: bool = False) -> SnapshotPlan:
    """The frame shown at t (the last frame when t is past the end); with `fast`, the keyframe at
    or before it. Width / height 0: derived from the other keeping the ratio; both 0: source size;
    both given: that size."""
    index = frames.frame_at(t_ms / 1000)
    if fast:
        index = frames.keyframe_before(index)
    geometry = output_geometry(frames.width, frames.height, width or None, height or None, "stretch")
    return SnapshotPlan(index, geometry)


def take_snapshot(path: Path, t_ms: int, fmt: str, width: int = 0, height: int = 0,
                  fast: bool = False, work_dir: Path | None = None) -> tuple[bytes, SnapshotPlan]:
    """The encoded frame (jpg / png) and the plan it followed. MediaError for a non-video."""
    frames = source_frames(path)
    plan = plan_snapshot(frames, t_ms, width, height, fast)
    reads = tuple(plan_reads([frames], [(0, plan.frame)]))
    sampling = SamplingPlan(((0, plan.frame),), (t_ms / 1000,), reads, frames.frame_gap, 0)
    g = plan.geometry
    with tempfile.TemporaryDirectory(prefix="snapshot-", dir=work_dir) as work:
        raw = b"".join(part.read_bytes() for part in extract_frames([path], sampling, g, Path(work)))
        image = Image.frombytes("RGB", (g.out_w, g.out_h), raw)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG" if fmt == "jpg" else "PNG", **({"quality": 90} if fmt == "jpg" else {}))
    return buffer.getvalue(), plan
