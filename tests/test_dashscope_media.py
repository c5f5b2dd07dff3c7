"""The motion proxy: render plans from a performer's track as data (no ffmpeg), then real renders
decoded and checked (size, frame count, duration, watermark, following the performer, cut-out,
determinism)."""

from __future__ import annotations

import hashlib
import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from emulator.media import animate, people
from emulator.media.ffmpeg import iter_frames, probe
from emulator.media.people import TrackPoint
from emulator.services.dashscope.inputs import ASSETS

IMAGE = ASSETS / "move_input_image.jpeg"
VIDEO = ASSETS / "move_input_video.mp4"
# Where the performer's face centre is in each frame of VIDEO (fractions), as the assets script
# placed it (fixtures/make_dashscope_assets.py).
PLACED = json.loads((Path(__file__).resolve().parents[1] / "fixtures" / "dashscope"
                     / "move_input_video.track.json").read_text())


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


def plan_for(track, model="wan2.2-animate-move", mode="wan-std", watermark=False, face=None):
    return animate.plan_render(model, mode, (540, 960), (360, 640), 5.2, 25.0, track, watermark, face)


def point(cx=0.5, cy=0.4, size=0.15, tilt=0.0) -> TrackPoint:
    return TrackPoint(cx, cy, size, tilt)


def test_plan_pads_and_cuts_the_track_to_the_frame_count():
    short = plan_for([point()] * 10)
    long = plan_for([point()] * 500)
    assert short.frame_count == long.frame_count == 130
    assert short.fps == Fraction(25) and short.duration == pytest.approx(5.2)
    assert short.background == "plain"
    assert plan_for(None).frame_count == 130  # nobody followed: the character stands still
    assert {t.dx for t in plan_for(None).transforms} == {0.0}
    assert plan_for([], model="wan2.2-animate-mix").background == "reference"


def test_plan_moves_scales_and_tilts_the_character_with_the_performer():
    left, right = [point(cx=0.3)] * 20, [point(cx=0.7)] * 20
    plan = plan_for(left + right)
    xs = [t.dx for t in plan.transforms]
    assert xs[15] < 0 < xs[35]  # the character goes left, then right
    assert xs[35] - xs[15] == pytest.approx(0.4 * plan.width, rel=0.05)  # as far as the performer
    near = plan_for([point(size=0.1)] * 20 + [point(size=0.2)] * 20)
    scales = [t.scale for t in near.transforms]
    assert scales[15] < 1 < scales[35]  # the performer comes closer: the character grows
    assert all(animate.SCALE_LIMITS[0] <= s <= animate.SCALE_LIMITS[1] for s in scales)
    leaning = plan_for([point(tilt=-10)] * 20 + [point(tilt=10)] * 20)
    angles = [t.angle for t in leaning.transforms]
    assert angles[15] < 0 < angles[35]


def test_mix_puts_the_characters_face_on_the_performers():
    face = people.Box(0.3, 0.1, 0.2, 0.15)
    plan = plan_for([point(cx=0.25, cy=0.3, size=0.12)] * 40, model="wan2.2-animate-mix", face=face)
    assert plan.pivot == pytest.approx((0.4, 0.175))  # the character's face centre
    first = plan.transforms[0]
    assert (plan.anchor[0] + first.dx, plan.anchor[1] + first.dy) == pytest.approx(
        (0.25 * plan.width, 0.3 * plan.height))
    # Its face as tall as the performer's: 0.12 of the frame.
    assert plan.sprite_height * face.h == pytest.approx(0.12 * plan.height, abs=1)


def test_pro_plans_are_larger_than_std():
    std, pro = plan_for([], mode="wan-std"), plan_for([], mode="wan-pro")
    assert pro.width > std.width and pro.height > std.height


def render(tmp_path: Path, name: str, model="wan2.2-animate-move", mode="wan-std",
           watermark=False) -> tuple[Path, animate.RenderPlan]:
    info = probe(VIDEO)
    with Image.open(IMAGE) as img:
        size = img.size
    plan = animate.plan_for_inputs(model, mode, IMAGE, size, VIDEO, info, watermark)
    out = tmp_path / name
    animate.render(plan, IMAGE, VIDEO, out)
    return out, plan


def decode(path: Path, width: int, height: int, fps) -> list[np.ndarray]:
    return [np.frombuffer(raw, np.uint8).reshape(height, width, 3)
            for raw in iter_frames(path, fps, width, height)]


def face_track(frames: list[np.ndarray]) -> list[tuple[float, float]]:
    """Where the detector finds the face in each decoded frame (fractions; NaN when not found)."""
    track = []
    for frame in frames:
        sighting = people.look(people.to_gray(frame))
        face = sighting.faces[0] if sighting.faces else None
        track.append((face.cx / frame.shape[1], face.cy / frame.shape[0]) if face else (np.nan, np.nan))
    return track


def correlation(a: list[float], b: list[float]) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    both = ~(np.isnan(a) | np.isnan(b))
    assert both.sum() >= len(a) * 0.8, "the face was lost in too many frames"
    return float(np.corrcoef(a[both], b[both])[0, 1])


def test_render_is_a_real_mp4_as_long_as_the_reference(tmp_path):
    out, plan = render(tmp_path, "move.mp4")
    info = probe(out, count_frames=True)
    reference = probe(VIDEO)
    assert info.video_codec == "h264" and "mp4" in info.format
    assert (info.width, info.height) == (plan.width, plan.height)
    assert info.frame_count == plan.frame_count
    assert abs(info.duration - reference.duration) <= 1 / float(plan.fps)
    data = out.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat")  # +faststart
    assert b"avc1" in data


def test_same_inputs_give_the_same_bytes(tmp_path):
    first, _ = render(tmp_path, "a.mp4", watermark=True)
    second, _ = render(tmp_path, "b.mp4", watermark=True)
    assert hashlib.sha256(first.read_bytes()).digest() == hashlib.sha256(second.read_bytes()).digest()


def test_the_performer_is_followed_where_the_assets_script_placed_her():
    info = probe(VIDEO)
    fps = animate.output_fps(info.fps)
    track = animate.measure_reference(VIDEO, info.display_size, fps, info.duration)
    assert track is not None and len(track) == len(PLACED)
    assert correlation([p.cx for p in track], [x for x, _ in PLACED]) > 0.95
    assert correlation([p.cy for p in track], [y for _, y in PLACED]) > 0.9
    assert max(abs(p.cx - x) for p, (x, _) in zip(track, PLACED, strict=True)) < 0.05


def test_character_follows_the_performer_and_the_mark_shows(tmp_path):
    plain, plan = render(tmp_path, "plain.mp4")
    marked, _ = render(tmp_path, "marked.mp4", watermark=True)
    frames = decode(plain, plan.width, plan.height, plan.fps)
    marked_frames = decode(marked, plan.width, plan.height, plan.fps)
    assert len(frames) == plan.frame_count
    # The character's face, found by the detector in the decoded output, moves as the
    # performer's face, found the same way in the reference.
    reference = decode(VIDEO, 360, 640, plan.fps)
    character = face_track(frames[::5])
    performer = face_track(reference[::5])
    assert correlation([x for x, _ in character], [x for x, _ in performer]) > 0.9
    assert correlation([y for _, y in character], [y for _, y in performer]) > 0.7
    xs = [x * plan.width for x, _ in character if not np.isnan(x)]
    assert max(xs) - min(xs) > 40  # it really moves
    # Cut out of its photograph: the background of her picture (top corners) is gone.
    background = np.array(animate.PLAIN_BACKGROUND)
    assert np.abs(frames[0][:40, :40].astype(int) - background).max() < 12
    # The mark: bottom right differs between marked and unmarked, top left does not.
    h, w = plan.height, plan.width
    corner = np.abs(marked_frames[40][h - 60:, w - 200:].astype(int) - frames[40][h - 60:, w - 200:]).mean()
    top_left = np.abs(marked_frames[40][:60, :200].astype(int) - frames[40][:60, :200]).mean()
    assert corner > 10 and top_left < 2


def test_mix_puts_the_character_over_the_performer_in_the_reference(tmp_path):
    out, plan = render(tmp_path, "mix.mp4", model="wan2.2-animate-mix")
    frames = decode(out, plan.width, plan.height, plan.fps)
    reference = decode(VIDEO, plan.width, plan.height, plan.fps)
    # The floor at the bottom-left corner of the reference shows through.
    assert np.abs(frames[20][-20:, :20].astype(int) - reference[20][-20:, :20]).mean() < 12
    assert not np.allclose(frames[20][-20:, :20], animate.PLAIN_BACKGROUND, atol=10)
    # One face in the output, where the performer's was.
    for index in (10, 60, 110):
        sighting = people.look(people.to_gray(frames[index]))
        assert len(sighting.faces) == 1
        x, y = PLACED[index]
        face = sighting.faces[0]
        assert abs(face.cx / plan.width - x) < 0.06 and abs(face.cy / plan.height - y) < 0.06


def test_pro_renders_larger(tmp_path):
    out, plan = render(tmp_path, "pro.mp4", mode="wan-pro")
    info = probe(out)
    assert (info.width, info.height) == (plan.width, plan.height) == (720, 960)
