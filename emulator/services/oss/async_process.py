"""`x-oss-async-process` (AsyncProcessObject): `video/animation`, `video/convert`, `audio/convert`,
`video/concat`, `video/snapshots` and `video/sprite` saved with `sys/saveas`, run as a task
(timeline in /_emulator/tasks, task fault rules of service "oss"), with an optional MNS
notification (`/notify,topic_<b64>`) when it ends.

The tasks run on the shared task runner (core/tasks.py); this module owns their documents
("oss-task") and what resuming one after a restart means.
"""

from __future__ import annotations

import asyncio
import json
import logging
import tempfile
from functools import partial
from pathlib import Path
from typing import Any

from starlette.responses import Response

from emulator.core.errors import ServiceError
from emulator.core.pipeline import RequestContext
from emulator.core.ports import Publisher
from emulator.core.runtime import Runtime
from emulator.core.tasks import Job, TaskRunner, Unfinished
from emulator.media.ffmpeg import MediaError
from emulator.media.plan import IMAGE_CONTENT_TYPES, Window, output_geometry, plan_sampling
from emulator.media.render import render_animation
from emulator.services.oss.async_convert import TaskFailure, run_conversion
from emulator.services.oss.async_jobs import AsyncJob, parse_async_body
from emulator.services.oss.async_snapshots import run_snapshots, source_video
from emulator.services.oss.bodies import read_small_body
from emulator.services.oss.concat_params import Concat
from emulator.services.oss.convert_params import Conversion
from emulator.services.oss.model import OssModel, check_bucket_name, check_object_name
from emulator.services.oss.process import Animation
from emulator.services.oss.snapshot_params import Snapshots, Sprite

Ctx = RequestContext[OssModel]

log = logging.getLogger("emulator.oss")
SERVICE = "oss"
TASK_KIND = "oss-task"
MAX_FRAMES = 5000


class AsyncProcessor:
    def __init__(self, runtime: Runtime, model: OssModel, publisher: Publisher | None = None) -> None:
        self.rt = runtime
        self.model = model
        self.publisher = publisher  # MNS, when it is served
        self.runner = TaskRunner(runtime, SERVICE)

    # ---- submitting ---------------------------------------------------------------------

    def submit(self, ns: str, bucket: str, key: str, body: bytes, request_id: str) -> dict[str, Any]:
        job = parse_async_body(body)
        target_bucket = job.save.bucket or bucket
        check_bucket_name(target_bucket)
        check_object_name(job.save.key)
        self.model.get_bucket(ns, target_bucket)
        self.model.head_object(ns, bucket, key)
        task_id = self._task_id(job)
        task = {"TaskId": task_id, "EventId": self.rt.ids.hex(8, upper=True) + "-" + self.rt.ids.hex(16),
                "RequestId": request_id, "Status": "Running", "Code": "", "Message": "",
                "Bucket": bucket, "Object": key, "Body": body.decode("utf-8"),
                "Target": f"oss://{target_bucket}/{job.save.key}", "Topic": job.notify_topic,
                "Submitted": self.rt.clock.now(), "Ended": None}
        self.rt.docs.put(TASK_KIND, ns, task_id, task)
        self.rt.events.record(ns, SERVICE, task_id, "submitted", process=task["Body"])
        self._start(ns, task, job)
        return task

    def _task_id(self, job: AsyncJob) -> str:
        if isinstance(job.operation, Animation):
            return "video-" + self.rt.ids.hex(24)
        return f"MediaConvert-{self.rt.ids.uuid()}"  # as OSS names the MediaConvert tasks it runs on IMM

    def _start(self, ns: str, task: dict[str, Any], job: AsyncJob) -> None:
        self.runner.submit(self._job(ns, task, job))

    def _job(self, ns: str, task: dict[str, Any], job: AsyncJob) -> Job:
        return Job(ns, task["TaskId"], partial(self._run, ns, task, job))

    def unfinished(self) -> list[Unfinished]:
        """The tasks a previous run of the server left Running: they start again from their body."""
        return [Unfinished(ns, task["TaskId"], partial(self._restart, ns, task),
                           partial(self._fail_unresumable, ns, task))
                for ns in self.rt.docs.namespaces(TASK_KIND)
                for _, task in self.rt.docs.scan(TASK_KIND, ns) if task["Status"] == "Running"]

    def _restart(self, ns: str, task: dict[str, Any]) -> Job:
        return self._job(ns, task, parse_async_body(task["Body"].encode()))

    def _fail_unresumable(self, ns: str, task: dict[str, Any], message: str) -> None:
        task.update(Status="Failed", Code="InternalError", Message=message, Ended=self.rt.clock.now())
        self.rt.docs.put(TASK_KIND, ns, task["TaskId"], task)

    async def resume(self) -> None:
        await self.runner.resume(self.unfinished())

    def cancel(self, ns: str | None) -> None:
        self.runner.cancel(ns)

    async def close(self) -> None:
        await self.runner.close()

    def tasks(self, namespace: str | None) -> list[dict[str, Any]]:
        spaces = [namespace] if namespace else self.rt.docs.namespaces(TASK_KIND)
        listed = [{"namespace": ns, "task_id": t["TaskId"], "task_type": "AsyncProcessObject",
                   "bucket": t["Bucket"], "status": t["Status"], "submitted": t["Submitted"],
                   "ended": t["Ended"], "code": t["Code"] or None}
                  for ns in spaces for _, t in self.rt.docs.scan(TASK_KIND, ns)]
        return sorted(listed, key=lambda t: t["submitted"], reverse=True)

    # ---- one task -----------------------------------------------------------------------

    async def _run(self, ns: str, task: dict[str, Any], job: AsyncJob) -> None:
        task_id = task["TaskId"]
        self.rt.events.record(ns, SERVICE, task_id, "started")
        started = self.rt.clock.now()
        try:
            faults = await self.runner.faults(ns, task_id, {
                "action": "AsyncProcessObject", "bucket": task["Bucket"], "task_type": job.name})
            if faults.fail is not None:
                raise TaskFailure(faults.fail["code"], faults.fail.get("message", ""))
            if isinstance(job.operation, Conversion | Concat):
                size = await run_conversion(self.rt, self.model, ns, task, job.operation)
            elif isinstance(job.operation, Snapshots | Sprite):
                size = await run_snapshots(self.rt, self.model, ns, task, job.operation)
            else:
                size = await self._render(ns, task, job.operation)
            if faults.duration_seconds is not None:
                await self.rt.clock.sleep_until(started + faults.duration_seconds)
            changes = {"Status": "Success", "Code": "", "Message": "", "FileSize": size}
        except TaskFailure as failure:
            changes = {"Status": "Failed", "Code": failure.code, "Message": failure.message}
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug must fail the task, not leave it Running forever
            log.exception("OSS async task %s failed unexpectedly", task_id)
            changes = {"Status": "Failed", "Code": "InternalError", "Message": f"Internal error: {exc}"}
        task.update(changes, Ended=self.rt.clock.now())
        self.rt.docs.put(TASK_KIND, ns, task_id, task)
        self.rt.events.record(ns, SERVICE, task_id, "finished", status=task["Status"], code=task["Code"],
                              message=task["Message"])
        await self._notify(ns, task)

    async def _render(self, ns: str, task: dict[str, Any], animation: Animation) -> int:
        path, frames = await source_video(self.rt, self.model, ns, task)
        interval = animation.inter_ms / 1000 if animation.inter_ms else None
        plan = plan_sampling([frames], [Window(0, animation.ss_ms / 1000)], 0.0, interval, animation.num)
        if not plan.frames:
            raise TaskFailure("InvalidArgument", "The parameter ss is beyond the end of the video.")
        if len(plan.frames) > MAX_FRAMES:
            raise TaskFailure("InvalidArgument", f"The animation would have {len(plan.frames)} frames; the "
                           f"emulator makes at most {MAX_FRAMES}: raise inter or set num.")
        geometry = output_geometry(frames.width, frames.height, animation.w, animation.h,
                                   animation.scale_type)
        rate = animation.fps or 1 / plan.interval
        bucket, key = task["Target"][len("oss://"):].split("/", 1)
        self.rt.events.record(ns, SERVICE, task["TaskId"], "rendering", frames=len(plan.frames))
        with tempfile.TemporaryDirectory(prefix="oss-async-", dir=self.rt.data_dir) as work:
            out = Path(work) / f"animation.{animation.fmt}"
            try:
                await self.rt.pool.run(render_animation, [path], plan, geometry, animation.fmt, rate, out)
            except MediaError as exc:
                raise TaskFailure("InvalidArgument", f"The video could not be converted: {exc}") from None
            try:
                meta = self.model.put_file(ns, bucket, key, out, IMAGE_CONTENT_TYPES[animation.fmt])
            except ServiceError as exc:
                raise TaskFailure(exc.code, f"The output {task['Target']} could not be written: "
                               f"{exc.message}") from None
        self.rt.events.record(ns, SERVICE, task["TaskId"], "output written", uri=task["Target"],
                              size=meta.size)
        return meta.size

    async def _notify(self, ns: str, task: dict[str, Any]) -> None:
        if not task["Topic"]:
            return
        message = notification(task, self.rt.config.region)
        if self.publisher is None:
            self.rt.events.record(ns, SERVICE, task["TaskId"], "notification failed", topic=task["Topic"],
                                  reason="MNS is not available", message=message)
            return
        try:
            message_id = self.publisher.publish_message(ns, task["Topic"], message)
        except ServiceError as exc:
            self.rt.events.record(ns, SERVICE, task["TaskId"], "notification failed", topic=task["Topic"],
                                  reason=exc.message, message=message)
            return
        self.rt.events.record(ns, SERVICE, task["TaskId"], "notification published", channel="MNS",
                              topic=task["Topic"], message_id=message_id)


def notification(task: dict[str, Any], region: str) -> str:
    """The message published to the notify topic (shape inferred: the OSS pages point at IMM's
    task notifications; the fields say which task, how it ended and what it wrote)."""
    return json.dumps({
        "EventId": task["EventId"], "TaskId": task["TaskId"], "RequestId": task["RequestId"],
        "EventName": "ObjectProcess:AsyncProcess", "Region": region, "Status": task["Status"],
        "Code": task["Code"], "Message": task["Message"],
        "Source": f"oss://{task['Bucket']}/{task['Object']}",
        "Process": task["Body"].partition("=")[2],
        "Targets": [{"URI": uri} for uri in task.get("Outputs") or [task["Target"]]]
        if task["Status"] == "Success" else []},
        separators=(",", ":"))


async def async_process_object(ctx: Ctx) -> Response:
    """POST /bucket/key?x-oss-async-process: 200 {"EventId", "RequestId", "TaskId"}."""
    processor = ctx.model.async_processor
    assert processor is not None
    body = await read_small_body(ctx, 64 * 1024)
    task = processor.submit(ctx.ns, ctx.bucket, ctx.key, body, ctx.request_id)
    answer = {"EventId": task["EventId"], "RequestId": ctx.request_id, "TaskId": task["TaskId"]}
    return Response(json.dumps(answer), 200, media_type="application/json")

