"""The motion proxy: motion measurement and render plans as data (no ffmpeg), then real renders
decoded and checked (size, frame count, duration, watermark, motion following, determinism)."""

from __future__ import annotations

import hashlib
from fractions import Fraction
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from emulator.media import animate
from emulator.media.ffmpeg import MediaInfo, iter_frames, probe
from emulator.media.motion import MotionSample, measure_motion
from emulator.services.dashscope.inputs import ASSETS

IMAGE = ASSETS / "move_input_image.jpeg"
VIDEO = ASSETS / "move_input_video.mp4"


def moving_square(positions: list[tuple[int, int]], size=(48, 64)) -> list[np.ndarray]:
    frames = []
    for x, y in positions:
        frame = np.zeros(size[::-1], np.uint8)
        frame[y:y + 8, x:x + 8] = 255
        frames.append(frame)
    return frames


def test_motion_follows_a_moving_square():
    samples = measure_motion(moving_square([(4, 4), (10, 4), (20, 30), (20, 30), (36, 50)]))
    assert len(samples) == 5
    assert samples[0] == samples[1]  # frame 0 takes frame 1's sample
    assert samples[1].cx < samples[2].cx < samples[4].cx
    assert samples[1].cy < samples[2].cy < samples[4].cy
    assert samples[3] == samples[2]  # no change between frames 2 and 3: previous sample held
    assert all(0 < s.energy < 0.1 for s in samples)


def test_motion_of_nothing():
    assert measure_motion([]) == []
    still = measure_motion([np.zeros((10, 10), np.uint8)] * 3)
    assert len(still) == 3 and all(s.energy == 0 for s in still)


def test_output_sizes_per_mode():
    assert animate.output_size(540, 960, "wan-std") == (468, 832)
    std = animate.output_size(1920, 1080, "wan-std")
    pro = animate.output_size(1920, 1080, "wan-pro")
    assert std == (832, 468) and pro == (1280, 720)
    assert all(side % 2 == 0 for side in (*std, *pro))


def test_frame_count_covers_the_reference_within_one_frame():
    for duration, fps in [(5.2, 25), (2.0, 29.97), (30.0, 60), (7.33, 24)]:
        out_fps = animate.output_fps(fps)
        count = animate.frame_count(duration, out_fps)
        assert out_fps <= 30
        assert abs(count / out_fps - duration) <= 1 / out_fps


def plan_for(samples, model="wan2.2-animate-move", mode="wan-std", watermark=False):
    return animate.plan_render(model, mode, (540, 960), (360, 640), 5.2, 25.0, samples, watermark)


def test_plan_pads_and_cuts_motion_to_the_frame_count():
    short = plan_for([MotionSample(0.5, 0.5, 0.1, 0.01)] * 10)
    long = plan_for([MotionSample(0.5, 0.5, 0.1, 0.01)] * 500)
    assert short.frame_count == long.frame_count == 130
    assert short.fps == Fraction(25) and short.duration == pytest.approx(5.2)
    assert short.background == "plain"
    assert plan_for([], model="wan2.2-animate-mix").background == "reference"


def test_plan_moves_the_character_with_the_motion():
    left = [MotionSample(0.2, 0.5, 0.1, 0.01)] * 20
    right = [MotionSample(0.8, 0.5, 0.1, 0.01)] * 20
    plan = plan_for(left + right)
    xs = [t.dx for t in plan.transforms]
    assert xs[10] < 0 < xs[30]  # the character goes left, then right
    assert plan.transforms[10].angle > 0 > plan.transforms[30].angle  # and leans with it
    assert all(animate.SCALE_LIMITS[0] <= t.scale <= animate.SCALE_LIMITS[1] for t in plan.transforms)
    spread = [MotionSample(0.5, 0.5, 0.05, 0.01)] * 20 + [MotionSample(0.5, 0.5, 0.2, 0.01)] * 20
    scales = [t.scale for t in plan_for(spread).transforms]
    assert scales[10] < 1 < scales[30]  # wider motion: the character grows


def test_pro_plans_are_larger_than_std():
    std, pro = plan_for([], mode="wan-std"), plan_for([], mode="wan-pro")
    assert pro.width > std.width and pro.height > std.height


@cache
def reference() -> tuple[MediaInfo, tuple[MotionSample, ...]]:
    """The reference video's probe and motion, measured once per worker."""
    info = probe(VIDEO)
    return info, tuple(animate.measure_reference(VIDEO, info.display_size, animate.output_fps(info.fps)))


def plan_of(model: str, mode: str, watermark: bool) -> animate.RenderPlan:
    info, samples = reference()
    return animate.plan_render(model, mode, (540, 960), info.display_size, info.duration, info.fps,
                               list(samples), watermark)


def render(tmp_path: Path, name: str, model="wan2.2-animate-move", mode="wan-std",
           watermark=False) -> tuple[Path, animate.RenderPlan]:
    """A fresh render."""
    plan = plan_of(model, mode, watermark)
    out = tmp_path / name
    animate.render(plan, IMAGE, VIDEO, out)
    return out, plan


def rendered(shared_media, model="wan2.2-animate-move", mode="wan-std",
             watermark=False) -> tuple[Path, animate.RenderPlan]:
    """The render of these inputs that every test of this run shares (made once)."""
    plan = plan_of(model, mode, watermark)
    out = shared_media(f"animate-render {model} {mode} {watermark}",
                       lambda path: animate.render(plan, IMAGE, VIDEO, path))
    return out, plan


def decode(path: Path, width: int, height: int, fps) -> list[np.ndarray]:
    return [np.frombuffer(raw, np.uint8).reshape(height, width, 3)
            for raw in iter_frames(path, fps, width, height)]


def test_render_is_a_real_mp4_as_long_as_the_reference(shared_media):
    out, plan = rendered(shared_media)
    info = probe(out, count_frames=True)
    reference = probe(VIDEO)
    assert info.video_codec == "h264" and "mp4" in info.format
    assert (info.width, info.height) == (plan.width, plan.height)
    assert info.frame_count == plan.frame_count
    assert abs(info.duration - reference.duration) <= 1 / float(plan.fps)
    data = out.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat")  # +faststart
    assert b"avc1" in data


def test_same_inputs_give_the_same_bytes(tmp_path, shared_media):
    first, _ = rendered(shared_media, watermark=True)
    second, _ = render(tmp_path, "again.mp4", watermark=True)
    assert hashlib.sha256(first.read_bytes()).digest() == hashlib.sha256(second.read_bytes()).digest()


def test_character_follows_the_reference_and_the_mark_shows(shared_media):
    plain, plan = rendered(shared_media)
    marked, _ = rendered(shared_media, watermark=True)
    frames = decode(plain, plan.width, plan.height, plan.fps)
    marked_frames = decode(marked, plan.width, plan.height, plan.fps)
    assert len(frames) == plan.frame_count
    # Where the character (not background-coloured) is, per frame, follows the planned transforms.
    background = np.array(animate.PLAIN_BACKGROUND, np.int16)
    centres = []
    for frame in frames:
        mask = np.abs(frame.astype(np.int16) - background).sum(axis=2) > 60
        centres.append(np.nonzero(mask)[1].mean())
    planned = [plan.anchor[0] + t.dx for t in plan.transforms]
    assert np.corrcoef(centres, planned)[0, 1] > 0.9
    assert max(planned) - min(planned) > 20  # it really moves
    # The mark: bottom right differs between marked and unmarked, top left does not.
    h, w = plan.height, plan.width
    corner = np.abs(marked_frames[40][h - 60:, w - 200:].astype(int) - frames[40][h - 60:, w - 200:]).mean()
    top_left = np.abs(marked_frames[40][:60, :200].astype(int) - frames[40][:60, :200]).mean()
    assert corner > 10 and top_left < 2


def test_mix_renders_over_the_reference_frames(shared_media):
    out, plan = rendered(shared_media, model="wan2.2-animate-mix")
    frame = decode(out, plan.width, plan.height, plan.fps)[20]
    reference = decode(VIDEO, plan.width, plan.height, plan.fps)[20]
    # The floor at the bottom-left corner of the reference shows through.
    assert np.abs(frame[-20:, :20].astype(int) - reference[-20:, :20]).mean() < 12
    assert not np.allclose(frame[-20:, :20], animate.PLAIN_BACKGROUND, atol=10)


def test_pro_renders_larger(shared_media):
    out, plan = rendered(shared_media, mode="wan-pro")
    info = probe(out)
    assert (info.width, info.height) == (720, 1280) == (plan.width, plan.height)
