"""OSS data processing rules: `x-oss-process` strings parsed into plans (typed operations), the
geometry each operation computes, `sys/saveas` targets, and the errors OSS answers. No HTTP, no
pixels: everything here is checked by unit tests without images.

    image/resize,m_fill,w_100,h_100/rotate,90/format,webp   ImageJob((Resize, Rotate, Format))
    video/snapshot,t_1000,f_jpg,w_320,m_fast                SnapshotJob
    style/<name>                                            StyleRef (expanded by the caller)

Inside an action, key-value pairs may come in any order and a later duplicate overrides an earlier
one (OSS "key rules for image processing"); the actions run left to right.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field

from emulator.core.errors import ServiceError

# Limits from the OSS image-processing pages (source and resized images).
MAX_SOURCE_BYTES = 20 * 1024 * 1024
MAX_SOURCE_SIDE = 30_000
MAX_SOURCE_PIXELS = 250_000_000
MAX_OUTPUT_SIDE = 16_384
MAX_OUTPUT_PIXELS = 4096 * 4096
MAX_ROTATE_SIDE = 4096
MAX_WEBP_SIDE = 16_383
MAX_STYLES_PER_BUCKET = 50
IMAGE_FORMATS = ("jpg", "png", "webp", "bmp", "gif", "tiff")
GRAVITIES = ("nw", "north", "ne", "west", "center", "east", "sw", "south", "se")
RESIZE_MODES = ("lfit", "mfit", "fill", "pad", "fixed")
# Processing families OSS has that the emulator does not serve (answered NotImplemented).
UNSERVED_FAMILIES = ("audio", "doc", "hls", "csv", "json", "video/info")


# ---- errors (OSS IMG error codes: InvalidArgument, BadRequest, MissingArgument, ImageTooLarge,
# WatermarkError, NoSuchStyle; all 400 but NoSuchStyle) ------------------------------------------

def invalid_argument(message: str, ec: str = "0040-00000400") -> ServiceError:
    return ServiceError(400, "InvalidArgument", message, EC=ec)


def missing_argument(message: str) -> ServiceError:
    return ServiceError(400, "MissingArgument", message, EC="0040-00000322")


def not_an_image() -> ServiceError:
    return ServiceError(400, "BadRequest", "This image format is not supported.", EC="0040-00000005")


def image_too_large(message: str) -> ServiceError:
    return ServiceError(400, "ImageTooLarge", message, EC="0040-00000009")


def crop_outside() -> ServiceError:
    return ServiceError(400, "BadRequest", "Advance cut's position is out of image.")


def watermark_error(message: str) -> ServiceError:
    return ServiceError(400, "WatermarkError", message, EC="0040-00000150")


def no_such_style(name: str) -> ServiceError:
    return ServiceError(404, "NoSuchStyle", "The specified style does not exist.", StyleName=name)


def not_served(what: str) -> ServiceError:
    # 400 NotImplemented: oss2 maps it to oss2.exceptions.NotImplemented (a 501 would not be).
    return ServiceError(400, "NotImplemented", f"The emulator does not serve {what!r} processing.")


def bad_video(message: str) -> ServiceError:
    return ServiceError(400, "InvalidArgument", message, EC="0040-00000500")


# ---- operations ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Resize:
    mode: str = "lfit"
    w: int | None = None
    h: int | None = None
    l: int | None = None  # noqa: E741 - OSS's own name: the longer side
    s: int | None = None
    p: int | None = None
    limit: bool = True  # do not enlarge
    color: str = "FFFFFF"


@dataclass(frozen=True)
class Crop:
    w: int = 0  # 0: to the image's edge
    h: int = 0
    x: int = 0
    y: int = 0
    g: str = "nw"


@dataclass(frozen=True)
class IndexCrop:
    axis: str  # "x" (vertical slices of width `size`) | "y" (horizontal slices)
    size: int
    index: int = 0


@dataclass(frozen=True)
class Circle:
    r: int


@dataclass(frozen=True)
class RoundedCorners:
    r: int


@dataclass(frozen=True)
class Rotate:
    degrees: int  # clockwise


@dataclass(frozen=True)
class AutoOrient:
    on: bool


@dataclass(frozen=True)
class Flip:
    direction: int  # 0 vertical (top-bottom), 1 horizontal (left-right), 2 both


@dataclass(frozen=True)
class Blur:
    r: int
    s: int


@dataclass(frozen=True)
class Bright:
    value: int


@dataclass(frozen=True)
class Contrast:
    value: int


@dataclass(frozen=True)
class Sharpen:
    value: int


@dataclass(frozen=True)
class Watermark:
    text: str | None = None
    image: str | None = None  # object key, possibly with "?x-oss-process=..." of its own
    image_percent: int | None = None  # P: the watermark's size in % of the main image
    font: str = "wqy-zenhei"
    color: str = "000000"
    size: int = 40
    shadow: int = 0
    rotate: int = 0
    fill: bool = False
    t: int = 100  # opacity %
    g: str = "se"
    x: int = 10
    y: int = 10
    voffset: int = 0


@dataclass(frozen=True)
class Format:
    name: str


@dataclass(frozen=True)
class Quality:
    value: int
    absolute: bool  # Q_ (absolute) or q_ (relative to the source's quality)


@dataclass(frozen=True)
class Interlace:
    on: bool


@dataclass(frozen=True)
class Info:
    pass


@dataclass(frozen=True)
class AverageHue:
    pass


ImageOp = (Resize | Crop | IndexCrop | Circle | RoundedCorners | Rotate | AutoOrient | Flip | Blur | Bright
           | Contrast | Sharpen | Watermark | Format | Quality | Interlace | Info | AverageHue)


@dataclass(frozen=True)
class ImageJob:
    ops: tuple[ImageOp, ...]

    @property
    def reports(self) -> bool:
        """True when the answer is JSON about the image (info, average-hue), not an image."""
        return len(self.ops) == 1 and isinstance(self.ops[0], (Info, AverageHue))

    @property
    def watermark_objects(self) -> list[str]:
        return [op.image.split("?", 1)[0] for op in self.ops if isinstance(op, Watermark) and op.image]


@dataclass(frozen=True)
class SnapshotJob:
    t_ms: int
    fmt: str  # jpg | png
    w: int = 0
    h: int = 0
    fast: bool = False
    rotate: str = "auto"  # ar_: auto | w | h


@dataclass(frozen=True)
class StyleRef:
    name: str


Job = ImageJob | SnapshotJob | StyleRef


@dataclass(frozen=True)
class SaveAs:
    key: str
    bucket: str | None = None  # None: the source's bucket


# ---- parsing ---------------------------------------------------------------------------------

_INT = re.compile(r"^-?\d{1,9}$")
_HEX_COLOR = re.compile(r"^[0-9A-Fa-f]{6}$")
_STYLE_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


@dataclass
class _Params:
    """An action's `k_v` pairs; `take` marks a key as understood so leftovers can be refused."""

    action: str
    pairs: dict[str, str]
    bare: list[str] = field(default_factory=list)  # values without a key (rotate,90)

    def take(self, key: str) -> str | None:
        return self.pairs.pop(key, None)

    def int(self, key: str, low: int, high: int, default: int | None = None) -> int | None:
        raw = self.take(key)
        if raw is None:
            return default
        return _ranged(self.action, key, raw, low, high)

    def done(self) -> None:
        if self.pairs or self.bare:
            name = next(iter(self.pairs), None) or self.bare[0]
            raise invalid_argument(f"The parameter {name!r} of {self.action} is not supported.")


# EC values of the OSS error pages for a bad parameter value (action, key); "value" is the
# action's bare value (rotate,90).
_PARAMETER_EC = {("resize", "m"): "0040-00000311", ("resize", "w"): "0040-00000312",
                 ("resize", "s"): "0040-00000315", ("resize", "p"): "0040-00000317",
                 ("crop", "w"): "0040-00000225", ("crop", "h"): "0040-00000226",
                 ("indexcrop", "i"): "0040-00000229", ("indexcrop", "x"): "0040-00000230",
                 ("indexcrop", "y"): "0040-00000230", ("auto-orient", "value"): "0040-00000215",
                 ("rotate", "value"): "0040-00000217", ("bright", "value"): "0040-00000246"}


def _ranged(action: str, key: str, raw: str, low: int, high: int) -> int:
    if not _INT.match(raw) or not low <= int(raw) <= high:
        raise invalid_argument(f"The value of {key!r} of {action} must be an integer in "
                               f"[{low}, {high}], not {raw!r}.",
                               _PARAMETER_EC.get((action, key), "0040-00000400"))
    return int(raw)


def _split_action(segment: str) -> _Params:
    action, *items = segment.split(",")
    pairs: dict[str, str] = {}
    bare: list[str] = []
    for item in items:
        key, sep, value = item.partition("_")
        if sep and key and re.match(r"^[A-Za-z]+$", key):
            pairs[key] = value  # a later duplicate overrides
        else:
            bare.append(item)
    return _Params(action, pairs, bare)


def decode_b64url(value: str, what: str) -> str:
    """URL-safe base64 (padding optional) of UTF-8 text."""
    try:
        text = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise invalid_argument(f"The {what} is not URL-safe base64 encoded.") from exc
    if not text or re.search(r"[+/]", value):
        raise invalid_argument(f"The {what} is not URL-safe base64 encoded.")
    return text


def _color(params: _Params, key: str, default: str) -> str:
    raw = params.take(key)
    if raw is None:
        return default
    if not _HEX_COLOR.match(raw):
        raise invalid_argument(f"The value of {key!r} of {params.action} must be an RGB hex color "
                               f"such as FF0000, not {raw!r}.")
    return raw.upper()


def _choice(params: _Params, key: str, allowed: tuple[str, ...], default: str) -> str:
    raw = params.take(key)
    if raw is None:
        return default
    if raw not in allowed:
        raise invalid_argument(f"The value of {key!r} of {params.action} must be one of "
                               f"{', '.join(allowed)}, not {raw!r}.",
                               _PARAMETER_EC.get((params.action, key), "0040-00000400"))
    return raw


def _single_value(params: _Params, low: int, high: int) -> int:
    """Actions written `action,<value>` (rotate,90; bright,50)."""
    if len(params.bare) != 1 or params.pairs:
        raise invalid_argument(f"{params.action} takes one value: {params.action},<{low}..{high}>.")
    value = _ranged(params.action, "value", params.bare.pop(), low, high)
    return value


def _resize(p: _Params) -> Resize:
    op = Resize(mode=_choice(p, "m", RESIZE_MODES, "lfit"),
                w=p.int("w", 1, MAX_OUTPUT_SIDE), h=p.int("h", 1, MAX_OUTPUT_SIDE),
                l=p.int("l", 1, MAX_OUTPUT_SIDE), s=p.int("s", 1, MAX_OUTPUT_SIDE),
                p=p.int("p", 1, 1000), limit=bool(p.int("limit", 0, 1, 1)),
                color=_color(p, "color", "FFFFFF"))
    if not any((op.w, op.h, op.l, op.s, op.p)):
        raise missing_argument("The resize action needs at least one of w, h, l, s, p.")
    return op


def _crop(p: _Params) -> Crop:
    return Crop(w=p.int("w", 0, MAX_OUTPUT_SIDE, 0), h=p.int("h", 0, MAX_OUTPUT_SIDE, 0),
                x=p.int("x", 0, MAX_SOURCE_SIDE, 0), y=p.int("y", 0, MAX_SOURCE_SIDE, 0),
                g=_choice(p, "g", GRAVITIES, "nw"))


def _indexcrop(p: _Params) -> IndexCrop:
    x, y = p.int("x", 1, MAX_SOURCE_SIDE), p.int("y", 1, MAX_SOURCE_SIDE)
    if (x is None) == (y is None):
        raise invalid_argument("indexcrop takes exactly one of x and y.", "0040-00000230")
    return IndexCrop("x" if x else "y", x or y or 0, p.int("i", 0, MAX_SOURCE_SIDE, 0) or 0)


def _watermark(p: _Params) -> Watermark:
    text = p.take("text")
    image = p.take("image")
    if text is None and image is None:
        raise missing_argument("The watermark action needs text or image.")
    font = p.take("type")
    return Watermark(
        text=decode_b64url(text, "watermark text") if text is not None else None,
        image=decode_b64url(image, "watermark image") if image is not None else None,
        image_percent=p.int("P", 1, 100),
        font=decode_b64url(font, "watermark font") if font is not None else "wqy-zenhei",
        color=_color(p, "color", "000000"), size=p.int("size", 1, 1000, 40) or 40,
        shadow=p.int("shadow", 0, 100, 0) or 0, rotate=p.int("rotate", 0, 360, 0) or 0,
        fill=bool(p.int("fill", 0, 1, 0)), t=p.int("t", 0, 100, 100) or 0,
        g=_choice(p, "g", GRAVITIES, "se"), x=p.int("x", 0, 4096, 10) or 0,
        y=p.int("y", 0, 4096, 10) or 0, voffset=p.int("voffset", -1000, 1000, 0) or 0)


def _quality(p: _Params) -> Quality:
    relative, absolute = p.int("q", 1, 100), p.int("Q", 1, 100)
    if relative is None and absolute is None:
        raise missing_argument("The quality action needs q or Q.")
    return Quality(absolute if absolute is not None else relative or 0, absolute is not None)


def _format(p: _Params) -> Format:
    if len(p.bare) != 1 or p.pairs:
        raise invalid_argument("format takes one value: format,<jpg|png|webp|bmp|gif|tiff>.",
                               "0040-00000206")
    name = p.bare.pop().lower()
    name = "jpg" if name == "jpeg" else name
    if name in ("heic", "avif"):
        raise not_served(f"image/format,{name}")
    if name not in IMAGE_FORMATS:
        raise invalid_argument(f"The format {name!r} is not supported; use one of "
                               f"{', '.join(IMAGE_FORMATS)}.", "0040-00000206")
    return Format(name)


def _no_value(p: _Params, op: ImageOp) -> ImageOp:
    p.done()
    return op


def _image_action(segment: str) -> ImageOp:
    p = _split_action(segment)
    a = p.action
    op: ImageOp
    if a == "resize":
        op = _resize(p)
    elif a == "crop":
        op = _crop(p)
    elif a == "indexcrop":
        op = _indexcrop(p)
    elif a == "circle":
        op = Circle(p.int("r", 1, 4096) or _missing(a, "r"))
    elif a == "rounded-corners":
        op = RoundedCorners(p.int("r", 1, 4096) or _missing(a, "r"))
    elif a == "rotate":
        op = Rotate(_single_value(p, 0, 360))
    elif a == "auto-orient":
        op = AutoOrient(bool(_single_value(p, 0, 1)))
    elif a == "flip":
        op = Flip(_single_value(p, 0, 2))
    elif a == "blur":
        op = Blur(p.int("r", 1, 50) or _missing(a, "r"), p.int("s", 1, 50) or _missing(a, "s"))
    elif a == "bright":
        op = Bright(_single_value(p, -100, 100))
    elif a == "contrast":
        op = Contrast(_single_value(p, -100, 100))
    elif a == "sharpen":
        op = Sharpen(_single_value(p, 50, 399))
    elif a == "watermark":
        op = _watermark(p)
    elif a == "format":
        op = _format(p)
    elif a == "quality":
        op = _quality(p)
    elif a == "interlace":
        op = Interlace(bool(_single_value(p, 0, 1)))
    elif a == "info":
        return _no_value(p, Info())
    elif a == "average-hue":
        return _no_value(p, AverageHue())
    elif a in ("faces", "bodies", "cars", "labels", "codes", "blindwatermark", "super-resolution"):
        raise not_served(f"image/{a}")
    else:
        raise invalid_argument(f"The image action {a!r} is not supported.", "0040-00000201")
    p.done()
    return op


def _missing(action: str, key: str) -> int:
    raise missing_argument(f"The {action} action needs the parameter {key!r}.")


def parse_image(text: str) -> ImageJob:
    """`resize,w_100/rotate,90` (the part after `image/`)."""
    segments = text.split("/")
    if not text or any(not s for s in segments):
        raise invalid_argument("The image process has an empty action.", "0040-00000201")
    ops = tuple(_image_action(s) for s in segments)
    if any(isinstance(op, (Info, AverageHue)) for op in ops) and len(ops) > 1:
        raise invalid_argument("info and average-hue cannot be combined with other actions.")
    return ImageJob(ops)


def parse_snapshot(text: str) -> SnapshotJob:
    p = _split_action(text)
    if p.action != "snapshot":
        raise not_served(f"video/{p.action}")
    t = p.int("t", 0, 2**31 - 1)
    if t is None:
        raise missing_argument("The snapshot action needs the parameter 't' (milliseconds).")
    fmt = _choice(p, "f", ("jpg", "png"), "")
    if not fmt:
        raise missing_argument("The snapshot action needs the parameter 'f' (jpg or png).")
    job = SnapshotJob(t, fmt, p.int("w", 0, MAX_OUTPUT_SIDE, 0) or 0, p.int("h", 0, MAX_OUTPUT_SIDE, 0) or 0,
                      _choice(p, "m", ("fast",), "") == "fast", _choice(p, "ar", ("auto", "w", "h"), "auto"))
    p.done()
    return job


def parse(text: str) -> Job:
    """One `x-oss-process` value (without `|sys/...`)."""
    family, sep, rest = text.partition("/")
    if family == "image" and sep:
        return parse_image(rest)
    if family == "video" and sep:
        if rest.split(",", 1)[0] == "info":
            raise not_served("video/info")
        return parse_snapshot(rest)
    if family == "style" and sep:
        if not _STYLE_NAME.match(rest):
            raise invalid_argument(f"The style name {rest!r} is not valid.")
        return StyleRef(rest)
    if any(text == f or text.startswith(f + "/") for f in UNSERVED_FAMILIES):
        raise not_served(text.split(",", 1)[0])
    raise invalid_argument(f"The process {text[:64]!r} is not supported: it must start with image/, "
                           "video/ or style/.", "0040-00000200")


def check_style(name: str, content: str) -> None:
    """PutStyle: a valid name and image processing content."""
    if not _STYLE_NAME.match(name):
        raise invalid_argument(f"The style name {name!r} is not valid.")
    if not content.startswith("image/"):
        raise invalid_argument("A style's content must be image processing (image/...).")
    parse(content)


def parse_post_body(body: bytes) -> tuple[str, SaveAs | None]:
    """ProcessObject's body `x-oss-process=<ops>[|sys/saveas,o_<b64>,b_<b64>]`. The SDKs send it
    without percent-encoding, so it is split at the first `=` and the `|`s."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise invalid_argument("The process body is not UTF-8.") from exc
    name, sep, value = text.strip().partition("=")
    if name != "x-oss-process" or not sep or not value:
        raise missing_argument("The body must be x-oss-process=<process>.")
    process, *systems = value.split("|")
    save: SaveAs | None = None
    for system in systems:
        p = _split_action(system)
        if p.action != "sys/saveas":
            raise invalid_argument(f"The system action {p.action!r} is not supported.")
        if save is not None:
            raise invalid_argument("sys/saveas may be given once.")
        key, bucket = p.take("o"), p.take("b")
        if key is None:
            raise missing_argument("sys/saveas needs the parameter 'o' (the target object).")
        p.done()
        save = SaveAs(decode_b64url(key, "saveas object name"),
                      decode_b64url(bucket, "saveas bucket name") if bucket is not None else None)
    return process, save


# ---- geometry (pure) -------------------------------------------------------------------------

@dataclass(frozen=True)
class ResizeGeometry:
    """Scale the image to scale_w x scale_h, then centre-crop (fill) or centre-pad (pad) to
    out_w x out_h. `unchanged`: limit_1 and the target is larger than the source."""

    scale_w: int
    scale_h: int
    out_w: int
    out_h: int
    unchanged: bool = False


def _side(value: float) -> int:
    return max(1, int(round(value)))


def resize_geometry(src_w: int, src_h: int, op: Resize) -> ResizeGeometry:
    w, h = op.w, op.h
    if w is None and h is None and (op.l or op.s):
        long_w = src_w >= src_h
        w, h = (op.l, op.s) if long_w else (op.s, op.l)
    if w is None and h is None:  # p alone
        factor = (op.p or 100) / 100
        out_w, out_h = _side(src_w * factor), _side(src_h * factor)
        return _limited(src_w, src_h, ResizeGeometry(out_w, out_h, out_w, out_h), op.limit)
    if op.mode == "fixed":
        out_w = w if w is not None else _side(src_w * (h or 1) / src_h)
        out_h = h if h is not None else _side(src_h * (w or 1) / src_w)
        geometry = ResizeGeometry(out_w, out_h, out_w, out_h)
    else:
        factors = [f for f in ((w / src_w) if w else None, (h / src_h) if h else None) if f]
        cover = op.mode in ("mfit", "fill")
        factor = (max if cover else min)(factors)
        scale_w, scale_h = _side(src_w * factor), _side(src_h * factor)
        if op.mode in ("fill", "pad") and w and h:
            if cover:  # never smaller than the box after rounding
                scale_w, scale_h = max(scale_w, w), max(scale_h, h)
            else:
                scale_w, scale_h = min(scale_w, w), min(scale_h, h)
            geometry = ResizeGeometry(scale_w, scale_h, w, h)
        else:
            geometry = ResizeGeometry(scale_w, scale_h, scale_w, scale_h)
    if op.p and (op.w or op.h or op.l or op.s):
        factor = op.p / 100
        geometry = ResizeGeometry(_side(geometry.scale_w * factor), _side(geometry.scale_h * factor),
                                  _side(geometry.out_w * factor), _side(geometry.out_h * factor))
    return _limited(src_w, src_h, geometry, op.limit)


def _limited(src_w: int, src_h: int, geometry: ResizeGeometry, limit: bool) -> ResizeGeometry:
    if limit and (geometry.scale_w > src_w or geometry.scale_h > src_h):
        return ResizeGeometry(src_w, src_h, src_w, src_h, unchanged=True)
    if geometry.out_w > MAX_OUTPUT_SIDE or geometry.out_h > MAX_OUTPUT_SIDE \
            or geometry.out_w * geometry.out_h > MAX_OUTPUT_PIXELS:
        raise invalid_argument(f"The resized image would be {geometry.out_w}x{geometry.out_h}: at most "
                               f"{MAX_OUTPUT_SIDE} px a side and {MAX_OUTPUT_PIXELS} pixels.",
                               "0040-00000007")
    return geometry


def crop_box(src_w: int, src_h: int, op: Crop) -> tuple[int, int, int, int]:
    """(left, top, right, bottom). The gravity picks the top-left corner of one of the nine cells
    of a 3x3 grid as the origin; x, y move from there; a box past the edge is cut at the edge."""
    column = {"nw": 0, "west": 0, "sw": 0, "north": 1, "center": 1, "south": 1}.get(op.g, 2)
    row = {"nw": 0, "north": 0, "ne": 0, "west": 1, "center": 1, "east": 1}.get(op.g, 2)
    left, top = src_w * column // 3 + op.x, src_h * row // 3 + op.y
    if left >= src_w or top >= src_h:
        raise crop_outside()
    right = src_w if op.w == 0 else min(src_w, left + op.w)
    bottom = src_h if op.h == 0 else min(src_h, top + op.h)
    return left, top, right, bottom


def index_crop_box(src_w: int, src_h: int, op: IndexCrop) -> tuple[int, int, int, int] | None:
    """The `index`th slice; None when there is no such slice (OSS then returns the image whole)."""
    length = src_w if op.axis == "x" else src_h
    start = op.index * op.size
    if start >= length:
        return None
    end = min(length, start + op.size)
    return (start, 0, end, src_h) if op.axis == "x" else (0, start, src_w, end)


def circle_radius(src_w: int, src_h: int, r: int) -> int:
    """A radius larger than half the shorter side is cut to it."""
    return max(1, min(r, min(src_w, src_h) // 2))


def rotated_size(src_w: int, src_h: int, degrees: int) -> tuple[int, int]:
    """The canvas after a clockwise rotation that keeps the whole image."""
    import math

    radians = math.radians(degrees % 360)
    cos, sin = abs(math.cos(radians)), abs(math.sin(radians))
    if degrees % 90 == 0:
        return (src_h, src_w) if degrees % 180 else (src_w, src_h)
    return int(math.ceil(src_w * cos + src_h * sin - 1e-9)), int(math.ceil(src_w * sin + src_h * cos - 1e-9))


def check_source(size_bytes: int, width: int, height: int, frames: int = 1) -> None:
    if size_bytes > MAX_SOURCE_BYTES:
        raise ServiceError(400, "ImageTooLarge", "The source image is larger than 20 MB.",
                           EC="0040-00000001")
    if max(width, height) > MAX_SOURCE_SIDE or width * height * frames > MAX_SOURCE_PIXELS:
        raise image_too_large(f"The source image is {width}x{height} ({frames} frames): at most "
                              f"{MAX_SOURCE_SIDE} px a side and {MAX_SOURCE_PIXELS} pixels.")


def relative_quality(source_quality: int | None, op: Quality) -> int:
    """q_ is a percentage of a JPEG source's quality; Q_ an absolute quality that does not
    exceed the source's. Without a known source quality both are absolute."""
    if source_quality is None:
        return op.value
    if op.absolute:
        return min(op.value, source_quality)
    return max(1, round(source_quality * op.value / 100))


# ---- x-oss-async-process ---------------------------------------------------------------------

ANIMATION_SCALE_TYPES = ("stretch", "crop", "fill", "fit")


@dataclass(frozen=True)
class Animation:
    """`video/animation`: frames from `ss` every `inter` ms (default: every source frame), at most
    `num` (0: to the end), played at `fps` (default 1000 / inter), w / h in [32, 4096]."""

    fmt: str  # gif | webp
    w: int | None = None
    h: int | None = None
    inter_ms: int | None = None
    fps: float | None = None
    num: int = 0
    ss_ms: int = 0
    scale_type: str = "stretch"


def parse_animation(text: str) -> Animation:
    p = _split_action(text)
    if p.action != "animation":
        raise not_served(f"video/{p.action}")
    fmt = _choice(p, "f", ("gif", "webp"), "")
    if not fmt:
        raise missing_argument("The animation action needs the parameter 'f' (gif or webp).")
    fps = p.int("fps", 1, 240)
    job = Animation(fmt, p.int("w", 32, 4096), p.int("h", 32, 4096), p.int("inter", 1, 2**31 - 1),
                    float(fps) if fps else None, p.int("num", 0, 100_000, 0) or 0,
                    p.int("ss", 0, 2**31 - 1, 0) or 0,
                    _choice(p, "scaletype", ANIMATION_SCALE_TYPES, "stretch"))
    p.done()
    return job


def async_body_parts(body: bytes) -> tuple[str, list[str]]:
    """`x-oss-async-process=<family>/<action>,...|sys/saveas,...`: the operation and the system
    actions after it (see async_jobs.parse_async_body)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise invalid_argument("The process body is not UTF-8.") from exc
    name, sep, value = text.strip().partition("=")
    if name != "x-oss-async-process" or not sep or not value:
        raise missing_argument("The body must be x-oss-async-process=<process>.")
    operation, *systems = value.split("|")
    return operation, systems


def parse_async_systems(systems: list[str]) -> tuple[SaveAs, str | None]:
    """`sys/saveas,o_..[,b_..][/notify,topic_<b64>]`: the target and the notify topic."""
    if len(systems) != 1:
        raise invalid_argument("Asynchronous processing needs one sys/saveas.")
    saveas, *extras = systems[0].split("/notify")
    if len(extras) > 1 or (extras and not extras[0].startswith(",")):
        raise invalid_argument("The notify action is written /notify,topic_<base64 topic name>.")
    _, save = parse_post_body(f"x-oss-process=x|{saveas}".encode())
    if save is None:
        raise invalid_argument("Asynchronous processing needs one sys/saveas.")
    topic = None
    if extras:
        p = _split_action("notify" + extras[0])
        raw = p.take("topic")
        if raw is None:
            raise missing_argument("notify needs the parameter 'topic'.")
        p.done()
        topic = decode_b64url(raw, "notify topic")
    return save, topic
