"""Finding people in pictures and following one through a video, offline and deterministically,
with the Haar cascades that OpenCV's wheel ships (cv2.data.haarcascades; nothing is downloaded).

What it can see: upright frontal faces (tilted up to about 15 degrees), faces in profile, their
boxes, and from the eyes the tilt of a frontal face. A frontal face stands for one person facing
the camera. It cannot see bodies reliably (OpenCV's body cascades and HOG people detector fire on
flags and furniture in real photographs), faces turned away, masks, or a face it finds too small
(under 24 px at the scale searched).

Searches run on a downscaled greyscale copy: first at COARSE_SIDE (fast: what an acceptable
portrait needs), then, only when that finds no face, at FINE_SIDE for small faces.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable
from dataclasses import dataclass

import cv2
import numpy as np

# One thread per call: the server already runs several tasks at once on a small machine, and a
# single thread keeps every result independent of the machine's load.
cv2.setNumThreads(1)

FACE_CASCADE = "haarcascade_frontalface_alt2.xml"  # fewer false faces in clothes than "default"
PROFILE_CASCADE = "haarcascade_profileface.xml"  # trained on left-looking faces: also run mirrored
EYE_CASCADE = "haarcascade_eye.xml"
COARSE_SIDE = 320
FINE_SIDE = 1024
PROFILE_SIDE = 400
MIN_FACE = 24  # the cascades' own window is 20-24 px
SCALE_STEP = 1.1
NEIGHBOURS = 5
PROFILE_NEIGHBOURS = 4
# A face smaller than this fraction of the largest one is not counted as a second person.
SECOND_FACE_MIN = 1 / 3

_local = threading.local()  # CascadeClassifier objects are not safe to share between threads


def _cascade(name: str) -> cv2.CascadeClassifier:
    cache = _local.__dict__.setdefault("cascades", {})
    if name not in cache:
        cascade = cv2.CascadeClassifier(cv2.data.haarcascades + name)
        if cascade.empty():
            raise RuntimeError(f"OpenCV's wheel has no {name}: opencv-python-headless 4.x is required")
        cache[name] = cascade
    return cache[name]


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2

    def overlaps(self, other: Box) -> bool:
        return (abs(self.cx - other.cx) < (self.w + other.w) / 2
                and abs(self.cy - other.cy) < (self.h + other.h) / 2)


@dataclass(frozen=True)
class Sighting:
    """What the detector saw in one picture (boxes in the picture's own pixels)."""

    width: int
    height: int
    faces: tuple[Box, ...]  # frontal faces counted as people, largest first
    profiles: tuple[Box, ...]  # faces in profile, where no frontal face is


def to_gray(rgb: np.ndarray) -> np.ndarray:
    return rgb if rgb.ndim == 2 else cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


def _search(gray: np.ndarray, side: int, cascade: str, neighbours: int, mirrored: bool = False,
            min_size: int = MIN_FACE, max_size: int | None = None) -> list[Box]:
    """Boxes found by `cascade` on `gray` shrunk to `side` (long side), in `gray`'s pixels."""
    scale = min(1.0, side / max(gray.shape))
    small = gray if scale == 1.0 else cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    if mirrored:
        small = cv2.flip(small, 1)
    found = _cascade(cascade).detectMultiScale(
        small, SCALE_STEP, neighbours, minSize=(min_size, min_size),
        maxSize=(max_size, max_size) if max_size else (0, 0))
    boxes = []
    for x, y, w, h in (found if len(found) else []):
        if mirrored:
            x = small.shape[1] - x - w
        boxes.append(Box(x / scale, y / scale, w / scale, h / scale))
    return sorted(boxes, key=lambda b: (-b.w, b.x, b.y))


def look(gray: np.ndarray) -> Sighting:
    """Faces and profiles in a greyscale picture."""
    height, width = gray.shape
    faces = _search(gray, COARSE_SIDE, FACE_CASCADE, NEIGHBOURS)
    if not faces and max(gray.shape) > COARSE_SIDE:
        coarse_min = MIN_FACE * max(gray.shape) / COARSE_SIDE  # what the coarse pass already covered
        fine_scale = min(1.0, FINE_SIDE / max(gray.shape))
        faces = _search(gray, FINE_SIDE, FACE_CASCADE, NEIGHBOURS,
                        max_size=max(MIN_FACE + 1, round(coarse_min * fine_scale * 1.2)))
    if faces:
        faces = [f for f in faces if f.h >= faces[0].h * SECOND_FACE_MIN]
        return Sighting(width, height, tuple(faces), ())
    profiles = [*_search(gray, PROFILE_SIDE, PROFILE_CASCADE, PROFILE_NEIGHBOURS),
                *_search(gray, PROFILE_SIDE, PROFILE_CASCADE, PROFILE_NEIGHBOURS, mirrored=True)]
    distinct: list[Box] = []
    for box in sorted(profiles, key=lambda b: (-b.w, b.x, b.y)):
        if not any(box.overlaps(kept) for kept in distinct):
            distinct.append(box)
    return Sighting(width, height, (), tuple(distinct))


def face_tilt(gray: np.ndarray, face: Box) -> float | None:
    """The face's in-plane tilt in degrees (counter-clockwise as seen, like the renderer's angle)
    from its two eyes, or None when they are not both found."""
    x0, y0 = max(0, int(face.x)), max(0, int(face.y))
    roi = gray[y0:int(face.y + face.h * 0.6), x0:int(face.x + face.w)]
    if roi.size == 0:
        return None
    scale = 96 / max(roi.shape[1], 1)
    roi = cv2.equalizeHist(cv2.resize(roi, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR))
    eyes = _cascade(EYE_CASCADE).detectMultiScale(roi, 1.1, 4, minSize=(14, 14), maxSize=(48, 48))
    if len(eyes) < 2:
        return None
    # The two largest eyes, left one first.
    (ax, ay, aw, ah), (bx, by, bw, bh) = sorted(sorted(eyes.tolist(), key=lambda e: -e[2])[:2])
    dx = (bx + bw / 2) - (ax + aw / 2)
    if dx < roi.shape[1] * 0.2:  # one eye found twice
        return None
    # Image y grows downward: the right eye higher than the left is a counter-clockwise tilt.
    return math.degrees(math.atan2((ay + ah / 2) - (by + bh / 2), dx))


# ---- following one person through a video ----------------------------------------------------


@dataclass(frozen=True)
class TrackPoint:
    """The tracked person in one analysed frame, in fractions of the frame (None: not seen)."""

    cx: float
    cy: float
    size: float  # face height / frame height
    tilt: float | None  # degrees, None when the eyes were not found


def _near(gray: np.ndarray, last: Box) -> list[Box]:
    """Faces of about `last`'s size in the region around it (a fraction of the frame: fast)."""
    height, width = gray.shape
    x0, y0 = max(0, int(last.x - last.w)), max(0, int(last.y - last.h))
    x1, y1 = min(width, int(last.x + 2 * last.w)), min(height, int(last.y + 2 * last.h))
    region = gray[y0:y1, x0:x1]
    boxes = _search(region, max(region.shape), FACE_CASCADE, 3,
                    min_size=max(MIN_FACE, int(last.h * 0.75)), max_size=int(last.h * 1.33) + 1)
    return [Box(b.x + x0, b.y + y0, b.w, b.h) for b in boxes]


def track_faces(frames: Iterable[np.ndarray]) -> list[TrackPoint | None]:
    """The face followed through greyscale frames: where a face was seen before, the search is
    limited to the region around it and sizes near it (fast), and the face nearest the last one
    is taken; otherwise (first frame, or lost) the whole frame is searched."""
    points: list[TrackPoint | None] = []
    last: Box | None = None
    for gray in frames:
        height, width = gray.shape
        boxes = _near(gray, last) if last is not None else []
        if not boxes:
            boxes = _search(gray, max(gray.shape), FACE_CASCADE, NEIGHBOURS)
        if not boxes:
            points.append(None)
            continue
        if last is not None:
            boxes.sort(key=lambda b, p=last: (b.cx - p.cx) ** 2 + (b.cy - p.cy) ** 2)
        last = boxes[0]
        points.append(TrackPoint(last.cx / width, last.cy / height, last.h / height, face_tilt(gray, last)))
    return points


def fill_track(points: list[TrackPoint | None]) -> list[TrackPoint] | None:
    """Gaps filled by linear interpolation (held at the ends); tilts likewise, 0 when never
    measured. None when the person was never seen."""
    seen = [i for i, p in enumerate(points) if p is not None]
    if not seen:
        return None
    index = np.arange(len(points))

    def series(values: list[float], where: list[int]) -> np.ndarray:
        if not where:
            return np.zeros(len(points))
        return np.interp(index, where, values)

    cx = series([points[i].cx for i in seen], seen)
    cy = series([points[i].cy for i in seen], seen)
    size = series([points[i].size for i in seen], seen)
    tilted = [i for i in seen if points[i].tilt is not None]
    tilt = series([points[i].tilt for i in tilted], tilted)
    return [TrackPoint(float(a), float(b), float(c), float(d))
            for a, b, c, d in zip(cx, cy, size, tilt, strict=True)]


# ---- cutting the person out -------------------------------------------------------------------

CUTOUT_SIDE = 160  # GrabCut runs on a copy this large (long side): its cost grows with the area
CUTOUT_ITERATIONS = 3


def person_mask(rgb: np.ndarray, face: Box) -> np.ndarray | None:
    """An alpha mask (uint8, 0-255, the picture's size) separating the person from the
    background: GrabCut seeded with the face as certain person and the region below and beside
    it as probable person, everything else as probable background. Deterministic (fixed RNG
    seed). None when the cut keeps too little or almost everything (no clear separation)."""
    height, width = rgb.shape[:2]
    scale = min(1.0, CUTOUT_SIDE / max(height, width))
    small = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else rgb
    sh, sw = small.shape[:2]
    mask = np.full((sh, sw), cv2.GC_PR_BGD, np.uint8)
    fx, fy, fw, fh = (v * scale for v in (face.x, face.y, face.w, face.h))
    # Probable person: the head, and below it a body about three faces wide.
    head_rows = slice(int(max(0, fy - 0.35 * fh)), int(fy + fh))
    mask[head_rows, int(max(0, fx - 0.25 * fw)):int(fx + 1.25 * fw)] = cv2.GC_PR_FGD
    mask[int(fy + fh):, int(max(0, fx - fw)):int(min(sw, fx + 2 * fw))] = cv2.GC_PR_FGD
    # Certain person: the middle of the face, and the neck below it.
    mask[int(fy + 0.15 * fh):int(fy + 0.85 * fh), int(fx + 0.2 * fw):int(fx + 0.8 * fw)] = cv2.GC_FGD
    mask[int(fy + fh):int(fy + 1.5 * fh), int(fx + 0.35 * fw):int(fx + 0.65 * fw)] = cv2.GC_FGD
    if not (mask == cv2.GC_PR_BGD).any():
        return None
    cv2.setRNGSeed(0)
    background, foreground = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.grabCut(np.ascontiguousarray(small[..., ::-1]), mask, None, background, foreground,
                CUTOUT_ITERATIONS, cv2.GC_INIT_WITH_MASK)
    keep = np.where((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD), 255, 0).astype(np.uint8)
    kept = keep.mean() / 255
    if not 0.05 <= kept <= 0.9:
        return None
    alpha = cv2.resize(keep, (width, height), interpolation=cv2.INTER_LINEAR)
    blur = max(3, (round(max(width, height) / CUTOUT_SIDE) * 2) | 1)
    return cv2.GaussianBlur(alpha, (blur, blur), 0)  # soft edge instead of upscaled steps
