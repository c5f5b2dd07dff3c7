"""Decoding outputs for assertions: container, streams, and which numbered source frame a video
shows at a given time (the fixtures draw each frame's index; emulator.media.framecode)."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import av

from emulator.media.framecode import read_frame_index


@dataclass(frozen=True)
class Decoded:
    format: str
    video_codec: str | None
    width: int
    height: int
    fps: float
    frames: int  # decoded video frames
    video_duration: float  # last frame's time + one frame
    audio_codec: str | None
    sample_rate: int
    channels: int
    audio_duration: float
    frame_times: tuple[float, ...]


def decode(path: Path | str) -> Decoded:
    """Decode every frame (not headers only: an output that does not play fails here)."""
    with av.open(str(path)) as container:
        video = container.streams.video[0] if container.streams.video else None
        audio = container.streams.audio[0] if container.streams.audio else None
        times: list[float] = []
        audio_end = 0.0
        audio_start: float | None = None
        for frame in container.decode(*(s for s in (video, audio) if s is not None)):
            if frame.time is None:
                continue
            if isinstance(frame, av.VideoFrame):
                times.append(frame.time)
            else:
                audio_start = frame.time if audio_start is None else audio_start
                audio_end = max(audio_end, frame.time + frame.samples / frame.sample_rate)
        times.sort()
        fps = float(video.average_rate or video.base_rate or 0) if video else 0.0
        gap = 1 / fps if fps else 0.0
        return Decoded(
            format=container.format.name,
            video_codec=video.codec_context.codec.canonical_name if video else None,
            width=video.codec_context.width if video else 0,
            height=video.codec_context.height if video else 0,
            fps=fps, frames=len(times),
            video_duration=(times[-1] - times[0] + gap) if times else 0.0,
            audio_codec=audio.codec_context.codec.canonical_name if audio else None,
            sample_rate=audio.codec_context.sample_rate if audio else 0,
            channels=audio.codec_context.channels if audio else 0,
            audio_duration=audio_end - (audio_start or 0.0),
            frame_times=tuple(t - times[0] for t in times) if times else ())


def decode_bytes(data: bytes, suffix: str) -> Decoded:
    with tempfile.NamedTemporaryFile(suffix=suffix) as file:
        file.write(data)
        file.flush()
        return decode(file.name)


def frame_indices_at(path: Path | str, times: list[float]) -> list[int]:
    """The source frame index shown at each output time (seconds from the first frame)."""
    wanted = sorted(times)
    found: dict[float, int] = {}
    with av.open(str(path)) as container:
        first = None
        previous = None
        for frame in container.decode(video=0):
            t = frame.time
            first = t if first is None else first
            index = read_frame_index(frame.to_image())
            while wanted and t - first > wanted[0] + 1e-6:
                found[wanted.pop(0)] = index if previous is None else previous
            previous = index
        for t in wanted:
            found[t] = previous
    return [found[t] for t in times]
