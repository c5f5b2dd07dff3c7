"""A frame-number mark for test videos: the index in big digits for people, and a 4x3 grid of
black/white blocks (12 bits, most significant first) in the middle of the frame for machines.
Blocks are an eighth of the frame each, so the code survives scaling, centred crops and lossy
coding; `read_frame_index` reads it back from an output image."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

BITS = 12
COLUMNS, ROWS = 4, 3
# The code grid covers the central 50% x 40% of the frame.
GRID_LEFT, GRID_TOP, GRID_WIDTH, GRID_HEIGHT = 0.25, 0.35, 0.5, 0.4


def _cell_box(width: float, height: float, bit: int) -> tuple[float, float, float, float]:
    column, row = bit % COLUMNS, bit // COLUMNS
    cell_w, cell_h = width * GRID_WIDTH / COLUMNS, height * GRID_HEIGHT / ROWS
    left, top = width * GRID_LEFT + column * cell_w, height * GRID_TOP + row * cell_h
    return left, top, left + cell_w, top + cell_h


def draw_frame(index: int, width: int, height: int) -> Image.Image:
    """A frame showing `index` (0..4095)."""
    if not 0 <= index < 2**BITS:
        raise ValueError(f"frame index {index} does not fit in {BITS} bits")
    image = Image.new("RGB", (width, height), (20, 40, 90))
    draw = ImageDraw.Draw(image)
    # A moving bar so that consecutive frames differ everywhere, as in real footage.
    bar_x = (index * 7) % max(width, 1)
    draw.rectangle([bar_x, 0, bar_x + max(width // 20, 1), height * GRID_TOP - 2], fill=(200, 120, 40))
    try:
        font = ImageFont.load_default(size=max(8, int(height * 0.28)))
    except TypeError:  # Pillow without scalable default font
        font = ImageFont.load_default()
    draw.text((width * 0.05, height * 0.02), str(index), fill=(255, 255, 255), font=font)
    for bit in range(BITS):
        on = (index >> (BITS - 1 - bit)) & 1
        draw.rectangle(_cell_box(width, height, bit), fill=(255, 255, 255) if on else (0, 0, 0))
    return image


def read_frame_index(image: Image.Image,
                     content: tuple[float, float, float, float] | None = None) -> int:
    """The index drawn by `draw_frame` into the source frame shown in `image`. `content` is the
    box (left, top, right, bottom) the whole source frame occupies in the image: the image itself
    by default; inside it with black bars (fill); larger than it for a centred crop."""
    pixels = np.asarray(image.convert("L"), dtype=np.float32)
    left, top, right, bottom = content or (0, 0, image.width, image.height)
    width, height = right - left, bottom - top
    value = 0
    for bit in range(BITS):
        x0, y0, x1, y1 = _cell_box(width, height, bit)
        # Sample the middle half of the cell: edges blur under scaling and chroma subsampling.
        cx0, cx1 = left + x0 + (x1 - x0) / 4, left + x1 - (x1 - x0) / 4
        cy0, cy1 = top + y0 + (y1 - y0) / 4, top + y1 - (y1 - y0) / 4
        patch = pixels[max(0, int(cy0)):max(int(cy0) + 1, int(cy1)),
                       max(0, int(cx0)):max(int(cx0) + 1, int(cx1))]
        value = (value << 1) | int(patch.mean() > 127)
    return value
