"""Motion measured in a reference video, cheaply: per frame, where the pixels that changed since
the previous frame are (centroid), how far they spread, and how many there are.

This is what drives the emulator's motion proxy of wan2.2-animate: no pose model, just
frame differences on small grayscale frames, which follow a dancing person well enough for a
human to see the character "perform" the reference.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

# Grey-level change (0-255) that counts as motion; below it is codec noise.
DIFF_THRESHOLD = 12
# Fewer changed pixels than this fraction: no measurable motion, keep the previous sample.
MIN_ENERGY = 0.002
ANALYSIS_WIDTH = 64


@dataclass(frozen=True)
class MotionSample:
    cx: float  # centroid of the changed pixels, fraction of the width (0 left, 1 right)
    cy: float  # fraction of the height (0 top)
    spread: float  # RMS distance of changed pixels from the centroid, fraction of the diagonal
    energy: float  # fraction of the pixels that changed


STILL = MotionSample(0.5, 0.5, 0.0, 0.0)


def analysis_size(width: int, height: int) -> tuple[int, int]:
    """The small frame size motion is measured at (even height, aspect kept)."""
    h = max(2, round(ANALYSIS_WIDTH * height / max(width, 1) / 2) * 2)
    return ANALYSIS_WIDTH, h


def measure_motion(frames: Iterable[np.ndarray]) -> list[MotionSample]:
    """One sample per frame of (h, w) uint8 grayscale frames. Frame i is compared with frame
    i-1; frame 0 takes frame 1's sample; a frame without motion repeats the previous sample."""
    samples: list[MotionSample] = []
    previous: np.ndarray | None = None
    last = STILL
    for frame in frames:
        current = frame.astype(np.int16)
        if previous is not None:
            last = _sample(np.abs(current - previous) > DIFF_THRESHOLD) or last
            samples.append(last)
        previous = current
    if previous is None:
        return []
    return [samples[0] if samples else STILL, *samples]


def _sample(mask: np.ndarray) -> MotionSample | None:
    h, w = mask.shape
    ys, xs = np.nonzero(mask)
    energy = len(xs) / mask.size
    if energy < MIN_ENERGY:
        return None
    cx, cy = xs.mean(), ys.mean()
    spread = float(np.sqrt(((xs - cx) ** 2 + (ys - cy) ** 2).mean()) / np.hypot(w, h))
    return MotionSample(float(cx + 0.5) / w, float(cy + 0.5) / h, spread, energy)
