"""Running OSS image-processing plans with Pillow. Blocking: callers run `process_image` in the
worker pool. The plan (emulator.services.oss.process) decides every size and box; this module only
moves pixels and encodes.

Animated sources (GIF, animated WebP) keep every frame and its delay through resize, crop and
watermark into GIF / WebP, as OSS does; any other action makes them the still first frame.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageEnhance, ImageFilter, ImageFont

from emulator.services.oss import process as p

PILLOW_TO_OSS = {"JPEG": "jpg", "MPO": "jpg", "PNG": "png", "WEBP": "webp", "BMP": "bmp", "GIF": "gif",
                 "TIFF": "tiff"}
OSS_TO_PILLOW = {"jpg": "JPEG", "png": "PNG", "webp": "WEBP", "bmp": "BMP", "gif": "GIF", "tiff": "TIFF"}
CONTENT_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp", "bmp": "image/bmp",
                 "gif": "image/gif", "tiff": "image/tiff"}
# Formats without an alpha channel: transparent areas (circle, rounded corners, rotation) are white.
OPAQUE_FORMATS = ("jpg", "bmp")
DEFAULT_QUALITY = 85
# The libjpeg luminance table at quality 50, to estimate a JPEG's quality from its tables.
_STD_LUMINANCE = (16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57,
                  69, 56, 14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64,
                  81, 104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99)
# EXIF Orientation -> the transposition that shows the image upright.
EXIF_TRANSPOSE = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
                  4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
                  6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_90}
Image.MAX_IMAGE_PIXELS = p.MAX_SOURCE_PIXELS  # the plan checks sizes first; this is a backstop


@dataclass(frozen=True)
class Output:
    data: bytes
    content_type: str
    width: int = 0
    height: int = 0


@dataclass(frozen=True)
class WatermarkSource:
    """A watermark image object: its file and the processing its key asked for."""

    path: Path
    job: p.ImageJob | None


def jpeg_quality(image: Image.Image) -> int | None:
    """The libjpeg quality a JPEG was most likely saved with (None for other formats)."""
    tables = getattr(image, "quantization", None)
    if image.format not in ("JPEG", "MPO") or not tables or 0 not in tables:
        return None
    luminance = list(tables[0])
    scale = sum(q * 100 / s for q, s in zip(luminance, _STD_LUMINANCE, strict=False)) / len(luminance)
    quality = (200 - scale) / 2 if scale <= 100 else 5000 / scale
    return max(1, min(100, round(quality)))


def _open(path: Path) -> Image.Image:
    try:
        image = Image.open(path)
    except Image.DecompressionBombError as exc:
        raise p.image_too_large("The source image has more than 250 million pixels.") from exc
    except (OSError, ValueError) as exc:
        raise p.not_an_image() from exc
    if image.format not in PILLOW_TO_OSS:
        raise p.not_an_image()
    return image


def _source_checked(path: Path) -> tuple[Image.Image, str, int | None]:
    image = _open(path)
    p.check_source(path.stat().st_size, image.width, image.height, getattr(image, "n_frames", 1))
    quality = jpeg_quality(image)
    fmt = PILLOW_TO_OSS[image.format]
    try:
        image.load()
    except (OSError, ValueError, SyntaxError) as exc:
        raise p.not_an_image() from exc
    return image, fmt, quality


def _working(image: Image.Image) -> Image.Image:
    """RGBA when the image has transparency, else RGB."""
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    return image.convert("RGBA" if has_alpha else "RGB")


def _with_alpha(image: Image.Image) -> Image.Image:
    return image if image.mode == "RGBA" else image.convert("RGBA")


def _mask_shape(image: Image.Image, draw_shape) -> Image.Image:
    """Keep what `draw_shape(draw, w, h)` paints white; the rest becomes transparent. Drawn at 4x
    and reduced, so the edge is smooth."""
    big = Image.new("L", (image.width * 4, image.height * 4), 0)
    draw_shape(ImageDraw.Draw(big), big.width, big.height)
    mask = big.resize(image.size, Image.Resampling.LANCZOS)
    out = _with_alpha(image)
    out.putalpha(ImageChops.multiply(out.getchannel("A"), mask))
    return out


def _resize(image: Image.Image, op: p.Resize) -> Image.Image:
    g = p.resize_geometry(image.width, image.height, op)
    if g.unchanged:
        return image
    scaled = image.resize((g.scale_w, g.scale_h), Image.Resampling.LANCZOS)
    if (g.scale_w, g.scale_h) == (g.out_w, g.out_h):
        return scaled
    left, top = (g.scale_w - g.out_w) // 2, (g.scale_h - g.out_h) // 2
    if op.mode == "fill":
        return scaled.crop((left, top, left + g.out_w, top + g.out_h))
    color = tuple(int(op.color[i:i + 2], 16) for i in (0, 2, 4))
    canvas = Image.new(scaled.mode, (g.out_w, g.out_h), color + ((255,) if scaled.mode == "RGBA" else ()))
    canvas.paste(scaled, (-left, -top))
    return canvas


def _rotate(image: Image.Image, degrees: int) -> Image.Image:
    if max(image.size) > p.MAX_ROTATE_SIDE:
        raise p.invalid_argument("Picture exceed the maximum allowable rotation range.", "0040-00000217")
    if degrees % 90 == 0:
        turns = {0: None, 90: Image.Transpose.ROTATE_270, 180: Image.Transpose.ROTATE_180,
                 270: Image.Transpose.ROTATE_90}[degrees % 360]
        return image.transpose(turns) if turns else image
    fill = (255, 255, 255, 0) if image.mode == "RGBA" else (255, 255, 255)
    rotated = image.rotate(-degrees, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=fill)
    want = p.rotated_size(image.width, image.height, degrees)
    return rotated if rotated.size == want else rotated.crop((0, 0, *want))


def _text_layer(op: p.Watermark) -> Image.Image:
    font = ImageFont.load_default(size=op.size)
    left, top, right, bottom = font.getbbox(op.text or "")
    width, height = max(1, right - left), max(1, bottom - top)
    shadow = max(1, op.size // 20) if op.shadow else 0
    layer = Image.new("RGBA", (width + shadow, height + shadow), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    if shadow:
        draw.text((shadow - left, shadow - top), op.text or "", font=font,
                  fill=(0, 0, 0, round(255 * op.shadow / 100)))
    color = tuple(int(op.color[i:i + 2], 16) for i in (0, 2, 4))
    draw.text((-left, -top), op.text or "", font=font, fill=color + (255,))
    return layer


def _watermark_layer(op: p.Watermark, main: Image.Image, marks: dict[str, WatermarkSource]) -> Image.Image:
    parts = []
    if op.image:
        key = op.image.split("?", 1)[0]
        source = marks[key]
        picture = _with_alpha(_run_ops(_source_checked(source.path)[0], source.job.ops if source.job else (),
                                       marks)[0])
        if op.image_percent:
            width = max(1, main.width * op.image_percent // 100)
            picture = picture.resize((width, max(1, round(picture.height * width / picture.width))))
        parts.append(picture)
    if op.text:
        parts.append(_text_layer(op))
    layer = Image.new("RGBA", (sum(x.width for x in parts), max(x.height for x in parts)), (0, 0, 0, 0))
    offset = 0
    for part in parts:  # image then text, centred on one line
        layer.paste(part, (offset, (layer.height - part.height) // 2), part)
        offset += part.width
    if op.rotate:
        layer = layer.rotate(-op.rotate, resample=Image.Resampling.BICUBIC, expand=True)
    if op.t < 100:
        layer.putalpha(layer.getchannel("A").point(lambda a: a * op.t // 100))
    return layer


def watermark_position(main: tuple[int, int], mark: tuple[int, int], op: p.Watermark) -> tuple[int, int]:
    """Top-left corner of the watermark: gravity plus the x / y margins; voffset moves the west,
    center and east positions up."""
    (mw, mh), (w, h) = main, mark
    column = {"nw": 0, "west": 0, "sw": 0, "north": 1, "center": 1, "south": 1}.get(op.g, 2)
    row = {"nw": 0, "north": 0, "ne": 0, "west": 1, "center": 1, "east": 1}.get(op.g, 2)
    x = (op.x, (mw - w) // 2, mw - w - op.x)[column]
    y = (op.y, (mh - h) // 2 - op.voffset, mh - h - op.y)[row]
    return x, y


def _watermark(image: Image.Image, op: p.Watermark, marks: dict[str, WatermarkSource]) -> Image.Image:
    layer = _watermark_layer(op, image, marks)
    out = _with_alpha(image)
    if op.fill:  # tiled over the whole image
        for top in range(0, out.height, layer.height + op.y + 1):
            for left in range(0, out.width, layer.width + op.x + 1):
                out.alpha_composite(layer, (left, top))
    else:
        x, y = watermark_position(out.size, layer.size, op)
        if -x < layer.width and -y < layer.height:  # else the margins put all of it off the image
            out.alpha_composite(layer, (max(0, x), max(0, y)), (max(0, -x), max(0, -y)))
    return out if image.mode == "RGBA" else out.convert("RGB")


@dataclass
class _Encoding:
    fmt: str
    quality: p.Quality | None = None
    progressive: bool = False


def _run_ops(image: Image.Image, ops: tuple[p.ImageOp, ...], marks: dict[str, WatermarkSource],
             encoding: _Encoding | None = None) -> tuple[Image.Image, _Encoding]:
    encoding = encoding or _Encoding(PILLOW_TO_OSS.get(image.format or "", "png"))
    orientation = image.getexif().get(0x0112, 1)
    image = _working(image)
    for op in ops:
        if isinstance(op, p.Resize):
            image = _resize(image, op)
        elif isinstance(op, p.Crop):
            image = image.crop(p.crop_box(image.width, image.height, op))
        elif isinstance(op, p.IndexCrop):
            box = p.index_crop_box(image.width, image.height, op)
            image = image.crop(box) if box else image
        elif isinstance(op, p.Circle):
            r = p.circle_radius(image.width, image.height, op.r)
            cx, cy = image.width // 2, image.height // 2
            image = _mask_shape(image.crop((cx - r, cy - r, cx + r, cy + r)),
                                lambda d, w, h: d.ellipse((0, 0, w - 1, h - 1), fill=255))
        elif isinstance(op, p.RoundedCorners):
            r = p.circle_radius(image.width, image.height, op.r)
            image = _mask_shape(image, lambda d, w, h, r=r: d.rounded_rectangle(
                (0, 0, w - 1, h - 1), radius=r * 4, fill=255))
        elif isinstance(op, p.Rotate):
            image = _rotate(image, op.degrees)
        elif isinstance(op, p.AutoOrient):
            if op.on and orientation in EXIF_TRANSPOSE:
                image = image.transpose(EXIF_TRANSPOSE[orientation])
                orientation = 1
        elif isinstance(op, p.Flip):
            if op.direction in (0, 2):
                image = image.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
            if op.direction in (1, 2):
                image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        elif isinstance(op, p.Blur):
            image = image.filter(ImageFilter.GaussianBlur(op.s))
        elif isinstance(op, p.Bright):
            shift = op.value * 255 / 100
            bands = image.split()
            lit = [b.point(lambda v, shift=shift: v + shift) for b in bands[:3]] + list(bands[3:])
            image = Image.merge(image.mode, lit)
        elif isinstance(op, p.Contrast):
            image = ImageEnhance.Contrast(image).enhance(1 + op.value / 100)
        elif isinstance(op, p.Sharpen):
            image = image.filter(ImageFilter.UnsharpMask(radius=1, percent=op.value, threshold=0))
        elif isinstance(op, p.Watermark):
            image = _watermark(image, op, marks)
        elif isinstance(op, p.Format):
            encoding.fmt = op.name
        elif isinstance(op, p.Quality):
            encoding.quality = op
        elif isinstance(op, p.Interlace):
            encoding.progressive = op.on
    return image, encoding


def _encode(image: Image.Image, encoding: _Encoding, source_quality: int | None) -> bytes:
    fmt = encoding.fmt
    if fmt in OPAQUE_FORMATS and image.mode == "RGBA":
        flat = Image.new("RGB", image.size, (255, 255, 255))
        flat.paste(image, mask=image.getchannel("A"))
        image = flat
    if fmt == "webp" and max(image.size) > p.MAX_WEBP_SIDE:
        raise p.invalid_argument("Maximum width and height allowed is 16383 pixels for converting webp.",
                                 "0040-00000011")
    options: dict = {}
    if fmt in ("jpg", "webp"):
        base = source_quality if fmt == "jpg" else None
        options["quality"] = (p.relative_quality(base, encoding.quality) if encoding.quality
                              else source_quality or DEFAULT_QUALITY)
    if fmt == "jpg" and encoding.progressive:
        options["progressive"] = True
    buffer = io.BytesIO()
    image.save(buffer, OSS_TO_PILLOW[fmt], **options)
    return buffer.getvalue()


# What an animated source keeps its frames through (anything else makes it the first frame).
ANIMATED_OPS = (p.Resize, p.Crop, p.Watermark, p.Format)


def _output_format(job: p.ImageJob, source_format: str) -> str:
    formats = [op.name for op in job.ops if isinstance(op, p.Format)]
    return formats[-1] if formats else source_format


def _animation(image: Image.Image, job: p.ImageJob, marks: dict[str, WatermarkSource], fmt: str) -> Output:
    frames: list[Image.Image] = []
    durations: list[int] = []
    loop = image.info.get("loop", 0)
    for index in range(image.n_frames):
        image.seek(index)
        image.load()
        durations.append(int(image.info.get("duration", 100)))
        result, _ = _run_ops(image.convert("RGBA"), job.ops, marks, _Encoding(fmt))
        frames.append(result)
    buffer = io.BytesIO()
    options = {"disposal": 2} if fmt == "gif" else {"quality": DEFAULT_QUALITY}
    frames[0].save(buffer, OSS_TO_PILLOW[fmt], save_all=True, append_images=frames[1:], duration=durations,
                   loop=loop, **options)
    return Output(buffer.getvalue(), CONTENT_TYPES[fmt], frames[0].width, frames[0].height)


def process_image(path: Path, job: p.ImageJob, marks: dict[str, WatermarkSource] | None = None) -> Output:
    """The answer to an image job on the file at `path`: the encoded image, or the JSON of info /
    average-hue. Raises ServiceError for non-images and bad parameters."""
    image, fmt, quality = _source_checked(path)
    if job.reports:
        return _report(path, image, fmt, job.ops[0])
    target = _output_format(job, fmt)
    if getattr(image, "n_frames", 1) > 1 and target in ("gif", "webp") \
            and all(isinstance(op, ANIMATED_OPS) for op in job.ops):
        return _animation(image, job, marks or {}, target)
    image.seek(0)
    result, encoding = _run_ops(image, job.ops, marks or {}, _Encoding(fmt))
    data = _encode(result, encoding, quality)
    return Output(data, CONTENT_TYPES[encoding.fmt], result.width, result.height)


def _report(path: Path, image: Image.Image, fmt: str, op: p.ImageOp) -> Output:
    if isinstance(op, p.AverageHue):
        rgb = _working(image).convert("RGB").resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))
        body = {"RGB": "0x{:02x}{:02x}{:02x}".format(*rgb)}
    else:
        body = image_info(path, image, fmt)
    return Output(json.dumps(body).encode(), "application/json")


def image_info(path: Path, image: Image.Image, fmt: str) -> dict[str, dict[str, str]]:
    """`image/info`: every value a string in {"value": ...}; EXIF tags when the image has them."""
    info = {"FileSize": str(path.stat().st_size), "Format": fmt,
            "FrameCount": str(getattr(image, "n_frames", 1)), "ImageHeight": str(image.height),
            "ImageWidth": str(image.width)}
    exif = image.getexif()
    names = {0x0112: "Orientation", 0x0128: "ResolutionUnit", 0x011A: "XResolution", 0x011B: "YResolution",
             0x010F: "Make", 0x0110: "Model", 0x0132: "DateTime"}
    for tag, name in names.items():
        if tag in exif:
            value = exif[tag]
            if hasattr(value, "numerator"):
                value = f"{value.numerator}/{value.denominator}"
            info[name] = str(value)
    return {k: {"value": v} for k, v in sorted(info.items())}


def watermark_job(key_with_process: str) -> p.ImageJob | None:
    """A watermark image key may carry its own `?x-oss-process=image/...` (resize, crop...)."""
    _, sep, query = key_with_process.partition("?")
    if not sep:
        return None
    name, _, value = query.partition("=")
    if name != "x-oss-process" or not value.startswith("image/"):
        raise p.watermark_error("A watermark image may only carry x-oss-process=image/....")
    job = p.parse_image(value[len("image/"):])
    if job.reports or job.watermark_objects:
        raise p.watermark_error("A watermark image's processing cannot report or add watermarks.")
    return job
