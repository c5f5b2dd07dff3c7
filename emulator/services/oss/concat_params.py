"""`video/concat` (x-oss-async-process): videos joined in the order written (every `/pre` before
the object the request names, every `/sur` after it, at most 11), each from its own window
(`ss`, `t` ms), then transcoded with the parameters of `video/convert` (emulator.services.oss.
convert_params); `align` picks the video whose size, frame rate and sample rate are the defaults.

    video/concat,f_mp4,vcodec_h264,acodec_aac,align_1/pre,o_<b64 key>/sur,o_<b64 key>,t_2000

Parsed and checked before a task exists. No HTTP, no ffmpeg."""

from __future__ import annotations

from dataclasses import dataclass

from emulator.services.oss.convert_params import MAX_MS, Conversion, conversion_parameters
from emulator.services.oss.process import _split_action, decode_b64url, invalid_argument, missing_argument

MAX_VIDEOS = 11


@dataclass(frozen=True)
class ConcatPart:
    key: str | None  # None: the object the request names
    start: float = 0.0  # seconds
    duration: float = 0.0  # 0: to the end


@dataclass(frozen=True)
class Concat:
    conversion: Conversion  # the output; its clip is the window (ss, t) of the joined video
    parts: tuple[ConcatPart, ...]
    align: int = 0


def parse_concat(text: str) -> Concat:
    """`text` is "concat,<convert parameters>,align_<n>/pre,o_..[,ss_..,t_..]/sur,o_..."."""
    head, *segments = text.split("/")
    p = _split_action(head)
    align = p.int("align", 0, MAX_VIDEOS - 1, 0) or 0
    conversion = conversion_parameters(p, "video")
    p.done()
    spec = conversion.spec
    for stream, key in ((spec.video, "vcodec"), (spec.audio, "acodec")):
        if stream is not None and stream.codec == "copy":
            raise invalid_argument(f"The parameter {key!r} of concat must name an encoder: joined videos "
                                   f"are re-encoded (copy cannot join).")
    pres: list[ConcatPart] = []
    surs: list[ConcatPart] = []
    for segment in segments:
        part = _split_action(segment)
        if part.action not in ("pre", "sur"):
            raise invalid_argument(f"video/concat takes /pre and /sur segments, not {part.action!r}.")
        raw = part.take("o")
        if raw is None:
            raise missing_argument(f"The /{part.action} segment of video/concat needs the parameter 'o'.")
        key = decode_b64url(raw, f"{part.action} object name")
        start = part.int("ss", 0, MAX_MS, 0) or 0
        duration = part.int("t", 0, MAX_MS, 0) or 0
        part.done()
        (pres if part.action == "pre" else surs).append(ConcatPart(key, start / 1000, duration / 1000))
    parts = (*pres, ConcatPart(None), *surs)
    if len(parts) > MAX_VIDEOS:
        raise invalid_argument(f"video/concat joins at most {MAX_VIDEOS} videos, not {len(parts)}.")
    if align >= len(parts):
        raise invalid_argument(f"The parameter 'align' of concat must be below the number of videos "
                               f"({len(parts)}), not {align}.")
    return Concat(conversion, parts, align)
