"""The emulator's clock: wall time plus an offset, or frozen; advanceable by the admin API.

Everything time-based (task timestamps, expiry of presigned URLs and DashScope results, MNS
visibility timeouts) reads `Clock.now()`, and waits with `Clock.sleep_until()`, which wakes as
soon as the clock is moved past the deadline, so tests fast-forward instead of sleeping.

The clock stays between EARLIEST (1970) and LATEST (the end of year 9999, the last time an ISO
8601 date can show): a command that would move it outside is refused, and a stored clock outside
is not restored.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Annotated, Any

from pydantic import BeforeValidator

from emulator.core.validation import Document, FiniteNumber, InvalidDocument, between, fail, validate

EARLIEST = 0.0
LATEST = datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone.utc).timestamp()
MAX_ADVANCE_SECONDS = 10 * 365.25 * 86400  # ten years in one command
_EARLIEST_ISO, _LATEST_ISO = "1970-01-01T00:00:00Z", "9999-12-31T23:59:59Z"


class Clock:
    def __init__(self, offset: float = 0.0, frozen_at: float | None = None,
                 wall: Callable[[], float] = time.time) -> None:
        self._wall = wall
        self._offset = offset
        self._frozen_at = frozen_at
        self._lock = threading.Lock()
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
        self._listeners: list[Callable[[], None]] = []

    def now(self) -> float:
        with self._lock:
            return self._frozen_at if self._frozen_at is not None else self._wall() + self._offset

    @property
    def frozen(self) -> bool:
        return self._frozen_at is not None

    def state(self) -> dict:
        with self._lock:
            return {"offset": self._offset, "frozen_at": self._frozen_at}

    def advance(self, seconds: float) -> None:
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at += seconds
            else:
                self._offset += seconds
        self._changed()

    def set(self, timestamp: float) -> None:
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at = timestamp
            else:
                self._offset = timestamp - self._wall()
        self._changed()

    def freeze(self, frozen: bool) -> None:
        with self._lock:
            if frozen and self._frozen_at is None:
                self._frozen_at = self._wall() + self._offset
            elif not frozen and self._frozen_at is not None:
                self._offset = self._frozen_at - self._wall()
                self._frozen_at = None
        self._changed()

    def reset(self) -> None:
        """Back to wall time, running."""
        with self._lock:
            self._offset = 0.0
            self._frozen_at = None
        self._changed()

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call `listener` (from the thread that moved the clock) after every move."""
        self._listeners.append(listener)

    async def sleep_until(self, deadline: float) -> None:
        """Return once now() >= deadline, waking early whenever the clock is moved."""
        loop = asyncio.get_running_loop()
        while True:
            remaining = deadline - self.now()
            if remaining <= 0:
                return
            event = asyncio.Event()
            entry = (loop, event)
            with self._lock:
                self._waiters.add(entry)
            try:
                timeout = None if self.frozen else remaining
                await asyncio.wait_for(event.wait(), timeout)
            except TimeoutError:
                pass
            finally:
                with self._lock:
                    self._waiters.discard(entry)

    async def sleep(self, seconds: float) -> None:
        await self.sleep_until(self.now() + seconds)

    def _changed(self) -> None:
        with self._lock:
            waiters = list(self._waiters)
        for loop, event in waiters:
            if not loop.is_closed():
                loop.call_soon_threadsafe(event.set)
        for listener in self._listeners:
            listener()


def _instant(value: Any) -> float:
    """An ISO 8601 time (UTC when it names no zone; a YAML timestamp is already a datetime)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise fail("time", "must be an ISO 8601 time") from None
    if not isinstance(value, datetime):
        raise fail("time", "must be an ISO 8601 time")
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.timestamp()


# json_schema_input_type: the OpenAPI document shows what a client sends, an ISO 8601 time.
Instant = Annotated[float, BeforeValidator(_instant, json_schema_input_type=datetime),
                    between(EARLIEST, LATEST)]


class ClockCommand(Document):
    """What POST /_emulator/clock and a scenario's `clock` section may say."""

    advance_seconds: Annotated[FiniteNumber, between(0, MAX_ADVANCE_SECONDS)] = 0
    set: Instant = None  # absent: keep the time
    frozen: bool | None = None  # absent or null: keep running or frozen


def apply_clock(clock: Clock, command: ClockCommand) -> None:
    """Set, then advance, then freeze or thaw; refused (InvalidDocument) before any change when
    the result would leave the clock's range. A clock to be frozen is frozen first, so it stops
    exactly at the time set (no wall time passes between the steps)."""
    start = command.set if command.set is not None else clock.now()
    if start + command.advance_seconds > LATEST:
        raise InvalidDocument("advance_seconds", f"would move the clock past {_LATEST_ISO}")
    if command.frozen:
        clock.freeze(True)
    if command.set is not None:
        clock.set(command.set)
    if command.advance_seconds:
        clock.advance(command.advance_seconds)
    if command.frozen is False:
        clock.freeze(False)


class ClockState(Document):
    """The clock as stored (Clock.state())."""

    offset: FiniteNumber = 0.0
    frozen_at: Annotated[FiniteNumber, between(EARLIEST, LATEST)] | None = None


def restore_clock(saved: Any, wall: Callable[[], float] = time.time) -> Clock:
    """A clock from its stored state; InvalidDocument when that is not a state, or would put the
    clock outside its range."""
    state = validate(ClockState, saved, "clock")
    clock = Clock(state.offset, state.frozen_at, wall)
    if not EARLIEST <= clock.now() <= LATEST:
        raise InvalidDocument("offset", f"puts the clock outside {_EARLIEST_ISO} .. {_LATEST_ISO}")
    return clock
