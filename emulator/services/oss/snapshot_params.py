"""`video/snapshots` (x-oss-async-process): frames from `ss` every `inter` ms (0: every source
frame), at most `num` (0: to the end), as jpg / png images of `w` x `h` (or `pw` / `ph` percent of
the source) fitted by `scaletype`. Parsed and checked before a task exists; the output geometry
and object names are computed here as plain data. No HTTP, no ffmpeg.

Naming (the OSS page): a sys/saveas object without an extension gets a sequence number per
image (`out/shot` -> `out/shot_0_1.jpg`, `out/shot_0_2.jpg`, ...); with an extension every image
is written to that one name, so only the last one is kept."""

from __future__ import annotations

import re
from dataclasses import dataclass

from emulator.media.plan import SCALE_TYPES, Geometry, output_geometry
from emulator.services.oss.process import _choice, _split_action, missing_argument

MAX_MS = 2**31 - 1
_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,8}$")


@dataclass(frozen=True)
class Snapshots:
    fmt: str  # jpg | png
    ss_ms: int = 0
    num: int = 0  # 0: to the end
    inter_ms: int = 0  # 0: every source frame
    w: int | None = None
    h: int | None = None
    pw: int | None = None  # percent of the source's width, when w is not given
    ph: int | None = None
    scale_type: str = "stretch"


def parse_snapshots(text: str) -> Snapshots:
    """`text` is the action and its parameters ("snapshots,f_jpg,inter_1000,...")."""
    p = _split_action(text)
    fmt = _choice(p, "f", ("jpg", "png"), "")
    if not fmt:
        raise missing_argument("video/snapshots needs the parameter 'f' (jpg or png).")
    op = Snapshots(fmt, ss_ms=p.int("ss", 0, MAX_MS, 0) or 0, num=p.int("num", 0, 100_000, 0) or 0,
                   inter_ms=p.int("inter", 0, MAX_MS, 0) or 0, w=p.int("w", 32, 4096), h=p.int("h", 32, 4096),
                   pw=p.int("pw", 1, 200), ph=p.int("ph", 1, 200),
                   scale_type=_choice(p, "scaletype", SCALE_TYPES, "stretch"))
    p.done()
    return op


def snapshot_geometry(op: Snapshots, src_w: int, src_h: int) -> Geometry:
    """w / h win over pw / ph; a side given neither keeps the source's aspect ratio (inferred)."""
    width = op.w or (max(1, round(src_w * op.pw / 100)) if op.pw else None)
    height = op.h or (max(1, round(src_h * op.ph / 100)) if op.ph else None)
    return output_geometry(src_w, src_h, width, height, op.scale_type)


def snapshot_keys(key: str, fmt: str, count: int) -> list[str]:
    """The object each of `count` images is written to, in order."""
    if _EXTENSION.search(key.rsplit("/", 1)[-1]):
        return [key] * count
    return [f"{key}_0_{n}.{fmt}" for n in range(1, count + 1)]

