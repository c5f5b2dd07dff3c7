"""The media plan as data (no ffmpeg): sampling times, frame choice, seek vs decode, geometry,
frame delays, select expressions."""

from __future__ import annotations

import dataclasses
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.media.graph import select_expression, skip_filter
from emulator.media.plan import (
    SourceFrames,
    Window,
    frame_delay,
    output_geometry,
    plan_sampling,
    sample_times,
)


def cfr(fps: float, seconds: float, gop: int, size: tuple[int, int] = (320, 240),
        skippable: dict[int, int] | None = None) -> SourceFrames:
    count = round(fps * seconds)
    return SourceFrames(tuple(i / fps for i in range(count)), tuple(range(0, count, gop)), *size,
                        skippable or {})


def decoded_by(read, source: SourceFrames) -> list[int]:
    """The frames a read hands the decoder from its keyframe on (what it does not skip)."""
    skipped = {frame for frame, position in source.skippable.items() if position in read.skip}
    return [f for f in range(read.keyframe, read.frames[-1] + 1) if f not in skipped]


def test_sample_times_stop_at_number_or_end() -> None:
    assert sample_times(0, 1, 0, 3.5) == [0, 1, 2, 3]
    assert sample_times(0.5, 1, 2, 10) == [0.5, 1.5]
    assert sample_times(4, 1, 0, 3) == []


def test_frames_are_the_ones_shown_at_each_time() -> None:
    plan = plan_sampling([cfr(10, 12, 10)], [Window(0, 0)], start=0.05, interval=0.33, number=4)
    assert [f for _, f in plan.frames] == [0, 3, 7, 10]
    assert plan.times == pytest.approx((0.05, 0.38, 0.71, 1.04))
    # 0.1 * 7 is 0.7000000000000001 and 0.7 itself must still give frame 7.
    plan = plan_sampling([cfr(10, 12, 10)], [Window(0, 0)], start=0.0, interval=0.1, number=0)
    assert [f for _, f in plan.frames] == list(range(120))


def test_interval_defaults_to_and_is_raised_to_the_frame_gap() -> None:
    assert plan_sampling([cfr(25, 2, 50)], [Window(0, 0)]).interval == pytest.approx(0.04)
    assert plan_sampling([cfr(25, 2, 50)], [Window(0, 0)], interval=0.001).interval == pytest.approx(0.04)


def test_source_windows_are_concatenated() -> None:
    sources = [cfr(10, 5, 10), cfr(10, 5, 10)]
    plan = plan_sampling(sources, [Window(0, 1, 2), Window(1, 3)], start=0.5, interval=1)
    assert plan.frames == ((0, 15), (0, 25), (1, 35), (1, 45))


def test_sparse_samples_seek_and_dense_samples_decode() -> None:
    source = cfr(30, 60, 30)  # 1080p-like: keyframe every second
    sparse = plan_sampling([source], [Window(0, 0)], interval=4)
    assert {r.strategy for r in sparse.reads} == {"seek"}
    assert sparse.decoded_frames == 15  # every sample is on a keyframe: one frame each
    dense = plan_sampling([source], [Window(0, 0)], interval=0.1)
    assert [r.strategy for r in dense.reads] == ["decode"]
    assert dense.decoded_frames == 1798  # from frame 0 to the last sample
    # Interval >= 4x the keyframe spacing with samples between keyframes: seeking decodes less.
    offset = plan_sampling([source], [Window(0, 0)], start=0.5, interval=4)
    assert {r.strategy for r in offset.reads} == {"seek"}
    assert offset.decoded_frames < dense.decoded_frames / 2.5


def test_reads_seek_to_the_keyframe_and_pick_by_time_then_position() -> None:
    source = cfr(10, 3, 10)
    plan = plan_sampling([source], [Window(0, 0)], start=1.2, interval=1, number=1)
    read = plan.reads[0]
    assert (read.keyframe, read.first, read.strategy, read.picks) == (10, 12, "seek", (0,))
    # The demuxer lands on the last keyframe at or before the seek point.
    assert source.times[10] < read.seek < source.times[11]
    # Frames are dropped up to halfway between frame 11 and frame 12 (times relative to the seek).
    assert source.times[11] < read.seek + read.after < source.times[12]
    assert plan.decoded_frames == 3  # frames 10, 11, 12


@pytest.mark.parametrize("width, height, scale_type, expected", [
    (None, None, "stretch", (320, 240, 320, 240)),
    (0.5, 0.5, "fit", (160, 120, 160, 120)),
    (160, None, "crop", (160, 120, 160, 120)),  # one side: aspect kept, nothing to crop
    (None, 0.25, "stretch", (80, 60, 80, 60)),
    (100, 100, "stretch", (100, 100, 100, 100)),
    (100, 100, "crop", (133, 100, 100, 100)),
    (100, 100, "fill", (100, 75, 100, 100)),
    (100, 100, "fit", (100, 75, 100, 75)),
    (0.25, 60, "stretch", (80, 60, 80, 60)),
])
def test_output_geometry(width, height, scale_type, expected) -> None:
    g = output_geometry(320, 240, width, height, scale_type)
    assert (g.scale_w, g.scale_h, g.out_w, g.out_h) == expected


def test_frame_delays_in_container_ticks() -> None:
    assert frame_delay(15, 100) == 7 and frame_delay(15, 1000) == 67
    assert frame_delay(0.5, 100) == 200 and frame_delay(1000, 100) == 1


def test_select_expression_compresses_runs() -> None:
    assert select_expression((0,)) == "eq(n,0)"
    assert select_expression((0, 3, 6, 9)) == "between(n,0,9)*not(mod(n-0,3))"
    expression = select_expression(tuple(range(0, 3000, 2)))
    assert len(expression) < 60
    functions = {"between": lambda x, a, b: a <= x <= b, "mod": lambda a, b: a % b,
                 "eq": lambda a, b: a == b, "nt": lambda a: not a}
    for picks in [(0, 1, 3, 4, 6, 7), (0, 2, 4, 6, 7, 9, 11, 13, 20), (5,)]:
        expression = select_expression(picks)
        chosen = [n for n in range(30)
                  if eval(re.sub(r"\bn\b", str(n), expression).replace("not(", "nt("), functions)]  # noqa: S307
        assert chosen == list(picks)


def test_skip_filter_is_a_search_that_drops_exactly_the_positions() -> None:
    positions = (40, 170, 171, 900, 5000)
    text = skip_filter(positions)
    assert text.startswith("noise=drop=") and "," not in text.replace("\\,", "")
    expression = text.removeprefix("noise=drop=").replace("\\,", ",").replace("if(", "iff(")
    functions = {"lt": lambda a, b: a < b, "eq": lambda a, b: a == b,
                 "iff": lambda c, a, b: a if c else b}
    dropped = [pos for pos in range(6000)
               if eval(re.sub(r"\bpos\b", str(pos), expression), functions)]  # noqa: S307
    assert dropped == list(positions)
    assert text.count("if(") == len(positions) - 1  # a binary search: depth grows as log2


def test_reads_leave_out_the_non_reference_pictures_they_do_not_pick() -> None:
    # Frames 2, 4, 6, 8 and 13 are non-reference pictures (at byte positions 10 x index).
    source = cfr(10, 2, 10, skippable={2: 20, 4: 40, 6: 60, 8: 80, 13: 130})
    plan = plan_sampling([source], [Window(0, 0)], interval=0.3, prefer="decode")
    (read,) = plan.reads
    assert read.frames == (0, 3, 6, 9, 12, 15, 18)
    assert read.skip == (20, 40, 80, 130)  # frame 6 is picked, so it is decoded
    assert read.picks == (0, 2, 4, 6, 9, 11, 14)  # counted over the frames the decoder gets
    assert decoded_by(read, source)[read.picks[3]] == read.frames[3] == 9
    assert plan.decoded_frames == 19 - 4
    # A seek decodes from its keyframe and leaves out what lies between too.
    (seek,) = plan_sampling([source], [Window(0, 0)], start=0.9, number=1, prefer="seek").reads
    assert (seek.keyframe, seek.frames, seek.skip, seek.picks) == (0, (9,), (20, 40, 60, 80), (0,))


@settings(max_examples=200, deadline=None)
@given(gop=st.integers(1, 40), start=st.floats(0, 3), interval=st.floats(0, 1), parts=st.integers(1, 4),
       skippable=st.sets(st.integers(0, 119)), prefer=st.sampled_from([None, "seek", "decode"]))
def test_skipping_never_changes_which_frames_come_out(gop, start, interval, parts, skippable, prefer) -> None:
    source = cfr(10, 12, gop, skippable={f: 1000 + f for f in skippable if f % gop})
    plan = plan_sampling([source], [Window(0, 0)], start, interval, 0, prefer, parts=parts,
                         min_part_pixels=0)
    for read in plan.reads:
        decoded = decoded_by(read, source)
        assert set(read.frames) <= set(decoded)  # nothing picked is skipped
        # After the time filter drops what precedes `first`, the picks land on the read's frames.
        shown = decoded[decoded.index(read.first):]
        assert [shown[pick] for pick in read.picks] == list(read.frames)


def test_a_source_without_an_index_is_read_from_its_first_frame() -> None:
    """MPEG-TS / -PS: no seek may be trusted, so every read decodes from frame 0, whole."""
    source = dataclasses.replace(cfr(10, 60, 10), seekable=False)
    for prefer in (None, "seek"):
        plan = plan_sampling([source], [Window(0, 0)], start=30, interval=10, parts=4, prefer=prefer)
        assert plan.frames == ((0, 300), (0, 400), (0, 500))
        assert {read.keyframe for read in plan.reads} == {0}
    assert len(plan_sampling([source], [Window(0, 0)], start=30, interval=10, parts=4).reads) == 1


def test_strategy_can_be_forced() -> None:
    source = cfr(30, 60, 30)
    assert {r.strategy for r in plan_sampling([source], [Window(0, 0)], interval=4, prefer="decode").reads} \
        == {"decode"}
    assert {r.strategy for r in plan_sampling([source], [Window(0, 0)], interval=0.1, prefer="seek").reads} \
        == {"seek"}


def test_keyframe_and_average_modes() -> None:
    source = cfr(10, 12, 10)  # keyframes every second
    keyframes = plan_sampling([source], [Window(0, 0)], start=5.5, number=3, mode="keyframe")
    assert [f for _, f in keyframes.frames] == [60, 70, 80]
    # On a timeline of two windows, each window's own keyframes, shifted.
    both = plan_sampling([source], [Window(0, 2.5, 3), Window(0, 9)], mode="keyframe")
    assert [f for _, f in both.frames] == [30, 40, 50, 90, 100, 110]
    assert both.times == pytest.approx((0.5, 1.5, 2.5, 3.0, 4.0, 5.0))
    average = plan_sampling([source], [Window(0, 0)], number=4, mode="average")
    assert [f for _, f in average.frames] == [15, 45, 75, 105]
    assert plan_sampling([source], [Window(0, 0)], start=13, number=2, mode="average").frames == ()


def picked(plan) -> list[tuple[int, int]]:
    """The (source, frame) each read picks, read after read: what the output shows."""
    return [(r.source, f) for r in plan.reads for f in r.frames]


@pytest.mark.parametrize("parts", [2, 3, 4])
def test_a_dense_decode_is_cut_at_keyframes_into_parts_of_equal_work(parts: int) -> None:
    source = cfr(30, 60, 30)
    whole = plan_sampling([source], [Window(0, 0)], interval=0.2)
    split = plan_sampling([source], [Window(0, 0)], interval=0.2, parts=parts, min_part_pixels=0)
    assert len(whole.reads) == 1 and len(split.reads) == parts
    assert split.frames == whole.frames and picked(split) == picked(whole) == list(whole.frames)
    for read in split.reads:
        assert read.strategy == "decode" and read.keyframe in source.keyframes
        assert read.keyframe <= read.first  # decoding starts at the part's own keyframe
    costs = [r.first - r.keyframe + r.picks[-1] + 1 for r in split.reads]
    assert max(costs) - min(costs) <= 30  # equal up to one GOP
    assert split.decoded_frames <= whole.decoded_frames


def test_parts_leave_seeks_alone_and_never_outnumber_keyframes() -> None:
    source = cfr(30, 60, 30)
    sparse = plan_sampling([source], [Window(0, 0)], interval=4)
    assert plan_sampling([source], [Window(0, 0)], interval=4, parts=2).reads == sparse.reads
    one_gop = cfr(25, 2, 50)  # one keyframe: nowhere to cut
    assert len(plan_sampling([one_gop], [Window(0, 0)], parts=4, min_part_pixels=0).reads) == 1


def test_runs_too_small_to_pay_for_a_part_stay_whole() -> None:
    hd = cfr(30, 60, 30, (1920, 1080))
    assert len(plan_sampling([hd], [Window(0, 0)], interval=0.2, parts=2).reads) == 2
    assert len(plan_sampling([hd], [Window(0, 0)], interval=0.2, number=5, parts=2).reads) == 1  # 30 frames
    small = cfr(10, 12, 10)  # 120 frames of 320x240: less than one 1080p second
    assert len(plan_sampling([small], [Window(0, 0)], interval=0.1, parts=2).reads) == 1


@settings(max_examples=200, deadline=None)
@given(fps=st.sampled_from([5, 10, 24, 25, 30]), seconds=st.integers(1, 40), gop=st.integers(1, 90),
       start=st.floats(0, 5), interval=st.floats(0, 3), number=st.integers(0, 50),
       parts=st.integers(1, 8), second_window=st.booleans())
def test_any_split_picks_the_frames_of_the_single_pass(fps, seconds, gop, start, interval, number, parts,
                                                       second_window) -> None:
    sources = [cfr(fps, seconds, gop), cfr(fps, seconds / 2 + 1, gop)]
    windows = [Window(0, 0)] + ([Window(1, 0.5)] if second_window else [])
    whole = plan_sampling(sources, windows, start, interval, number)
    split = plan_sampling(sources, windows, start, interval, number, parts=parts, min_part_pixels=0)
    assert split.frames == whole.frames
    assert picked(split) == picked(whole) == list(whole.frames)
    for read in split.reads:
        assert read.keyframe in sources[read.source].keyframes and read.keyframe <= read.first
