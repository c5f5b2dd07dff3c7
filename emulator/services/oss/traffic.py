"""Single-connection bandwidth limits (`x-oss-traffic-limit`, bits per second): a PutObject,
UploadPart or AppendObject body is read, and a GetObject body sent, no faster than the limit.

Pacing is real time (it is what the network would do), planned as data: the byte at offset n is
due n * 8 / limit seconds after the transfer began, and bodies move in pieces of at most a tenth
of a second's worth, so a limited transfer is smooth rather than one burst and one long wait."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass

from emulator.services.oss import errors

HEADER = "x-oss-traffic-limit"
MIN_BITS_PER_SECOND = 100 * 1024 * 8  # 819200: 100 KB/s
MAX_BITS_PER_SECOND = 100 * 1024 * 1024 * 8  # 838860800: 100 MB/s
PIECES_PER_SECOND = 10
_DIGITS = re.compile(r"[0-9]{1,12}")


def requested(headers: Mapping[str, str], query: Mapping[str, str]) -> int | None:
    """The limit a request asks for (header, or query of a presigned URL); InvalidArgument when
    it is not an integer in [819200, 838860800]."""
    raw = headers[HEADER] if HEADER in headers else query.get(HEADER)
    if raw is None:
        return None
    if not _DIGITS.fullmatch(raw) or not MIN_BITS_PER_SECOND <= int(raw) <= MAX_BITS_PER_SECOND:
        raise errors.invalid_argument(f"The value of {HEADER} must be an integer between "
                                      f"{MIN_BITS_PER_SECOND} and {MAX_BITS_PER_SECOND}.", HEADER, raw)
    return int(raw)


def piece_size(bits_per_second: int) -> int:
    return max(1, bits_per_second // 8 // PIECES_PER_SECOND)


def due(offset: int, bits_per_second: int) -> float:
    """Seconds after the start at which the byte at `offset` may move."""
    return offset * 8 / bits_per_second


@dataclass(frozen=True)
class Piece:
    offset: int
    size: int
    at: float  # seconds after the start


def plan(total: int, bits_per_second: int) -> list[Piece]:
    """How a body of `total` bytes moves under the limit (what `paced` does, as data)."""
    step = piece_size(bits_per_second)
    return [Piece(offset, min(step, total - offset), due(offset, bits_per_second))
            for offset in range(0, total, step)]


def _split(chunk: bytes, step: int) -> Iterator[bytes]:
    for start in range(0, len(chunk), step):
        yield chunk[start:start + step]


async def paced(chunks: AsyncIterator[bytes], bits_per_second: int | None,
                sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                now: Callable[[], float] = time.monotonic) -> AsyncIterator[bytes]:
    """`chunks` re-cut into pieces, each held back until it is due; as is without a limit."""
    if bits_per_second is None:
        async for chunk in chunks:
            yield chunk
        return
    step, start, offset = piece_size(bits_per_second), now(), 0
    async for chunk in chunks:
        for piece in _split(chunk, step):
            wait = start + due(offset, bits_per_second) - now()
            if wait > 0:
                await sleep(wait)
            yield piece
            offset += len(piece)
