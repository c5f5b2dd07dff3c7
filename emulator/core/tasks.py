"""What every asynchronous task shares (IMM MediaConvert, DashScope animate; next transcoding and
OSS async processing): the one task runner, a bounded worker pool for blocking work, a progress
helper, the task fault rules, and a timeline of events per task (submitted, started, progress,
fault applied, output written, notified, finished) that the admin API shows.

How a service uses the runner: its build function makes one `TaskRunner(runtime, service)` and
hands it to the service's job logic, which keeps only what one task does (an `async` function per
task). To start a task the service submits a `Job`; with a `lane` (DashScope: the account's
namespace) the jobs of that lane run one at a time, first submitted first; without one (IMM) jobs
run side by side. Either way blocking work (ffmpeg, file copies, fsync, hashing) goes through
`runner.offload`, the runtime's `WorkerPool`, which bounds how much runs at once. The service's
handle wires `runner.cancel` into reset (drop one namespace's jobs), `runner.close` into shutdown,
and at startup passes `runner.resume` what a previous run left unfinished (`Unfinished`: how to
restart it, or how to fail it when it cannot run again). Fault rules on tasks are applied by the
job through `runner.faults` (`take_task_faults`, the one way to apply them); a job reports its
share of work done through a `Progress`.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from emulator.core.clock import Clock
from emulator.core.documents import Documents
from emulator.core.errors import ServiceError
from emulator.core.ports import ObjectStore

if TYPE_CHECKING:  # the runtime builds the pool and the timeline defined here
    from emulator.core.runtime import Runtime

log = logging.getLogger("emulator.tasks")
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
    # output_vanish: the outputs of a successful task are deleted this long after it ends
    vanish_after_seconds: float | None = None
    result_url_ttl_seconds: float | None = None  # DashScope: the result URL's shorter life


async def take_task_faults(runtime: Runtime, service: str, namespace: str, task_id: str,
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
    vanish = faults.take(service, info, ("output_vanish",))
    if vanish is not None:
        spec = vanish.effect["output_vanish"]
        result.vanish_after_seconds = float((spec if isinstance(spec, dict) else {}).get("after_seconds", 0))
        runtime.events.record(namespace, service, task_id, "fault applied", rule=vanish.id,
                              effect="output_vanish", seconds=result.vanish_after_seconds)
    ttl = faults.take(service, info, ("result_url_ttl_seconds",))
    if ttl is not None:
        result.result_url_ttl_seconds = float(ttl.effect["result_url_ttl_seconds"])
        runtime.events.record(namespace, service, task_id, "fault applied", rule=ttl.id,
                              effect="result_url_ttl_seconds", seconds=result.result_url_ttl_seconds)
    return result


@dataclass(frozen=True)
class Job:
    """One task's work as its service defines it; the runner decides when it runs."""

    namespace: str
    task_id: str
    run: Callable[[], Awaitable[None]]
    # Jobs sharing a lane run one at a time, in the order they were submitted; None: no waiting.
    lane: str | None = None


@dataclass(frozen=True)
class Unfinished:
    """A task a previous run of the server left queued or running, as its service describes it."""

    namespace: str
    task_id: str
    restart: Callable[[], Job]  # the job again; raises when the task cannot run again
    fail: Callable[[str], None]  # ends the task as failed instead, with this message


class Progress:
    """A task's whole percents: they only rise and never reach 100 before the task ends (the
    service writes 100 when it finishes). Safe to call from a worker thread."""

    def __init__(self, save: Callable[[int], None], record: Callable[[int], None], percent: int = 0) -> None:
        self.percent = percent
        self._save = save
        self._record = record

    def __call__(self, done: float) -> None:
        """`done`: the fraction of the task's work finished so far (0..1)."""
        percent = min(99, int(done * 100))
        if percent > self.percent:
            self.percent = percent
            self._save(percent)

    def set(self, percent: int) -> None:
        """Move to `percent` (at most 99) whatever it was, and note it in the timeline: a fault
        rule's `at_progress`."""
        self.percent = min(99, int(percent))
        self._save(self.percent)
        self._record(self.percent)


@dataclass
class _Lane:
    lock: asyncio.Lock
    jobs: int = 0  # submitted and not yet done; the lane is dropped at 0


class TaskRunner:
    """Runs one service's jobs on the event loop as asyncio tasks (see the module docstring)."""

    def __init__(self, runtime: Runtime, service: str) -> None:
        self.rt = runtime
        self.service = service
        self._jobs: dict[asyncio.Task[None], Job] = {}
        self._lanes: dict[str, _Lane] = {}
        self._removals: dict[asyncio.Task[None], str] = {}  # output_vanish deletions -> namespace

    def submit(self, job: Job) -> None:
        lane = None
        if job.lane is not None:
            lane = self._lanes.get(job.lane)
            if lane is None:
                lane = self._lanes[job.lane] = _Lane(asyncio.Lock())
            lane.jobs += 1
        # Tasks take their first step in creation order, so a lane's lock is asked for (and, being
        # fair, granted) in submission order.
        task = asyncio.get_running_loop().create_task(self._run(job, lane),
                                                      name=f"{self.service} {job.task_id}")
        self._jobs[task] = job
        task.add_done_callback(lambda done: self._done(done, lane))

    async def resume(self, unfinished: Iterable[Unfinished]) -> None:
        """Submit again, in the given order, what a previous run of the server left unfinished; a
        task that cannot run again is failed rather than keeping the server from starting."""
        for item in unfinished:
            try:
                job = item.restart()
            except Exception as exc:
                log.exception("%s task %s cannot be resumed", self.service, item.task_id)
                self.rt.events.record(item.namespace, self.service, item.task_id, "resume failed",
                                      reason=str(exc))
                item.fail(f"The task could not be resumed after the emulator restarted: {exc}")
                continue
            self.rt.events.record(item.namespace, self.service, item.task_id, "resumed")
            self.submit(job)

    def cancel(self, namespace: str | None) -> None:
        """Stop the running and waiting jobs of one namespace (None: all), e.g. on reset."""
        for task, job in list(self._jobs.items()):
            if namespace is None or job.namespace == namespace:
                task.cancel()
        for task, owner in list(self._removals.items()):
            if namespace is None or owner == namespace:
                task.cancel()

    def remove_outputs_later(self, namespace: str, task_id: str, store: ObjectStore,
                             objects: Iterable[tuple[str, str]], after_seconds: float) -> None:
        """An output_vanish rule: a succeeded task's output objects are deleted `after_seconds`
        later on the emulator's clock (as a lifecycle rule or another process would); the task
        itself stays as it ended. Pending deletions do not survive a restart."""
        objects = list(objects)

        async def remove() -> None:
            await self.rt.clock.sleep_until(self.rt.clock.now() + after_seconds)
            for bucket, key in objects:
                try:
                    store.delete_object(namespace, bucket, key)
                except ServiceError:  # the bucket went first: nothing left to remove
                    pass
            self.rt.events.record(namespace, self.service, task_id, "output removed",
                                  objects=[f"oss://{bucket}/{key}" for bucket, key in objects])

        task = asyncio.get_running_loop().create_task(remove(), name=f"{self.service} {task_id} vanish")
        self._removals[task] = namespace
        task.add_done_callback(lambda done: self._removals.pop(done, None))

    async def close(self) -> None:
        tasks = [*self._jobs, *self._removals]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def faults(self, namespace: str, task_id: str, info: dict[str, Any]) -> TaskFaults:
        """The task fault rules matching a starting task (`take_task_faults` for this service)."""
        return await take_task_faults(self.rt, self.service, namespace, task_id, info)

    async def offload(self, fn: Callable[..., T], *args: Any) -> T:
        """Run blocking work (ffmpeg, file copies, fsync, hashing) in the worker pool."""
        return await self.rt.pool.run(fn, *args)

    def progress(self, namespace: str, task_id: str, save: Callable[[int], None],
                 percent: int = 0) -> Progress:
        def record(value: int) -> None:
            self.rt.events.record(namespace, self.service, task_id, "progress", progress=value)

        return Progress(save, record, percent)

    async def _run(self, job: Job, lane: _Lane | None) -> None:
        if lane is None:
            await self._guarded(job)
            return
        async with lane.lock:
            await self._guarded(job)

    async def _guarded(self, job: Job) -> None:
        try:
            await job.run()
        except Exception:  # a bug in one job must not stop its lane; the job fails its own task
            log.exception("%s task %s failed unexpectedly", self.service, job.task_id)

    def _done(self, task: asyncio.Task[None], lane: _Lane | None) -> None:
        job = self._jobs.pop(task)
        if lane is not None and job.lane is not None:
            lane.jobs -= 1
            if lane.jobs == 0 and self._lanes.get(job.lane) is lane:
                del self._lanes[job.lane]
