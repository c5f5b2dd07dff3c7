"""The media engine on real fixtures: frame timelines by stream copy, and the same frames whether
each sample is sought or a run is decoded (B-frames, long GOPs, MOV and MP4)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, ImageSequence

from emulator.media.ffmpeg import MediaError
from emulator.media.framecode import draw_frame, read_frame_index
from emulator.media.plan import Window, output_geometry, plan_sampling
from emulator.media.render import render_animation, render_images
from emulator.media.timeline import _nal_ref_idc, _Picture, _skippable, source_frames

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def test_timeline_of_a_fixture() -> None:
    frames = source_frames(FIXTURES / "counter_320x240_10fps_12s_gop10.mp4")
    assert len(frames.times) == 120
    assert frames.times[:3] == pytest.approx((0.0, 0.1, 0.2))
    assert frames.keyframes == tuple(range(0, 120, 10))  # GOP 10
    assert (frames.width, frames.height) == (320, 240)
    # x264's B-frames that nothing refers to: a read can leave them out (found by their NAL
    # headers, located by byte position).
    assert len(frames.skippable) > 20 and not set(frames.skippable) & set(frames.keyframes)
    assert len(set(frames.skippable.values())) == len(frames.skippable)


def _units(*headers: int) -> memoryview:
    """An access unit in avcC form: each NAL unit a 4-byte length, its header byte, 3 bytes."""
    return memoryview(b"".join((4).to_bytes(4, "big") + bytes([h, 0, 0, 0]) for h in headers))


def test_a_picture_is_non_reference_only_when_every_slice_says_so() -> None:
    aud, sei = 0x09, 0x06
    assert _nal_ref_idc(_units(aud, sei, 0x01, 0x01), 4) == 0  # two slices, nal_ref_idc 0
    assert _nal_ref_idc(_units(aud, 0x01, 0x41), 4) == 2  # a second field that is a reference
    assert _nal_ref_idc(_units(aud, 0x65), 4) == 3  # IDR
    assert _nal_ref_idc(_units(aud, sei), 4) is None  # no slice: never skipped
    # Matched to the stream-copy timeline by sizes in presentation order, or not at all.
    pictures = [_Picture(100, 10, True, 3), _Picture(200, 20, False, 0), _Picture(300, 30, False, 2),
                _Picture(400, 40, False, None)]
    assert _skippable(pictures, [10, 20, 30, 40]) == {1: 200}
    assert _skippable(pictures, [10, 30, 20, 40]) == {}
    assert _skippable(pictures[:3], [10, 20, 30, 40]) == {}


def test_dense_sampling_skips_pictures_and_still_gives_the_planned_frames(tmp_path: Path) -> None:
    path = FIXTURES / "counter_320x240_10fps_12s_gop10.mp4"
    frames = source_frames(path)
    plan = plan_sampling([frames], [Window(0, 0)], 0, 0.3, 0, "decode")
    assert plan.reads[0].skip  # the optimisation is in force on this fixture
    rendered = render_animation([path], plan, output_geometry(160, 120), "gif", 10, tmp_path / "a.gif")
    with Image.open(rendered.files[0]) as image:
        assert [read_frame_index(f.convert("RGB")) for f in ImageSequence.Iterator(image)] == \
            [f for _, f in plan.frames]


@pytest.mark.parametrize("path", ["corrupt.mp4", "not_video.txt"])
def test_unreadable_sources(path: str) -> None:
    with pytest.raises(MediaError):
        source_frames(FIXTURES / path)


@pytest.mark.parametrize("fixture, start, interval, number", [
    ("counter_160x120_25fps_4s_gop50.mov", 0.1, 0.52, 0),  # long GOP, B-frames
    ("counter_320x240_10fps_12s_gop10.mp4", 3.33, 0.7, 8),
    ("counter_64x48_5fps_4s.mp4", 0, 0.2, 0),  # tiny frames still decode
])
@pytest.mark.parametrize("prefer", ["seek", "decode"])
def test_seek_and_decode_give_the_planned_frames(tmp_path: Path, fixture: str, start: float,
                                                 interval: float, number: int, prefer: str) -> None:
    path = FIXTURES / fixture
    frames = source_frames(path)
    plan = plan_sampling([frames], [Window(0, 0)], start, interval, number, prefer)
    assert {r.strategy for r in plan.reads} <= {prefer, "seek"}
    geometry = output_geometry(frames.width, frames.height)
    out = tmp_path / "a.webp"
    rendered = render_animation([path], plan, geometry, "webp", 10, out)
    image = Image.open(out)
    got = [read_frame_index(f.convert("RGB")) for f in ImageSequence.Iterator(image)]
    assert got == [f for _, f in plan.frames]
    assert rendered.frames == len(got)


def test_snapshots_are_numbered_from_one(tmp_path: Path) -> None:
    path = FIXTURES / "counter_320x240_10fps_12s_gop10.mp4"
    frames = source_frames(path)
    plan = plan_sampling([frames], [Window(0, 0)], 2, 3, 0)
    rendered = render_images([path], plan, output_geometry(320, 240, 0.5, None), "jpg", tmp_path)
    assert [f.name for f in rendered.files] == [f"image-{i:06d}.jpg" for i in (1, 2, 3, 4)]
    assert [read_frame_index(Image.open(f).convert("RGB")) for f in rendered.files] == [20, 50, 80, 110]


@pytest.mark.parametrize("index", [0, 1, 7, 100, 2047, 4095])
def test_frame_code_round_trip_survives_scaling(index: int) -> None:
    image = draw_frame(index, 320, 240)
    assert read_frame_index(image) == index
    assert read_frame_index(image.resize((64, 48), Image.BILINEAR)) == index


@pytest.mark.parametrize("fixture, start, interval, number", [
    ("counter_320x240_10fps_12s_gop10.mp4", 0.33, 0.3, 0),  # twelve keyframes to cut at
    ("counter_160x120_25fps_4s_gop50.mov", 0.1, 0.12, 0),  # B-frames, a cut at frame 50
])
@pytest.mark.parametrize("fmt", ["gif", "webp"])
def test_parts_decoded_in_parallel_give_the_single_pass_animation(
        tmp_path: Path, fixture: str, start: float, interval: float, number: int, fmt: str) -> None:
    path = FIXTURES / fixture
    frames = source_frames(path)
    geometry = output_geometry(frames.width, frames.height)
    whole = plan_sampling([frames], [Window(0, 0)], start, interval, number, "decode")
    split = plan_sampling([frames], [Window(0, 0)], start, interval, number, "decode", parts=3,
                          min_part_pixels=0)  # small frames: cut them anyway
    assert len(whole.reads) == 1 and len(split.reads) >= 2
    single, parallel = tmp_path / f"single.{fmt}", tmp_path / f"parallel.{fmt}"
    render_animation([path], whole, geometry, fmt, 10, single)
    rendered = render_animation([path], split, geometry, fmt, 10, parallel, parts=3)
    with Image.open(parallel) as image:
        shown = [(read_frame_index(f.convert("RGB")), f.info.get("duration"))
                 for f in ImageSequence.Iterator(image)]
    assert [index for index, _ in shown] == [f for _, f in whole.frames]
    assert {duration for _, duration in shown} == {100}
    assert rendered.frames == len(whole.frames)
    # Frame for frame, delay for delay, byte for byte what one ffmpeg run makes.
    assert parallel.read_bytes() == single.read_bytes()
