"""What one MediaConvert task does: read the sources from OSS, plan and render every image output
in the worker pool, write the results to OSS (in the pool too: copy, hashing, fsync), meter them,
finish the task and publish IMM's completion message to MNS. OSS and MNS are reached through the
core ports; when a task runs is the core TaskRunner's business (emulator.core.tasks)."""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from emulator.core.errors import ServiceError
from emulator.core.faults import NOTIFICATION_EFFECTS
from emulator.core.ports import ObjectStore, Publisher
from emulator.core.runtime import Runtime
from emulator.core.tasks import Job, Progress, TaskFaults, TaskRunner, Unfinished
from emulator.core.timefmt import iso_millis
from emulator.media.ffmpeg import MediaError
from emulator.media.plan import IMAGE_CONTENT_TYPES, SourceFrames, Window, output_geometry, plan_sampling
from emulator.media.timeline import source_frames
from emulator.services.imm.convert import ConvertRequest, ImageOutput, parse_convert_request, resolve_uri
from emulator.services.imm.failures import TaskFailure
from emulator.services.imm.model import ImmModel
from emulator.services.imm.transcoding import Transcoder

log = logging.getLogger("emulator.imm")
SERVICE = "imm"
# A safety cap on one output's frames (IMM documents none).
MAX_OUTPUT_FRAMES = 5000


@dataclass
class _Source:
    path: Path
    frames: SourceFrames
    modified: float


def request_from_definition(definition: str) -> ConvertRequest:
    d = json.loads(definition)
    return parse_convert_request(d.get("Sources"), d.get("Targets"), d.get("TargetGroups"),
                                 d.get("Notification"), d.get("UserData"), d.get("Tags"),
                                 d.get("AlignmentIndex"))


def notification_message(task: dict[str, Any], request: ConvertRequest, outputs: dict[str, list[str]],
                         region: str, account_id: str) -> str:
    """IMM's asynchronous notification envelope; `content` is the task as a JSON string."""
    targets = []
    for t in range(request.target_count):
        image = {kind: [{"URI": uri} for out in request.outputs if out.kind == kind and out.target == t
                        for uri in outputs.get(out.field, [])] or None
                 for kind in ("Sprites", "Snapshots", "Animations")}
        targets.append({"URI": (outputs.get(f"Targets[{t}]") or [""])[0],
                        "Subtitle": {"Extract": {"URI": (outputs.get(f"Targets[{t}].Subtitle") or [""])[0]}},
                        "Image": image})
    content = {
        "ProjectName": task["ProjectName"], "DatasetName": "", "RequestId": task["RequestId"],
        "StartTime": iso_millis(task["StartTime"]), "EndTime": iso_millis(task.get("EndTime")),
        "UserData": task.get("UserData", ""), "TaskType": task["TaskType"], "TaskId": task["TaskId"],
        "Status": task["Status"], "Code": task.get("Code", ""), "Message": task.get("Message", ""),
        "EventSourceId": "", "Sources": [{"URI": s.uri, "SubtitleSources": None} for s in request.sources],
        "Targets": targets}
    envelope = {
        "id": task["EventId"], "source": "acs.imm", "type": f"imm:Task:{task['TaskType']}",
        "subject": f"acs:imm:{region}:{account_id}:{task['ProjectName']}/imm:Task:{task['TaskType']}",
        "time": str(int((task.get("EndTime") or task["StartTime"]) * 1000)),
        "content": json.dumps(content, ensure_ascii=False, separators=(",", ":"))}
    return json.dumps(envelope, ensure_ascii=False, separators=(",", ":"))


class MediaConvertJobs:
    """What one MediaConvert task does; the core TaskRunner decides when (IMM runs tasks side by
    side, so no lane) and owns cancelling, closing and resuming."""

    def __init__(self, runtime: Runtime, model: ImmModel, tasks: TaskRunner, oss: ObjectStore,
                 mns: Publisher | None) -> None:
        self.rt = runtime
        self.model = model
        self.tasks = tasks
        self.oss = oss
        self.mns = mns

    def submit(self, ns: str, task: dict[str, Any], request: ConvertRequest) -> None:
        self.tasks.submit(self._job(ns, task, request))

    def unfinished(self) -> list[Unfinished]:
        """The tasks a previous run of the server left Running: they start again from their
        stored definition."""
        return [Unfinished(ns, task["TaskId"], partial(self._restart, ns, task),
                           partial(self._fail_unresumable, ns, task))
                for ns, task in self.model.running_tasks()]

    def _job(self, ns: str, task: dict[str, Any], request: ConvertRequest) -> Job:
        return Job(ns, task["TaskId"], partial(self._run, ns, task, request))

    def _restart(self, ns: str, task: dict[str, Any]) -> Job:
        return self._job(ns, task, request_from_definition(task["Definition"]))

    def _fail_unresumable(self, ns: str, task: dict[str, Any], message: str) -> None:
        finished = self.model.update_task(ns, task["ProjectName"], task["TaskId"], Status="Failed",
                                          Code="InternalError", Message=message, EndTime=self.rt.clock.now())
        if finished is not None:
            self.rt.events.record(ns, SERVICE, task["TaskId"], "finished", status="Failed",
                                  code="InternalError", message=message)

    # ---- one task ------------------------------------------------------------------------

    async def _run(self, ns: str, task: dict[str, Any], request: ConvertRequest) -> None:
        project, task_id = task["ProjectName"], task["TaskId"]
        self.rt.events.record(ns, SERVICE, task_id, "started")
        started = self.rt.clock.now()
        outputs: dict[str, list[str]] = {}
        faults = TaskFaults()
        progress = self.tasks.progress(ns, task_id, partial(self._save_progress, ns, project, task_id),
                                       task.get("Progress", 0))
        try:
            faults = await self.tasks.faults(ns, task_id, {
                "action": "CreateMediaConvertTask", "project": project, "task_type": "MediaConvert"})
            if faults.fail is not None:
                self._fail_by_rule(faults.fail, progress)
            outputs.update(await Transcoder(self.rt, self.oss, self.model.record_usage, ns, task, request,
                                            progress).run())
            sources = [await self._open_source(ns, s.bucket, s.key, s.uri)
                       for s in request.sources] if request.outputs else []
            for n, output in enumerate(request.outputs):
                outputs[output.field] = await self._render(ns, task, request, sources, output, n, progress)
            if faults.duration_seconds is not None:
                await self.rt.clock.sleep_until(started + faults.duration_seconds)
            changes = {"Status": "Succeeded", "Code": "", "Message": "", "Progress": 100}
        except TaskFailure as failure:
            changes = {"Status": "Failed", "Code": failure.code, "Message": failure.message}
        except Exception as exc:  # a bug must fail the task, not leave it Running forever
            log.exception("IMM task %s failed unexpectedly", task_id)
            changes = {"Status": "Failed", "Code": "InternalError", "Message": f"Internal error: {exc}"}
        finished = self.model.update_task(ns, project, task_id, EndTime=self.rt.clock.now(),
                                          Outputs=outputs, **changes)
        if finished is None:
            return  # the project was deleted meanwhile
        self.rt.events.record(ns, SERVICE, task_id, "finished", status=finished["Status"],
                              code=finished["Code"], message=finished["Message"])
        if faults.vanish_after_seconds is not None and finished["Status"] == "Succeeded":
            written = [uri.removeprefix("oss://").partition("/") for uris in outputs.values() for uri in uris]
            self.tasks.remove_outputs_later(ns, task_id, self.oss, [(b, k) for b, _, k in written if k],
                                            faults.vanish_after_seconds)
        await self._notify(ns, finished, request, outputs)

    def _save_progress(self, ns: str, project: str, task_id: str, percent: int) -> None:
        self.model.update_task(ns, project, task_id, Progress=percent)

    def _fail_by_rule(self, spec: dict[str, Any], progress: Progress) -> None:
        """A task_fail rule: the task reaches `at_progress` (if given), then fails as asked."""
        if "at_progress" in spec:
            progress.set(spec["at_progress"])
        raise TaskFailure(spec["code"], spec.get("message", ""))

    async def _open_source(self, ns: str, bucket: str, key: str, uri: str) -> _Source:
        try:
            meta = self.oss.head_object(ns, bucket, key)
            path = self.oss.object_path(ns, bucket, key)
        except ServiceError:
            raise TaskFailure("ResourceNotFound", f"The specified resource {uri} is not found.") from None
        try:
            frames = await self.tasks.offload(source_frames, path)
        except MediaError as exc:
            raise TaskFailure("InvalidArgument", f"The source {uri} is not a video that can be "
                              f"decoded: {exc}") from None
        return _Source(path, frames, meta.last_modified)

    async def _render(self, ns: str, task: dict[str, Any], request: ConvertRequest,
                      sources: list[_Source], output: ImageOutput, n: int, progress: Progress) -> list[str]:
        frames = [s.frames for s in sources]
        windows = [Window(i, s.start, s.duration) for i, s in enumerate(request.sources)]
        # Decoded runs cut at keyframes, one part per core of the pool, extracted in parallel.
        plan = plan_sampling(frames, windows, output.start, output.interval, output.number,
                             mode=output.mode, parts=self.rt.pool.size)
        if not plan.frames:
            raise TaskFailure("InvalidArgument", f"The parameter {output.field}.StartTime is beyond "
                              "the end of the source.")
        if len(plan.frames) > MAX_OUTPUT_FRAMES:
            raise TaskFailure("InvalidArgument", f"{output.field} would have {len(plan.frames)} frames; "
                              f"the emulator makes at most {MAX_OUTPUT_FRAMES}: raise Interval or set "
                              "Number.")
        primary = frames[request.alignment_index]
        geometry = output_geometry(primary.width, primary.height, output.width, output.height,
                                   output.scale_type)
        paths = [s.path for s in sources]
        count = len(request.outputs)

        def output_progress(fraction: float) -> None:  # called from the worker thread
            progress((n + fraction) / count)

        self.rt.events.record(ns, SERVICE, task["TaskId"], "rendering", output=output.field,
                              frames=len(plan.frames), strategy=sorted({r.strategy for r in plan.reads}),
                              decoded_frames=plan.decoded_frames)
        # ffmpeg-python and the renderers load with the first conversion, not at start.
        from emulator.media.render import Rendered, render_animation, render_images

        work = Path(tempfile.mkdtemp(prefix="imm-", dir=self.rt.data_dir))
        try:
            try:
                if output.kind == "Animations":
                    rate = output.frame_rate or 1 / plan.interval
                    rendered: Rendered = await self.tasks.offload(
                        render_animation, paths, plan, geometry, output.format, rate,
                        work / f"animation.{output.format}", output_progress, self.rt.pool.size)
                else:
                    rendered = await self.tasks.offload(
                        render_images, paths, plan, geometry, output.format, work,
                        output.tile, output_progress, self.rt.pool.size)
            except MediaError as exc:
                raise TaskFailure("InvalidArgument", f"The source could not be converted for "
                                  f"{output.field}: {exc}") from None
            uris = [await self._store(ns, task, request, sources, output, index, file)
                    for index, file in enumerate(rendered.files, 1)]
        finally:
            await self.tasks.offload(shutil.rmtree, work, True)
        if output.kind == "Animations":
            self.model.record_usage(ns, task["ProjectName"], "MediaAnimation", rendered.frames)
        return uris

    async def _store(self, ns: str, task: dict[str, Any], request: ConvertRequest, sources: list[_Source],
               output: ImageOutput, index: int, file: Path) -> str:
        alignment = request.alignment_index
        bucket, key = resolve_uri(output.uri, request.sources[alignment], output.format, index,
                                  sources[alignment].modified, task["StartTime"], request.tags)
        try:
            await self.tasks.offload(self.oss.put_file, ns, bucket, key, file,
                                     IMAGE_CONTENT_TYPES[output.format])
        except ServiceError as exc:
            raise TaskFailure("ResourceNotFound" if exc.code == "NoSuchBucket" else "InvalidArgument",
                              f"The output oss://{bucket}/{key} of {output.field} could not be "
                              f"written: {exc.message}") from None
        uri = f"oss://{bucket}/{key}"
        self.rt.events.record(ns, SERVICE, task["TaskId"], "output written", output=output.field, uri=uri,
                              size=file.stat().st_size)
        return uri

    async def _notify(self, ns: str, task: dict[str, Any], request: ConvertRequest,
                      outputs: dict[str, list[str]]) -> None:
        if not request.mns_topic and not request.rocketmq:
            return
        cfg = self.rt.config
        body = notification_message(task, request, outputs, cfg.region, cfg.account_id)
        if request.rocketmq:
            # No RocketMQ is emulated: the message is kept in the task's timeline.
            self.rt.events.record(ns, SERVICE, task["TaskId"], "notification recorded", channel="RocketMQ",
                                  **request.rocketmq, message=body)
        if not request.mns_topic:
            return
        mns = self.mns
        if mns is None:  # built without MNS (unit tests of IMM alone)
            self.rt.events.record(ns, SERVICE, task["TaskId"], "notification failed", channel="MNS",
                                  topic=request.mns_topic, reason="MNS is not available", message=body)
            return
        copies = 1
        rule = self.rt.faults.take(SERVICE, {"action": "Notification", "project": task["ProjectName"],
                                             "topic": request.mns_topic, "namespace": ns},
                                   NOTIFICATION_EFFECTS)
        if rule is not None:
            kind, value = next(iter(rule.effect["notification"].items()))
            self.rt.events.record(ns, SERVICE, task["TaskId"], "fault applied", rule=rule.id,
                                  effect=f"notification.{kind}", value=value)
            if kind == "drop":
                self.rt.events.record(ns, SERVICE, task["TaskId"], "notification dropped", channel="MNS",
                                      topic=request.mns_topic)
                return
            if kind == "duplicate":
                copies += int(value)
            if kind == "delay_seconds":
                await self.rt.clock.sleep(float(value))
            if kind == "early_seconds":
                for uri in (uri for uris in outputs.values() for uri in uris):
                    bucket, _, key = uri.removeprefix("oss://").partition("/")
                    self.rt.faults.hide(ns, bucket, key, float(value))
        for _ in range(copies):
            self._publish(ns, task, request.mns_topic, body, mns)

    def _publish(self, ns: str, task: dict[str, Any], topic: str, body: str, mns: Publisher) -> None:
        try:
            message_id = mns.publish_message(ns, topic, body)
        except ServiceError as exc:
            self.rt.events.record(ns, SERVICE, task["TaskId"], "notification failed", channel="MNS",
                                  topic=topic, code=exc.code, reason=exc.message)
        except Exception as exc:  # the task's result stands whatever the notification does
            self.rt.events.record(ns, SERVICE, task["TaskId"], "notification failed", channel="MNS",
                                  topic=topic, reason=repr(exc))
        else:
            self.rt.events.record(ns, SERVICE, task["TaskId"], "notification published", channel="MNS",
                                  topic=topic, message_id=message_id)
