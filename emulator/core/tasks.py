"""What IMM and DashScope tasks share: a bounded pool for blocking media work, and a timeline of
events per task (submitted, started, progress, fault applied, output written, notified, finished)
that the admin API shows."""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import Callable
from typing import Any, TypeVar

from emulator.core.clock import Clock
from emulator.core.documents import Documents

T = TypeVar("T")
EVENT_KIND = "task-event"


class WorkerPool:
    """Runs blocking work (ffmpeg) in threads, at most `size` at once, off the event loop."""

    def __init__(self, size: int = 0) -> None:
        self.size = size or os.cpu_count() or 2
        self._semaphore: asyncio.Semaphore | None = None

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.size)
        async with self._semaphore:
            return await asyncio.to_thread(fn, *args)


class TaskEvents:
    def __init__(self, docs: Documents, clock: Clock) -> None:
        self._docs = docs
        self._clock = clock
        self._seq = itertools.count()

    def record(self, namespace: str, service: str, task_id: str, event: str, **data: Any) -> None:
        now = self._clock.now()
        key = f"{task_id}/{int(now * 1000):015d}-{next(self._seq):09d}"
        self._docs.put(EVENT_KIND, namespace, key, {
            "task_id": task_id, "service": service, "event": event, "time": now, **data})

    def list(self, namespace: str, task_id: str) -> list[dict[str, Any]]:
        return [doc for _, doc in self._docs.scan(EVENT_KIND, namespace, task_id + "/")]
