"""Unit tests of the one task runner (emulator.core.tasks): lanes run their jobs one at a time in
submission order while jobs without a lane overlap, cancel stops one namespace, close stops
everything, a failing job does not stop its lane, resume restarts or fails what a previous run
left, and Progress only rises. Jobs are coroutines gated by events, so nothing waits on time."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emulator.config import Config
from emulator.core.runtime import Runtime
from emulator.core.tasks import Job, Progress, TaskRunner, Unfinished


@pytest.fixture
def runtime() -> Iterator[Runtime]:
    rt = Runtime(Config(ephemeral=True))
    yield rt
    rt.close()


class Gate:
    """Jobs that note when they start and finish, and finish only when released."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.release: dict[str, asyncio.Event] = {}

    def job(self, ns: str, name: str, lane: str | None = None) -> Job:
        self.release[name] = asyncio.Event()

        async def run() -> None:
            self.log.append(f"start {name}")
            await self.release[name].wait()
            self.log.append(f"end {name}")

        return Job(ns, name, run, lane)


async def settle() -> None:
    """Let every ready task take its steps (no timing: a bounded number of loop turns)."""
    for _ in range(20):
        await asyncio.sleep(0)


def test_a_lane_runs_its_jobs_one_at_a_time_in_submission_order(runtime: Runtime) -> None:
    async def main() -> None:
        runner, gate = TaskRunner(runtime, "svc"), Gate()
        for name in ("a1", "a2", "a3"):
            runner.submit(gate.job("a", name, lane="a"))
        runner.submit(gate.job("b", "b1", lane="b"))
        await settle()
        assert gate.log == ["start a1", "start b1"]  # other lanes do not wait
        gate.release["a2"].set()  # released early: it still waits for a1
        await settle()
        assert "start a2" not in gate.log
        gate.release["a1"].set()
        await settle()
        assert gate.log == ["start a1", "start b1", "end a1", "start a2", "end a2", "start a3"]
        await runner.close()

    asyncio.run(main())


def test_jobs_without_a_lane_run_side_by_side(runtime: Runtime) -> None:
    async def main() -> None:
        runner, gate = TaskRunner(runtime, "svc"), Gate()
        for name in ("t1", "t2", "t3"):
            runner.submit(gate.job("a", name))
        await settle()
        assert sorted(gate.log) == ["start t1", "start t2", "start t3"]
        await runner.close()

    asyncio.run(main())


def test_cancel_stops_one_namespace_and_its_lane_moves_on(runtime: Runtime) -> None:
    async def main() -> None:
        runner, gate = TaskRunner(runtime, "svc"), Gate()
        runner.submit(gate.job("a", "a1", lane="shared"))
        runner.submit(gate.job("a", "a2", lane="shared"))  # waiting: dropped by the cancel
        runner.submit(gate.job("b", "b1", lane="shared"))
        runner.submit(gate.job("b", "b2"))
        await settle()
        assert gate.log == ["start a1", "start b2"]
        runner.cancel("a")
        await settle()
        assert gate.log == ["start a1", "start b2", "start b1"]  # a1 never ends, a2 never starts
        runner.cancel(None)
        await settle()
        gate.release["b1"].set()
        await settle()
        assert "end b1" not in gate.log

    asyncio.run(main())


def test_a_job_cancelled_before_its_first_step_frees_its_lane(runtime: Runtime) -> None:
    async def main() -> None:
        runner, gate = TaskRunner(runtime, "svc"), Gate()
        runner.submit(gate.job("a", "a1", lane="a"))
        runner.cancel("a")  # same turn of the loop: the job has not started
        runner.submit(gate.job("a", "a2", lane="a"))
        await settle()
        assert gate.log == ["start a2"]
        gate.release["a2"].set()
        await settle()
        assert gate.log == ["start a2", "end a2"]

    asyncio.run(main())


def test_close_cancels_and_waits_for_every_job(runtime: Runtime) -> None:
    async def main() -> None:
        runner, gate = TaskRunner(runtime, "svc"), Gate()
        cleaned: list[str] = []

        async def holds_a_resource() -> None:
            try:
                await asyncio.Event().wait()
            finally:
                cleaned.append("closed")

        runner.submit(Job("a", "held", holds_a_resource))
        runner.submit(gate.job("a", "queued", lane="a"))
        await settle()
        await runner.close()
        assert cleaned == ["closed"]

    asyncio.run(main())


def test_a_failing_job_does_not_stop_its_lane(runtime: Runtime) -> None:
    async def main() -> None:
        runner, gate = TaskRunner(runtime, "svc"), Gate()

        async def broken() -> None:
            raise RuntimeError("a bug in one job")

        runner.submit(Job("a", "broken", broken, lane="a"))
        runner.submit(gate.job("a", "next", lane="a"))
        gate.release["next"].set()
        await settle()
        assert gate.log == ["start next", "end next"]

    asyncio.run(main())


def test_lanes_work_again_under_a_new_event_loop(runtime: Runtime) -> None:
    """In-process tests drive one app from several asyncio.run calls."""
    runner = TaskRunner(runtime, "svc")
    for _ in range(2):
        async def main() -> None:
            gate = Gate()
            runner.submit(gate.job("a", "first", lane="a"))
            runner.submit(gate.job("a", "second", lane="a"))
            await settle()
            gate.release["first"].set()
            gate.release["second"].set()
            await settle()
            assert gate.log == ["start first", "end first", "start second", "end second"]

        asyncio.run(main())


def test_resume_restarts_what_it_can_and_fails_the_rest(runtime: Runtime) -> None:
    async def main() -> None:
        runner, gate = TaskRunner(runtime, "svc"), Gate()
        failed: list[tuple[str, str]] = []

        def unfinished(task_id: str, restart: Callable[[], Job]) -> Unfinished:
            return Unfinished("a", task_id, restart, lambda message: failed.append((task_id, message)))

        def corrupt() -> Job:
            raise ValueError("the stored definition is not JSON")

        await runner.resume([unfinished("good", lambda: gate.job("a", "good", lane="a")),
                             unfinished("bad", corrupt)])
        await settle()
        assert gate.log == ["start good"]
        assert [task_id for task_id, _ in failed] == ["bad"]
        assert "not JSON" in failed[0][1]
        assert [e["event"] for e in runtime.events.list("a", "good")] == ["resumed"]
        [event] = runtime.events.list("a", "bad")
        assert (event["event"], event["service"]) == ("resume failed", "svc")
        await runner.close()

    asyncio.run(main())


def test_offload_runs_blocking_work_off_the_event_loop_thread(runtime: Runtime) -> None:
    async def main() -> None:
        runner = TaskRunner(runtime, "svc")
        loop_thread = threading.get_ident()
        assert await runner.offload(threading.get_ident) != loop_thread

    asyncio.run(main())


@given(st.lists(st.floats(0, 2, allow_nan=False), max_size=30))
def test_progress_only_rises_in_whole_percents_below_100(fractions: list[float]) -> None:
    saved: list[int] = []
    recorded: list[int] = []
    progress = Progress(saved.append, recorded.append, percent=5)
    for done in fractions:
        progress(done)
    assert saved == sorted(set(saved))
    assert all(5 < p <= 99 for p in saved)
    assert recorded == []  # fractions are not timeline events
    if any(done >= 1 for done in fractions):
        assert saved[-1] == 99


def test_a_progress_set_by_a_fault_rule_is_saved_and_recorded(runtime: Runtime) -> None:
    saved: list[int] = []
    progress = TaskRunner(runtime, "svc").progress("a", "t", saved.append, percent=10)
    progress.set(150)
    assert saved == [99] and progress.percent == 99
    [event] = runtime.events.list("a", "t")
    assert (event["event"], event["progress"]) == ("progress", 99)
