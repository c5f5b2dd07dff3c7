"""`video/snapshots` and `video/sprite` (x-oss-async-process): frames from `ss` every `inter` ms
(0: every source frame), at most `num` (0: to the end), as jpg / png images of `w` x `h` (or
`pw` / `ph` percent of the source) fitted by `scaletype`; a sprite lays them out `tw` x `th` per
sheet (small images `sw` x `sh` / `psw` / `psh`, `pad` between them, `margin` around), sampled by
`m` (inter, key, avg). Parsed and checked before a task exists; the output geometry and object
names are computed here as plain data. No HTTP, no ffmpeg.

Naming (the OSS page): a sys/saveas object without an extension gets a sequence number per
image (`out/shot` -> `out/shot_0_1.jpg`, `out/shot_0_2.jpg`, ...); with an extension every image
is written to that one name, so only the last one is kept."""

from __future__ import annotations

import re
from dataclasses import dataclass

from emulator.media.plan import SCALE_TYPES, Geometry, output_geometry
from emulator.services.oss.process import _choice, _Params, _split_action, invalid_argument, missing_argument

MAX_MS = 2**31 - 1
MAX_SHEET_SIDE = 16_384
SPRITE_MODES = {"inter": "interval", "key": "keyframe", "avg": "average"}
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


@dataclass(frozen=True)
class Sprite:
    images: Snapshots  # the small images: sampling, size, format
    mode: str = "interval"  # interval | keyframe | average (plan.SAMPLING_MODES)
    tile: tuple[int, int, int, int] = (6, 6, 2, 2)  # columns, rows, pad, margin (IMM's defaults)


def _format(p: _Params, operation: str) -> str:
    fmt = _choice(p, "f", ("jpg", "png"), "")
    if not fmt:
        raise missing_argument(f"{operation} needs the parameter 'f' (jpg or png).")
    return fmt


def parse_snapshots(text: str) -> Snapshots:
    """`text` is the action and its parameters ("snapshots,f_jpg,inter_1000,...")."""
    p = _split_action(text)
    op = Snapshots(_format(p, "video/snapshots"), ss_ms=p.int("ss", 0, MAX_MS, 0) or 0,
                   num=p.int("num", 0, 100_000, 0) or 0, inter_ms=p.int("inter", 0, MAX_MS, 0) or 0,
                   w=p.int("w", 32, 4096), h=p.int("h", 32, 4096), pw=p.int("pw", 1, 200),
                   ph=p.int("ph", 1, 200), scale_type=_choice(p, "scaletype", SCALE_TYPES, "stretch"))
    p.done()
    return op


def parse_sprite(text: str) -> Sprite:
    """`text` is the action and its parameters ("sprite,f_jpg,sw_100,tw_10,...")."""
    p = _split_action(text)
    fmt = _format(p, "video/sprite")
    mode = p.take("m") or "inter"
    if mode == "dhash":
        raise invalid_argument("The parameter 'm' of sprite: dhash is not supported by the emulator "
                               "(inter, key, avg are).")
    if mode not in SPRITE_MODES:
        raise invalid_argument(f"The value of 'm' of sprite must be one of inter, key, avg, dhash, "
                               f"not {mode!r}.")
    p.int("thr", 0, 100)  # the dhash threshold: checked, nothing else uses it
    images = Snapshots(fmt, ss_ms=p.int("ss", 0, MAX_MS, 0) or 0, num=p.int("num", 0, 100_000, 0) or 0,
                       inter_ms=p.int("inter", 0, MAX_MS, 0) or 0, w=p.int("sw", 32, 4096),
                       h=p.int("sh", 32, 4096), pw=p.int("psw", 1, 200), ph=p.int("psh", 1, 200),
                       scale_type=_choice(p, "scaletype", SCALE_TYPES, "stretch"))
    if mode == "avg" and not images.num:
        raise invalid_argument("The parameter 'num' of sprite must be above 0 with m_avg.")
    tile = (p.int("tw", 1, 100, 6) or 6, p.int("th", 1, 100, 6) or 6, p.int("pad", 0, 1000, 2) or 0,
            p.int("margin", 0, 1000, 2) or 0)
    p.done()
    return Sprite(images, SPRITE_MODES[mode], tile)


def sheet_size(tile: tuple[int, int, int, int], width: int, height: int) -> tuple[int, int]:
    """A full sheet of `width` x `height` images."""
    columns, rows, pad, margin = tile
    return (columns * width + (columns - 1) * pad + 2 * margin,
            rows * height + (rows - 1) * pad + 2 * margin)


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

