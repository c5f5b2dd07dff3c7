"""What IMM and DashScope tasks share: a bounded pool for blocking media work, and a timeline of
events per task (submitted, started, progress, fault applied, output written, notified, finished)
that the admin API shows."""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import Callable
from dataclasses import dataclass
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


@dataclass
class TaskFaults:
    """What fault rules asked of one task when it started."""

    fail: dict[str, Any] | None = None  # {"code", "message", optional "at_progress"}
    duration_seconds: float | None = None


async def take_task_faults(runtime: Any, service: str, namespace: str, task_id: str,
                           info: dict[str, Any]) -> TaskFaults:
    """Apply the task rules matching a starting task: a stall waits here (the task stays
    running) until its rule is removed or the clock passes `until_seconds`; a failure and a
    duration are returned for the runner to honour. Each application goes into the timeline."""
    faults = runtime.faults
    info = {**info, "namespace": namespace}
    stall = faults.take(service, info, ("task_stall",))
    if stall is not None:
        spec = stall.effect["task_stall"]
        until = spec.get("until_seconds") if isinstance(spec, dict) else None
        deadline = None if until is None else runtime.clock.now() + until
        runtime.events.record(namespace, service, task_id, "fault applied", rule=stall.id,
                              effect="task_stall")
        while any(r.id == stall.id for r in faults.list()) and (
                deadline is None or runtime.clock.now() < deadline):
            await asyncio.sleep(0.05)  # re-checked on a short real-time tick: rules change through the API
        runtime.events.record(namespace, service, task_id, "stall ended", rule=stall.id)
    result = TaskFaults()
    fail = faults.take(service, info, ("task_fail",))
    if fail is not None:
        result.fail = dict(fail.effect["task_fail"])
        runtime.events.record(namespace, service, task_id, "fault applied", rule=fail.id,
                              effect="task_fail")
    duration = faults.take(service, info, ("task_duration_seconds",))
    if duration is not None:
        result.duration_seconds = float(duration.effect["task_duration_seconds"])
        runtime.events.record(namespace, service, task_id, "fault applied", rule=duration.id,
                              effect="task_duration_seconds", seconds=result.duration_seconds)
    return result
