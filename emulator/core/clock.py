"""The emulator's clock: wall time plus an offset, or frozen; advanceable by the admin API.

Everything time-based (task timestamps, expiry of presigned URLs and DashScope results, MNS
visibility timeouts) reads `Clock.now()`, and waits with `Clock.sleep_until()`, which wakes as
soon as the clock is moved past the deadline, so tests fast-forward instead of sleeping.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable


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
