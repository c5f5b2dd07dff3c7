"""The motion-proxy renderer standing in for wan2.2-animate-move / -mix.

The person in the reference video is followed with the bundled face detector (media/people.py):
where their face is, how large (nearer or farther) and how tilted, frame by frame. The character
image, cut out of its background where the detector finds its face (else inside a soft oval),
moves, scales and tilts the same way: over a plain background for animate-move; for animate-mix
it takes the performer's place in the reference's own frames, its face over theirs. The render
is planned as data first (output size, frame rate, frame count, one transform per frame), then
run by piping raw frames into ffmpeg (H.264, yuv420p, +faststart, single-threaded and bit-exact
so the same inputs give the same bytes).
"""

from __future__ import annotations

import math
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from emulator.media import people
from emulator.media.ffmpeg import MediaError, MediaInfo, ffmpeg_exe, iter_frames, spawn
from emulator.media.people import TrackPoint

# Output bounding boxes (long side, short side) per service mode: wan-pro renders larger.
OUTPUT_BOX = {"wan-std": (832, 480), "wan-pro": (1280, 720)}
MAX_FPS = 30
PLAIN_BACKGROUND = (236, 236, 240)
WATERMARK_TEXT = "AI generated"
# The person is followed at up to TRACK_FPS frames a second (in between: interpolated), on frames
# TRACK_SIDE pixels on their long side.
TRACK_FPS = 10
TRACK_SIDE = 320
SCALE_LIMITS = (0.6, 1.6)
TILT_LIMIT = 25.0
SMOOTHING = 0.6  # weight of the new sample in the exponential moving average
# Where the character's face is in its image when the detector finds none (fractions): the
# middle of the top fifth, as in a portrait.
ASSUMED_FACE = people.Box(0.4, 0.08, 0.2, 0.16)


@dataclass(frozen=True)
class FrameTransform:
    dx: float  # pixels the character's pivot moves from the anchor
    dy: float
    scale: float
    angle: float  # degrees, counter-clockwise


@dataclass(frozen=True)
class RenderPlan:
    width: int
    height: int
    fps: Fraction
    background: str  # "plain" (animate-move) | "reference" (animate-mix)
    sprite_height: int  # the character's height at scale 1
    anchor: tuple[float, float]  # where the character's pivot sits at dx = dy = 0
    pivot: tuple[float, float]  # the point of the character (fractions) placed and turned about
    face: people.Box | None  # the character's face in its image (fractions), if the detector saw one
    transforms: tuple[FrameTransform, ...]
    watermark: bool

    @property
    def frame_count(self) -> int:
        return len(self.transforms)

    @property
    def duration(self) -> float:
        return float(self.frame_count / self.fps)


def output_size(width: int, height: int, mode: str) -> tuple[int, int]:
    """Fit (width, height) into the mode's box keeping the aspect; even sides (yuv420p)."""
    long_side, short_side = OUTPUT_BOX[mode]
    box = (long_side, short_side) if width >= height else (short_side, long_side)
    scale = min(box[0] / width, box[1] / height)
    return max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)


def output_fps(reference_fps: float) -> Fraction:
    fps = Fraction(reference_fps or 25).limit_denominator(1001)
    return min(fps, Fraction(MAX_FPS))


def frame_count(duration: float, fps: Fraction) -> int:
    """Frames covering the reference's duration: the output lasts as long, within one frame."""
    return max(1, round(duration * fps))


def smoothed(track: list[TrackPoint]) -> list[TrackPoint]:
    """Exponential moving average, so the character does not jitter with the detector."""
    out: list[TrackPoint] = []
    for p in track:
        if out:
            q = out[-1]
            p = TrackPoint(*(a + SMOOTHING * (b - a) for a, b in
                             zip((q.cx, q.cy, q.size, q.tilt or 0.0), (p.cx, p.cy, p.size, p.tilt or 0.0),
                                 strict=True)))
        out.append(p)
    return out


def follow_transforms(track: list[TrackPoint], width: int, height: int,
                      absolute: bool) -> list[FrameTransform]:
    """Per-frame transforms from the performer's track: the character shifts as the performer's
    face does, scales as it grows or shrinks, and tilts with it. Relative to the performer's mean
    position, size and tilt; with `absolute` the shift is from the frame's top-left corner and
    the scale relative to the mean size (the character takes the performer's place)."""
    if not track:
        return []
    track = smoothed(track)
    mean_cx = sum(p.cx for p in track) / len(track)
    mean_cy = sum(p.cy for p in track) / len(track)
    mean_size = sum(p.size for p in track) / len(track) or 1.0
    mean_tilt = sum(p.tilt or 0.0 for p in track) / len(track)
    out = []
    for p in track:
        scale = min(max(p.size / mean_size, SCALE_LIMITS[0]), SCALE_LIMITS[1])
        angle = min(max((p.tilt or 0.0) - mean_tilt, -TILT_LIMIT), TILT_LIMIT)
        dx = p.cx * width if absolute else (p.cx - mean_cx) * width
        dy = p.cy * height if absolute else (p.cy - mean_cy) * height
        out.append(FrameTransform(round(dx, 3), round(dy, 3), round(scale, 4), round(angle, 3)))
    return out


def plan_render(model: str, mode: str, image_size: tuple[int, int], video_size: tuple[int, int],
                video_duration: float, video_fps: float, track: list[TrackPoint] | None,
                watermark: bool, face: people.Box | None = None) -> RenderPlan:
    """The whole render as data. `track`: the performer per output frame (padded or cut to fit;
    None or empty: not seen, the character stands still); `face`: the character's face in its
    image (fractions)."""
    mix = model.endswith("animate-mix")
    width, height = output_size(*(video_size if mix else image_size), mode)
    fps = output_fps(video_fps)
    count = frame_count(video_duration, fps)
    still = TrackPoint(0.5, 0.4, 0.15, 0.0)
    track = (track or [still])[:count]
    track = track + [track[-1]] * (count - len(track))
    known = face or ASSUMED_FACE
    if mix:
        # The character's face as large as the performer's (on average).
        mean_size = sum(p.size for p in track) / count
        sprite_height = round(min(max(mean_size / known.h, 0.3), 1.5) * height)
        anchor, pivot = (0.0, 0.0), (known.cx, known.cy)
    else:
        anchor, pivot, sprite_height = (width / 2, height * 0.55), (0.5, 0.5), round(height * 0.8)
    return RenderPlan(width, height, fps, "reference" if mix else "plain", sprite_height, anchor, pivot,
                      face, tuple(follow_transforms(track, width, height, absolute=mix)), watermark)


# ---- measuring the inputs ------------------------------------------------------------------


def track_size(width: int, height: int) -> tuple[int, int]:
    """The frame size the performer is followed at (even sides, aspect kept)."""
    scale = min(1.0, TRACK_SIDE / max(width, height))
    return max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)


def measure_reference(video_path: Path, video_size: tuple[int, int], fps: Fraction,
                      duration: float) -> list[TrackPoint] | None:
    """The performer per output frame (at `fps` over `duration`), or None if never seen."""
    w, h = track_size(*video_size)
    rate = min(Fraction(TRACK_FPS), fps)
    frames = (np.frombuffer(raw, np.uint8).reshape(h, w)
              for raw in iter_frames(video_path, rate, w, h, "gray"))
    track = people.fill_track(people.track_faces(frames))
    if track is None:
        return None
    # Sample k was shown at k / rate: resample to the output frames' times.
    seen = np.arange(len(track)) / float(rate)
    times = np.arange(frame_count(duration, fps)) / float(fps)
    columns = [np.interp(times, seen, [getattr(p, name) for p in track])
               for name in ("cx", "cy", "size", "tilt")]
    return [TrackPoint(*map(float, values)) for values in zip(*columns, strict=True)]


def character_face(image_path: Path) -> people.Box | None:
    """The character's (largest) face in its image, in fractions of the image, or None."""
    with Image.open(image_path) as img:
        gray = np.asarray(img.convert("L"))
    sighting = people.look(gray)
    if not sighting.faces:
        return None
    f = sighting.faces[0]
    w, h = sighting.width, sighting.height
    return people.Box(f.x / w, f.y / h, f.w / w, f.h / h)


def plan_for_inputs(model: str, mode: str, image_path: Path, image_size: tuple[int, int], video_path: Path,
                    info: MediaInfo, watermark: bool) -> RenderPlan:
    """Measure both inputs and plan the render (blocking)."""
    fps = output_fps(info.fps)
    track = measure_reference(video_path, info.display_size, fps, info.duration)
    return plan_render(model, mode, image_size, info.display_size, info.duration, info.fps, track, watermark,
                       character_face(image_path))


# ---- running a plan --------------------------------------------------------------------------


def character_sprite(image_path: Path, sprite_height: int, face: people.Box | None) -> Image.Image:
    """The character at scale 1, RGBA: its own alpha if it has one; else cut out of its
    background around its face when the detector found one and the cut is clean; else inside a
    soft oval (so it reads as a figure, not a pasted rectangle)."""
    with Image.open(image_path) as img:
        img = img.convert("RGBA")
    if img.getextrema()[3][0] == 255:
        mask = None
        if face is not None:
            box = people.Box(face.x * img.width, face.y * img.height, face.w * img.width, face.h * img.height)
            cut = people.person_mask(np.asarray(img.convert("RGB")), box)
            mask = Image.fromarray(cut) if cut is not None else None
        if mask is None:
            mask = Image.new("L", img.size, 0)
            ImageDraw.Draw(mask).ellipse((0, 0, img.width - 1, img.height - 1), fill=255)
        img.putalpha(mask)
    width = max(1, round(img.width * sprite_height / img.height))
    return img.resize((width, sprite_height), Image.Resampling.BILINEAR)


def watermark_overlay(width: int, height: int) -> tuple[Image.Image, tuple[int, int]]:
    """The visible "AI generated" mark and where it goes (bottom right, inside a margin)."""
    size = max(12, height // 24)
    font = ImageFont.load_default(size)
    left, top, right, bottom = font.getbbox(WATERMARK_TEXT)
    pad = max(4, size // 3)
    mark = Image.new("RGBA", (right - left + 2 * pad, bottom - top + 2 * pad), (0, 0, 0, 110))
    ImageDraw.Draw(mark).text((pad - left, pad - top), WATERMARK_TEXT, font=font,
                              fill=(255, 255, 255, 235))
    margin = max(6, height // 40)
    return mark, (width - mark.width - margin, height - mark.height - margin)


def _backgrounds(plan: RenderPlan, video_path: Path) -> Iterator[Image.Image]:
    if plan.background == "plain":
        plain = Image.new("RGB", (plan.width, plan.height), PLAIN_BACKGROUND)
        while True:
            yield plain.copy()
    last = Image.new("RGB", (plan.width, plan.height), PLAIN_BACKGROUND)
    for raw in iter_frames(video_path, plan.fps, plan.width, plan.height, "rgb24"):
        last = Image.frombuffer("RGB", (plan.width, plan.height), raw)
        yield last.copy()
    while True:  # the decoder gave a frame or two fewer than the plan: hold the last one
        yield last.copy()


def encoder_args(plan: RenderPlan, out_path: Path) -> list[str]:
    import ffmpeg

    return (ffmpeg.input("pipe:", format="rawvideo", pix_fmt="rgb24", s=f"{plan.width}x{plan.height}",
                         framerate=str(plan.fps))
            .output(str(out_path), vcodec="libx264", pix_fmt="yuv420p", preset="veryfast", crf=23,
                    threads=1, movflags="+faststart", fflags="+bitexact", flags="+bitexact",
                    map_metadata=-1, f="mp4")
            .global_args("-hide_banner", "-nostdin", "-loglevel", "error")
            .overwrite_output()
            .compile(cmd=ffmpeg_exe()))


def render(plan: RenderPlan, image_path: Path, video_path: Path, out_path: Path) -> None:
    """Render `plan` into the MP4 `out_path` (blocking: run it in the worker pool)."""
    sprite = character_sprite(image_path, plan.sprite_height, plan.face)
    mark = watermark_overlay(plan.width, plan.height) if plan.watermark else None
    with tempfile.TemporaryFile() as errors:
        process = spawn(encoder_args(plan, out_path), stdin=subprocess.PIPE, stderr=errors)
        assert process.stdin is not None
        try:
            for transform, frame in zip(plan.transforms, _backgrounds(plan, video_path), strict=False):
                _place(frame, sprite, plan.anchor, plan.pivot, transform)
                if mark:
                    frame.paste(mark[0], mark[1], mark[0])
                process.stdin.write(frame.tobytes())
            process.stdin.close()
        except BrokenPipeError:
            pass
        if process.wait() != 0:
            errors.seek(0)
            tail = errors.read().decode("utf-8", "replace").strip().splitlines()[-3:]
            raise MediaError("\n".join(tail) or "the encoder failed")


def _place(frame: Image.Image, sprite: Image.Image, anchor: tuple[float, float], pivot: tuple[float, float],
           t: FrameTransform) -> None:
    """Paste the sprite scaled and rotated about its pivot, the pivot at anchor + (dx, dy), in one
    affine resampling."""
    a = math.radians(t.angle)
    cos, sin = math.cos(a), math.sin(a)
    sw, sh = sprite.width * t.scale, sprite.height * t.scale
    # The scaled sprite's corners relative to the pivot, rotated (counter-clockwise as seen).
    px, py = pivot[0] * sw, pivot[1] * sh
    corners = [(x - px, y - py) for x, y in ((0, 0), (sw, 0), (0, sh), (sw, sh))]
    turned = [(x * cos + y * sin, -x * sin + y * cos) for x, y in corners]
    left = math.floor(min(x for x, _ in turned))
    top = math.floor(min(y for _, y in turned))
    width = max(1, math.ceil(max(x for x, _ in turned)) - left)
    height = max(1, math.ceil(max(y for _, y in turned)) - top)
    # Output pixel (relative to the pivot: u + left, v + top) -> sprite pixel: un-rotate, un-scale.
    ca, sa = cos / t.scale, sin / t.scale
    ppx, ppy = pivot[0] * sprite.width, pivot[1] * sprite.height
    matrix = (ca, -sa, ppx + ca * left - sa * top,
              sa, ca, ppy + sa * left + ca * top)
    moved = sprite.transform((width, height), Image.Transform.AFFINE, matrix, Image.Resampling.BILINEAR)
    frame.paste(moved, (round(anchor[0] + t.dx + left), round(anchor[1] + t.dy + top)), moved)
