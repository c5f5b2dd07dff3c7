"""The motion-proxy renderer standing in for wan2.2-animate-move / -mix.

The character image is moved, scaled and tilted frame by frame following the motion measured in
the reference video (media/motion.py): over a plain background for animate-move, over the
reference's own frames for animate-mix. The render is planned as data first (output size, frame
rate, frame count, one transform per frame), then run by piping raw frames into ffmpeg (H.264,
yuv420p, +faststart, single-threaded and bit-exact so the same inputs give the same bytes).
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

from emulator.media.ffmpeg import MediaError, ffmpeg_exe, iter_frames
from emulator.media.motion import MotionSample, analysis_size, measure_motion

# Output bounding boxes (long side, short side) per service mode: wan-pro renders larger.
OUTPUT_BOX = {"wan-std": (832, 480), "wan-pro": (1280, 720)}
MAX_FPS = 30
PLAIN_BACKGROUND = (236, 236, 240)
WATERMARK_TEXT = "AI generated"
# How strongly measured motion moves the character (fractions of the frame, degrees).
SHIFT_GAIN = 0.8
SCALE_GAIN = 3.0
SCALE_LIMITS = (0.85, 1.15)
TILT_GAIN = 60.0
TILT_LIMIT = 12.0
SMOOTHING = 0.5  # weight of the new sample in the exponential moving average


@dataclass(frozen=True)
class FrameTransform:
    dx: float  # pixels the character's centre moves from its anchor
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
    anchor: tuple[float, float]  # where the character's centre sits at dx = dy = 0
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


def motion_transforms(samples: list[MotionSample], width: int, height: int) -> list[FrameTransform]:
    """Per-frame transforms: shift with the motion centroid's offset from its mean, scale with the
    spread, lean toward the side the motion is on; smoothed so the character does not jitter."""
    if not samples:
        return []
    mean_cx = sum(s.cx for s in samples) / len(samples)
    mean_cy = sum(s.cy for s in samples) / len(samples)
    mean_spread = sum(s.spread for s in samples) / len(samples)
    out: list[FrameTransform] = []
    cx, cy, spread = samples[0].cx, samples[0].cy, samples[0].spread
    for s in samples:
        cx += SMOOTHING * (s.cx - cx)
        cy += SMOOTHING * (s.cy - cy)
        spread += SMOOTHING * (s.spread - spread)
        scale = min(max(1 + (spread - mean_spread) * SCALE_GAIN, SCALE_LIMITS[0]), SCALE_LIMITS[1])
        angle = min(max(-(cx - mean_cx) * TILT_GAIN, -TILT_LIMIT), TILT_LIMIT)
        out.append(FrameTransform(round((cx - mean_cx) * width * SHIFT_GAIN, 3),
                                  round((cy - mean_cy) * height * SHIFT_GAIN, 3),
                                  round(scale, 4), round(angle, 3)))
    return out


def plan_render(model: str, mode: str, image_size: tuple[int, int], video_size: tuple[int, int],
                video_duration: float, video_fps: float, samples: list[MotionSample],
                watermark: bool) -> RenderPlan:
    """The whole render as data. `samples`: motion per output frame (padded or cut to fit)."""
    mix = model.endswith("animate-mix")
    width, height = output_size(*(video_size if mix else image_size), mode)
    fps = output_fps(video_fps)
    count = frame_count(video_duration, fps)
    samples = (samples or [MotionSample(0.5, 0.5, 0.0, 0.0)])[:count]
    samples = samples + [samples[-1]] * (count - len(samples))
    if mix:
        mean_cx = sum(s.cx for s in samples) / count
        mean_cy = sum(s.cy for s in samples) / count
        anchor, sprite_height = (mean_cx * width, mean_cy * height), round(height * 0.6)
    else:
        anchor, sprite_height = (width / 2, height * 0.55), round(height * 0.8)
    return RenderPlan(width, height, fps, "reference" if mix else "plain", sprite_height, anchor,
                      tuple(motion_transforms(samples, width, height)), watermark)


# ---- running a plan --------------------------------------------------------------------------


def measure_reference(video_path: Path, video_size: tuple[int, int], fps: Fraction) -> list[MotionSample]:
    w, h = analysis_size(*video_size)
    frames = (np.frombuffer(raw, np.uint8).reshape(h, w)
              for raw in iter_frames(video_path, fps, w, h, "gray"))
    return measure_motion(frames)


def character_sprite(image_path: Path, sprite_height: int) -> Image.Image:
    """The character at scale 1: RGBA, its own alpha if it has one, else a soft oval mask (so
    over a reference frame it reads as a figure, not a pasted rectangle)."""
    with Image.open(image_path) as img:
        img = img.convert("RGBA")
    width = max(1, round(img.width * sprite_height / img.height))
    img = img.resize((width, sprite_height), Image.Resampling.BILINEAR)
    if img.getextrema()[3][0] == 255:
        mask = Image.new("L", img.size, 0)
        ImageDraw.Draw(mask).ellipse((0, 0, img.width - 1, img.height - 1), fill=255)
        img.putalpha(mask)
    return img


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
    sprite = character_sprite(image_path, plan.sprite_height)
    mark = watermark_overlay(plan.width, plan.height) if plan.watermark else None
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(encoder_args(plan, out_path), stdin=subprocess.PIPE, stderr=errors)
        assert process.stdin is not None
        try:
            for transform, frame in zip(plan.transforms, _backgrounds(plan, video_path), strict=False):
                _place(frame, sprite, plan.anchor, transform)
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


def _place(frame: Image.Image, sprite: Image.Image, anchor: tuple[float, float],
           t: FrameTransform) -> None:
    """Paste the sprite scaled and rotated about its centre, in one affine resampling."""
    a = math.radians(t.angle)
    cos, sin = math.cos(a), math.sin(a)
    width = max(1, math.ceil(abs(sprite.width * t.scale * cos) + abs(sprite.height * t.scale * sin)))
    height = max(1, math.ceil(abs(sprite.width * t.scale * sin) + abs(sprite.height * t.scale * cos)))
    # Output pixel -> sprite pixel: un-rotate about the output centre, un-scale, re-centre.
    ca, sa = cos / t.scale, sin / t.scale
    ox, oy = width / 2, height / 2
    matrix = (ca, -sa, sprite.width / 2 - (ca * ox - sa * oy),
              sa, ca, sprite.height / 2 - (sa * ox + ca * oy))
    moved = sprite.transform((width, height), Image.Transform.AFFINE, matrix, Image.Resampling.BILINEAR)
    x = round(anchor[0] + t.dx - width / 2)
    y = round(anchor[1] + t.dy - height / 2)
    frame.paste(moved, (x, y), moved)
