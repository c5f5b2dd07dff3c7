"""uvicorn's h11 protocol with the guards it lacks: a deadline for a request's headers, a cap on the
connections one client address may hold, one log line (not a traceback) when a client breaks
its body's framing after the response has begun (an abandoned chunked or oversized upload), and
no keep-alive after a bodiless request that declared a body it never sent."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from types import MethodType
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger("emulator")
# Methods whose OSS operations read no body: a declared body still owed when the answer starts
# would swallow the start of the client's next request on the connection.
BODILESS_METHODS = frozenset({"GET", "HEAD", "DELETE", "OPTIONS"})


class GuardedH11Protocol(H11Protocol):
    """One connection. `header_timeout` seconds (0: none) from the connection's start, or from the
    first byte of a later request on it, to the end of the request's headers; at most
    `max_per_client` open connections (0: no cap) from one address, counted across the server."""

    def __init__(self, *args: Any, header_timeout: float, max_per_client: int, per_client: Counter[str],
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout = header_timeout
        self.max_per_client = max_per_client
        self.per_client = per_client
        self.counted: str | None = None
        self.header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        host = self.client[0] if self.client else ""
        if self.max_per_client and self.per_client[host] >= self.max_per_client:
            log.warning("refused a connection from %s: it holds %d already (max_connections_per_client)",
                        host, self.per_client[host])
            transport.abort()
            return
        self.per_client[host] += 1
        self.counted = host
        self._watch_headers()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.counted is not None:
            self.per_client[self.counted] -= 1
            if not self.per_client[self.counted]:
                del self.per_client[self.counted]
            self.counted = None
        self._stop_header_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._watch_headers()

    def handle_events(self) -> None:
        cycle = self.cycle
        super().handle_events()
        if self.cycle is not None and self.cycle is not cycle:
            self._close_if_body_owed(self.cycle)

    def _close_if_body_owed(self, cycle: Any) -> None:
        """A GET with `Content-Length: 5` and no body: h11 would take the first 5 bytes of the
        next request as that body, and answer the rest with a bare 400. Answer this one with
        `Connection: close` instead (the client reconnects for the next), as uvicorn would for a
        request that asked to close."""
        if cycle.scope["method"] not in BODILESS_METHODS:
            return
        send = cycle.send

        async def send_closing(owner: Any, message: Any) -> None:
            if message["type"] == "http.response.start" and self.conn.their_state is h11.SEND_BODY:
                message = {**message, "headers": [*message.get("headers", []), (b"connection", b"close")]}
            await send(message)
        # Bound to the cycle as uvicorn's own send is: a fault rule's reset finds the transport
        # through it (pipeline._drop_connection).
        cycle.send = MethodType(send_closing, cycle)

    def send_400_response(self, msg: str) -> None:
        # uvicorn answers bad framing with a 400, which h11 refuses (LocalProtocolError) once a
        # response has begun: the client broke off a body the app had already answered.
        if self.conn.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            log.warning("closed a connection from %s: %s after its response (abandoned body)",
                        self.client[0] if self.client else "-", msg.rstrip("."))
            self.transport.close()
            return
        super().send_400_response(msg)

    def _watch_headers(self) -> None:
        """Arm the deadline while a request's headers are awaited, drop it once they are in."""
        waiting = self.conn.their_state is h11.IDLE and not self.transport.is_closing()
        if waiting and self.header_timer is None and self.header_timeout:
            self.header_timer = self.loop.call_later(self.header_timeout, self._headers_too_slow)
        elif not waiting:
            self._stop_header_timer()

    def _stop_header_timer(self) -> None:
        if self.header_timer is not None:
            self.header_timer.cancel()
            self.header_timer = None

    def _headers_too_slow(self) -> None:
        self.header_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            log.warning("closed a connection from %s: no complete request headers in %gs "
                        "(header_timeout_seconds)", self.client[0] if self.client else "-",
                        self.header_timeout)
            self.transport.close()
