"""Sampling plans as data: which source frame each output frame is, how to read those frames
(seek per sample or decode a run), and the output geometry. No ffmpeg here: unit-testable.

Times are seconds on a source's container timeline (what `ffmpeg -ss` means). The source frame
"at" time t is the frame being shown at t: the last frame whose presentation time is <= t.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

# Tolerance for float sample times (0.1 * 7 is 0.7000000000000001 or 0.6999999999999999).
_EPSILON = 1e-6
# What opening one more seeking input costs, counted in decoded frames (stream probing, decoder
# start-up, the frame-threaded decoder's pipeline). Measured on 1080p H.264 (45 ms per seek,
# 2.5-3 ms per frame of a full decode): about 15.
SEEK_OVERHEAD_FRAMES = 15
# The least decoding worth a part of its own (one more ffmpeg run: start-up, probing, a joined
# file): 60 frames of 1080p, about 0.2 s of one core. Smaller runs stay whole.
MIN_PART_PIXELS = 60 * 1920 * 1080


@dataclass(frozen=True)
class SourceFrames:
    """The frame timeline of one source video (from a stream copy, no decoding)."""

    times: tuple[float, ...]  # presentation time of every frame, ascending
    keyframes: tuple[int, ...]  # indices into `times` of the frames a seek can start from
    width: int  # display size (after rotation)
    height: int
    # Frame index -> byte position in the file of the frames no other frame is predicted from
    # (non-reference pictures): a read leaves out those it does not pick.
    skippable: Mapping[int, int] = field(default_factory=dict, compare=False)
    # False where ffmpeg's seeking cannot be trusted to land on a keyframe at or before the time
    # asked (MPEG-TS and -PS have no index): every read then decodes from the first frame.
    seekable: bool = True

    @property
    def frame_gap(self) -> float:
        """The typical time between frames (the median gap)."""
        if len(self.times) < 2:
            return 1.0
        gaps = sorted(b - a for a, b in zip(self.times, self.times[1:], strict=False))
        return gaps[len(gaps) // 2] or 1.0

    @property
    def end(self) -> float:
        """When the last frame stops being shown."""
        return self.times[-1] + self.frame_gap if self.times else 0.0

    def frame_at(self, t: float) -> int:
        return max(0, bisect.bisect_right(self.times, t + _EPSILON) - 1)

    def keyframe_before(self, index: int) -> int:
        position = bisect.bisect_right(self.keyframes, index) - 1
        return self.keyframes[position] if position >= 0 else 0

    def read_start(self, index: int) -> int:
        """The frame a read of frame `index` starts decoding at."""
        return self.keyframe_before(index) if self.seekable else 0

    def seek_point(self, keyframe: int) -> float:
        """An `-ss` value (with -noaccurate_seek) that makes the demuxer start at `keyframe`:
        the last keyframe at or before it. A quarter of the way to the next frame: clear of the
        rounding of `-ss`, and of the demuxer's rounding to its time base (AVI counts in frames,
        so half a frame would round up to the next one)."""
        return self.times[keyframe] + self.shown_for(keyframe) / 4

    def shown_for(self, index: int) -> float:
        if index + 1 < len(self.times):
            return self.times[index + 1] - self.times[index]
        return self.frame_gap


@dataclass(frozen=True)
class Window:
    """A part of one source on the output timeline (Sources[].StartTime / Duration)."""

    source: int
    start: float
    duration: float | None = None  # None (or 0): to the end of the source


@dataclass(frozen=True)
class Read:
    """One ffmpeg input: seek to `seek` in source `source` without accurate seek (the demuxer
    lands on keyframe `keyframe`), leave out the packets at byte positions `skip` (pictures no
    pick needs and nothing refers to) before decoding, drop what shows before time `after`
    (relative to the seek point; frames a decoder may emit before the keyframe too), then keep
    the frames at offsets `picks` from frame `first`, each once and in order (offsets count the
    decoded frames: skipped ones are not there). Those are the source's frames `frames`."""

    source: int
    keyframe: int
    first: int
    seek: float
    after: float
    picks: tuple[int, ...]
    strategy: str  # "seek" (one frame per input) | "decode" (a run of frames from one seek)
    frames: tuple[int, ...]
    skip: tuple[int, ...] = ()


@dataclass(frozen=True)
class SamplingPlan:
    frames: tuple[tuple[int, int], ...]  # (source, frame index) of each output frame, in order
    times: tuple[float, ...]  # the output timeline position each one was sampled at
    reads: tuple[Read, ...]
    interval: float  # the interval used (defaulted / raised to the source frame gap)
    decoded_frames: int  # what the reads decode, estimated from keyframe positions


def sample_times(start: float, interval: float, number: int, length: float) -> list[float]:
    """StartTime + k*Interval for k = 0.. while inside [0, length); at most `number` (0: all)."""
    times: list[float] = []
    k = 0
    while number <= 0 or k < number:
        t = start + k * interval
        if t >= length - _EPSILON:
            break
        times.append(t)
        k += 1
    return times


SAMPLING_MODES = ("interval", "keyframe", "average")
# The Content-Type a sampled output (animation, snapshot, sprite sheet) is stored with.
IMAGE_CONTENT_TYPES = {"gif": "image/gif", "webp": "image/webp", "jpg": "image/jpeg", "png": "image/png"}


def mode_times(mode: str, start: float, step: float, number: int, length: float,
               keyframes: list[float]) -> list[float]:
    """Sample times on a timeline of `length` seconds: `interval` every `step` from `start`;
    `keyframe` the keyframes from `start`; `average` `number` times evenly spread over what
    follows `start` (each in the middle of its share). At most `number` (0: all) of them."""
    if mode == "keyframe":
        times = [t for t in keyframes if start - _EPSILON <= t < length - _EPSILON]
        return times[:number] if number > 0 else times
    if mode == "average":
        share = (length - start) / max(number, 1)
        return [start + (k + 0.5) * share for k in range(max(number, 1))] if share > 0 else []
    return sample_times(start, step, number, length)


def plan_sampling(sources: list[SourceFrames], windows: list[Window], start: float = 0.0,
                  interval: float | None = None, number: int = 0, prefer: str | None = None,
                  mode: str = "interval", parts: int = 1,
                  min_part_pixels: int = MIN_PART_PIXELS) -> SamplingPlan:
    """Which frames to take for outputs sampled (by `mode`, see mode_times) on the timeline made
    of `windows` played one after another. `prefer` forces a read strategy ("seek" / "decode");
    by default the cheaper one is chosen per run of frames. With `parts` > 1 every decoded run is
    cut at keyframes into up to that many reads of about equal decoding, to run in parallel, each
    decoding at least `min_part_pixels`."""
    primary = sources[windows[0].source]
    gap = primary.frame_gap
    step = gap if not interval or interval < gap else interval
    spans: list[tuple[float, float, Window]] = []  # (timeline start, timeline end, window)
    keyframes: list[float] = []  # on the timeline
    offset = 0.0
    for window in windows:
        source = sources[window.source]
        begin = min(max(window.start, 0.0), source.end)
        stop = source.end if not window.duration else min(source.end, begin + window.duration)
        spans.append((offset, offset + max(stop - begin, 0.0), Window(window.source, begin)))
        keyframes += [offset + source.times[k] - begin for k in source.keyframes
                      if begin - _EPSILON <= source.times[k] < stop - _EPSILON]
        offset += max(stop - begin, 0.0)
    frames: list[tuple[int, int]] = []
    times = mode_times(mode, start, step, number, offset, keyframes)
    for t in times:
        span = next((s for s in spans if s[0] - _EPSILON <= t < s[1] - _EPSILON), spans[-1])
        source_time = span[2].start + (t - span[0])
        frames.append((span[2].source, sources[span[2].source].frame_at(source_time)))
    reads = [part for read in plan_reads(sources, frames, prefer)
             for part in split_read(sources[read.source], read, parts, min_part_pixels)]
    decoded = sum(_decode_cost(r) for r in reads)
    return SamplingPlan(tuple(frames), tuple(times), tuple(reads), step, decoded)


def _read(source: SourceFrames, source_index: int, run: list[int], strategy: str) -> Read:
    keyframe = source.read_start(run[0])
    seek = source.seek_point(keyframe)
    first = run[0]
    before = source.times[first - 1] if first else source.times[0] - source.shown_for(0)
    wanted = set(run)
    skipped = [f for f in range(keyframe, run[-1]) if f in source.skippable and f not in wanted]
    picks = tuple(f - first - (bisect.bisect_left(skipped, f) - bisect.bisect_left(skipped, first))
                  for f in run)
    return Read(source_index, keyframe, first, seek, (before + source.times[first]) / 2 - seek,
                picks, strategy, tuple(run), tuple(sorted(source.skippable[f] for f in skipped)))


def _decode_cost(read: Read) -> int:
    return read.frames[-1] - read.keyframe + 1 - len(read.skip)


def plan_reads(sources: list[SourceFrames], frames: list[tuple[int, int]],
               prefer: str | None = None) -> list[Read]:
    """Group the wanted frames into inputs. Runs of increasing frames from one source are read
    either by one decode from the keyframe before the first, or by one seek per frame, whichever
    decodes less: seeking wins when samples are further apart than the keyframe spacing."""
    runs: list[tuple[int, list[int]]] = []
    for source_index, frame in frames:
        if runs and runs[-1][0] == source_index and frame > runs[-1][1][-1]:
            runs[-1][1].append(frame)
        else:
            runs.append((source_index, [frame]))
    reads: list[Read] = []
    for source_index, run in runs:
        source = sources[source_index]
        decode_cost = run[-1] - source.read_start(run[0]) + 1
        seek_cost = sum(f - source.read_start(f) + 1 + SEEK_OVERHEAD_FRAMES for f in run)
        decode = decode_cost <= seek_cost if prefer is None else prefer == "decode"
        if len(run) > 1 and decode:
            reads.append(_read(source, source_index, run, "decode"))
        else:
            reads.extend(_read(source, source_index, [f], "seek") for f in run)
    return reads


def split_read(source: SourceFrames, read: Read, parts: int, min_part_pixels: int = 0) -> list[Read]:
    """A decode read cut at keyframes into up to `parts` decode reads, each decoding about the
    same number of frames (and at least `min_part_pixels`), that pick the same frames in the same
    order. Every part starts at a keyframe, so each decodes exactly what the whole read decodes
    there: the same pictures."""
    frames = list(read.frames)
    begin, end = read.keyframe, frames[-1] + 1  # the frames the whole read decodes
    if min_part_pixels > 0:
        parts = min(parts, (end - begin) * source.width * source.height // min_part_pixels)
    if read.strategy != "decode" or parts < 2 or not source.seekable:
        return [read]
    cuts: list[int] = []  # the keyframes where parts after the first begin
    for part in range(1, parts):
        ideal = begin + (end - begin) * part / parts
        nearest = min((k for k in source.keyframes if begin < k < end), default=None,
                      key=lambda k: abs(k - ideal))
        if nearest is not None and nearest not in cuts:
            cuts.append(nearest)
    cuts.sort()
    groups: list[list[int]] = [[] for _ in range(len(cuts) + 1)]
    for frame in frames:
        groups[bisect.bisect_right(cuts, frame)].append(frame)
    return [_read(source, read.source, group, "decode") for group in groups if group]


@dataclass(frozen=True)
class Geometry:
    """Scale the source to scale_w x scale_h, then crop or pad (centred) to out_w x out_h."""

    scale_w: int
    scale_h: int
    out_w: int
    out_h: int
    fit: str  # "stretch" | "crop" | "fill" | "fit"


SCALE_TYPES = ("stretch", "crop", "fill", "fit")


def resolve_length(value: float | None, source: int) -> int | None:
    """IMM's Width/Height: a ratio of the source in (0,1), pixels when a whole number >= 1."""
    if not value:
        return None
    if 0 < value < 1:
        return max(1, round(source * value))
    return int(value)


def output_geometry(src_w: int, src_h: int, width: float | None = None, height: float | None = None,
                    scale_type: str = "stretch") -> Geometry:
    w = resolve_length(width, src_w)
    h = resolve_length(height, src_h)
    if w is None and h is None:
        return Geometry(src_w, src_h, src_w, src_h, scale_type)
    if w is None or h is None:  # one side given: keep the aspect ratio, nothing to crop or pad
        if w is None:
            w = max(1, round(src_w * h / src_h))
        else:
            h = max(1, round(src_h * w / src_w))
        return Geometry(w, h, w, h, scale_type)
    if scale_type == "stretch":
        return Geometry(w, h, w, h, scale_type)
    if scale_type == "crop":  # cover the box, then cut the overflow
        factor = max(w / src_w, h / src_h)
        scale_w, scale_h = max(w, round(src_w * factor)), max(h, round(src_h * factor))
    else:  # fill / fit: inside the box
        factor = min(w / src_w, h / src_h)
        scale_w, scale_h = max(1, min(w, round(src_w * factor))), max(1, min(h, round(src_h * factor)))
    if scale_type == "fit":
        return Geometry(scale_w, scale_h, scale_w, scale_h, scale_type)
    return Geometry(scale_w, scale_h, w, h, scale_type)


def frame_delay(frame_rate: float, ticks_per_second: int) -> int:
    """The per-frame delay in a container's ticks (GIF: 1/100 s, WebP: 1/1000 s); every frame,
    the last included, shows for this long."""
    return max(1, int(math.floor(ticks_per_second / frame_rate + 0.5)))
