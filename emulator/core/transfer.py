"""Broken transfers: the `send` and `receive` wrappers the pipeline puts around a normal answer
when a fault rule cuts it short, slows it down or corrupts it. Nothing here changes what a
service stored: only the bytes on the wire differ.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.types import Message, Receive, Send

Drop = Callable[[], Awaitable[None]]
_PACE_SLICE_SECONDS = 0.05  # a paced body goes out in slices this long


class Cut(Exception):
    """The connection was closed on purpose in the middle of an answer."""


def content_length(message: Message) -> int | None:
    for name, value in message.get("headers", []):
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def truncating(send: Send, drop: Drop, spec: dict[str, Any]) -> Send:
    """Headers as they are, then `bytes` (or `fraction` of Content-Length) bytes of the body,
    then the connection closes (raises Cut). A body that is shorter goes out whole."""
    state: dict[str, int] = {"limit": 0, "sent": 0}

    async def cut_send(message: Message) -> None:
        if message["type"] == "http.response.start":
            length = content_length(message) or 0
            state["limit"] = spec["bytes"] if "bytes" in spec else int(spec["fraction"] * length)
            await send(message)
            return
        if message["type"] != "http.response.body":
            await send(message)
            return
        body = message.get("body", b"")
        if state["sent"] + len(body) <= state["limit"]:
            state["sent"] += len(body)
            await send(message)
            return
        room = state["limit"] - state["sent"]
        if room > 0:
            await send({"type": "http.response.body", "body": body[:room], "more_body": True})
        await drop()
        raise Cut

    return cut_send


def pacing(send: Send, bytes_per_second: float, closed: Callable[[], bool]) -> Send:
    """The body in slices, each after the wall-clock time its size takes at the rate."""
    step = max(1, int(bytes_per_second * _PACE_SLICE_SECONDS))

    async def paced_send(message: Message) -> None:
        if message["type"] != "http.response.body":
            await send(message)
            return
        body, more = message.get("body", b""), message.get("more_body", False)
        for start in range(0, len(body), step):
            piece = body[start:start + step]
            await asyncio.sleep(len(piece) / bytes_per_second)
            if closed():
                raise Cut
            last = start + step >= len(body)
            await send({"type": "http.response.body", "body": piece, "more_body": more or not last})
        if not body:
            await send(message)

    return paced_send


def paced_receive(receive: Receive, bytes_per_second: float) -> Receive:
    """The request body handed over no faster than the rate."""

    async def slow_receive() -> Message:
        message = await receive()
        if message["type"] == "http.request" and message.get("body"):
            await asyncio.sleep(len(message["body"]) / bytes_per_second)
        return message

    return slow_receive


def flip_positions(count: int, length: int | None) -> list[int]:
    """Where `count` flipped bytes go: spread evenly over a body of `length` bytes (the first
    bytes when the length is not known)."""
    if not length:
        return list(range(count))
    count = min(count, length)
    return sorted({(n * 2 + 1) * length // (count * 2) for n in range(count)})


def garble(value: bytes) -> bytes:
    """A header value changed in every letter and digit, still a valid header value."""
    def turn(c: int) -> int:
        if 48 <= c <= 57:
            return 48 + (c - 48 + 1) % 10
        if 65 <= c <= 90:
            return 65 + (c - 65 + 1) % 26
        if 97 <= c <= 122:
            return 97 + (c - 97 + 1) % 26
        return c

    turned = bytes(turn(c) for c in value)
    return turned if turned != value else value + b"-corrupted"


# Headers that frame the message: garbling them would break HTTP itself, not the data.
_FRAMING = ("content-length", "transfer-encoding", "connection")


def header_selected(name: bytes, patterns: list[str]) -> bool:
    text = name.decode("latin-1").lower()
    if text in _FRAMING:
        return False
    return any(text.startswith(p[:-1].lower()) if p.endswith("*") else text == p.lower()
               for p in patterns)


def corrupting(send: Send, spec: dict[str, Any]) -> Send:
    """Body bytes flipped (XOR 0xFF) and/or the named headers garbled; everything else, the
    advertised checksums included, as the service sent it."""
    headers = spec.get("headers")
    flips = spec.get("bytes", 0 if headers else 1)
    state: dict[str, Any] = {"offset": 0, "positions": []}

    async def corrupt_send(message: Message) -> None:
        if message["type"] == "http.response.start":
            state["positions"] = flip_positions(flips, content_length(message)) if flips else []
            if headers:
                message = {**message, "headers": [
                    (name, garble(value) if header_selected(name, headers) else value)
                    for name, value in message.get("headers", [])]}
        elif message["type"] == "http.response.body" and state["positions"]:
            body = bytearray(message.get("body", b""))
            start = state["offset"]
            for position in state["positions"]:
                if start <= position < start + len(body):
                    body[position - start] ^= 0xFF
            state["offset"] += len(body)
            message = {**message, "body": bytes(body)}
        await send(message)

    return corrupt_send


async def wait_for_disconnect(receive: Receive, max_seconds: float) -> None:
    """Return when the client goes away or after `max_seconds`, whichever comes first."""
    async def until_gone() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    try:
        await asyncio.wait_for(until_gone(), max_seconds)
    except TimeoutError:
        pass
