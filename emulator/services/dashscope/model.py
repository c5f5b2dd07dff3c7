"""DashScope state and rules: animate tasks, their queue, rate limits, uploads, billing. No HTTP.

A task is a document ("dashscope-task", namespace, task_id). Per account (namespace) one task
runs at a time, the others wait FIFO as PENDING; only PENDING tasks can be cancelled. The core
TaskRunner queues them in one lane per namespace; one task's job (`_run`) fetches and checks the
inputs, renders the motion proxy in the worker pool, stores the MP4 in the namespace's result
bucket and finishes the task.
With speed "realistic" the task also waits the documented queue time and processing minutes on
the emulator clock (advance it to fast-forward). After 24 h a task reads UNKNOWN.
"""

from __future__ import annotations

import base64
import itertools
import json
import logging
import shutil
import tempfile
from collections import defaultdict, deque
from functools import partial
from pathlib import Path
from typing import Any

from emulator.auth.oss import presign_v1_get, sign_v1
from emulator.core.accounts import DASHSCOPE_CN, Credentials
from emulator.core.clock import Clock
from emulator.core.errors import ServiceError
from emulator.core.ports import ObjectStore
from emulator.core.runtime import Runtime
from emulator.core.tasks import Job, TaskRunner, Unfinished
from emulator.core.timefmt import iso_millis, utc_day
from emulator.media.ffmpeg import MediaError, MediaInfo
from emulator.services.dashscope import content, errors, inputs
from emulator.services.dashscope.documents import ListQuery, SubmitRequest

log = logging.getLogger(__name__)

TASK_KIND = "dashscope-task"
SERVICE = "dashscope"
TASK_TTL_SECONDS = 24 * 3600
RESULT_BUCKET = {DASHSCOPE_CN: "dashscope-result-bj"}
DEFAULT_RESULT_BUCKET = "dashscope-result-sgp"
POLICY_TTL_SECONDS = 300
MAX_UPLOAD_MB = 1024

SUBMIT_PER_SECOND = 5
TASK_QUERIES_PER_SECOND = 20
POLICY_PER_SECOND = 100

# speed=realistic: time in the queue before a task starts, and processing seconds per output
# second (the documented example: 15 s queued, 146 s for 5.2 s in wan-std); wan-pro is slower.
REALISTIC_QUEUE_SECONDS = 15.0
REALISTIC_SECONDS_PER_OUTPUT_SECOND = {"wan-std": 28.0, "wan-pro": 42.0}

# USD per output second, by region and mode (Model Studio price list).
UNIT_PRICE = {
    ("ap-southeast-1", "wan-std"): 0.12, ("ap-southeast-1", "wan-pro"): 0.18,
    ("cn-beijing", "wan-std"): 0.06, ("cn-beijing", "wan-pro"): 0.09,
}

class RateLimiter:
    """At most `limit` events per key in any one second of the emulator clock."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._events: dict[tuple, deque[float]] = defaultdict(deque)

    def check(self, key: tuple, limit: int) -> None:
        now = self._clock.now()
        window = self._events[key]
        while window and (window[0] <= now - 1.0 or window[0] > now):
            window.popleft()
        if len(window) >= limit:
            raise errors.throttled()
        window.append(now)

    def forget(self, namespace: str | None) -> None:
        for key in [k for k in self._events if namespace is None or k[0] == namespace]:
            del self._events[key]


class DashScopeModel:
    def __init__(self, runtime: Runtime, oss: ObjectStore, tasks: TaskRunner) -> None:
        self.rt = runtime
        self.oss = oss
        self.tasks = tasks
        config = runtime.config
        self.inputs = inputs.InputResolver(
            runtime.accounts, oss, runtime.clock, inputs.load_aliases(config.dashscope_url_aliases),
            {h.strip() for h in config.dashscope_fetch_hosts.split(",") if h.strip()})
        self.limits = RateLimiter(runtime.clock)
        self._seq = itertools.count()  # FIFO order among tasks submitted in the same millisecond

    # ---- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Queue again what was PENDING or RUNNING when the emulator stopped (FIFO order)."""
        unfinished = []
        for ns in self.rt.docs.namespaces(TASK_KIND):
            waiting = [doc for _, doc in self.rt.docs.scan(TASK_KIND, ns)
                       if doc["status"] in ("PENDING", "RUNNING")]
            for doc in sorted(waiting, key=lambda d: (d["submit_time"], d["seq"])):
                unfinished.append(Unfinished(ns, doc["task_id"], partial(self._job, ns, doc["task_id"]),
                                             partial(self._fail_unresumable, ns, doc["task_id"])))
        await self.tasks.resume(unfinished)

    async def stop(self) -> None:
        await self.tasks.close()

    def reset(self, namespace: str | None) -> None:
        self.limits.forget(namespace)
        self.tasks.cancel(namespace)

    # ---- submit and the task API -----------------------------------------------------------

    def submit(self, creds: Credentials, region: str, request: SubmitRequest, request_id: str,
               own_hosts: list[str]) -> dict[str, Any]:
        self.limits.check((creds.namespace, "submit"), SUBMIT_PER_SECOND)
        now = self.rt.clock.now()
        task = {
            "task_id": self.rt.ids.uuid(), "namespace": creds.namespace, "region": region,
            "api_key_id": self._api_key_id(creds, region), "model": request.model, "mode": request.mode,
            "image_url": request.image_url, "video_url": request.video_url, "watermark": request.watermark,
            "check_image": request.check_image, "own_hosts": own_hosts, "status": "PENDING",
            "submit_time": now, "scheduled_time": None, "end_time": None, "seq": next(self._seq),
            "request_id": request_id, "code": None, "message": None, "video_duration": None,
            "video_bucket": None, "video_key": None,
        }
        self.rt.docs.put(TASK_KIND, creds.namespace, task["task_id"], task)
        self.rt.events.record(creds.namespace, SERVICE, task["task_id"], "submitted", model=request.model,
                              mode=request.mode, image_url=request.image_url, video_url=request.video_url)
        self.tasks.submit(self._job(creds.namespace, task["task_id"]))
        return task

    def check_inputs(self, ns: str, request: SubmitRequest, own_hosts: list[str]) -> None:
        """Fetch and check both inputs now (blocking): the submit-time variant of the checks."""
        work = Path(tempfile.mkdtemp(prefix="dashscope-check-", dir=self.rt.data_dir))
        try:
            self._prepare(ns, request.image_url, request.video_url, work, set(own_hosts),
                          request.check_image, at_submit=True)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def visible_task(self, ns: str, region: str, task_id: str) -> dict[str, Any] | None:
        """The task as its account sees it; None (UNKNOWN) when missing, of the other region, or
        older than 24 h."""
        task = self.rt.docs.get(TASK_KIND, ns, task_id)
        if task is None or task["region"] != region:
            return None
        if self.rt.clock.now() > task["submit_time"] + TASK_TTL_SECONDS:
            return None
        return task

    def query(self, ns: str, region: str, task_id: str) -> dict[str, Any] | None:
        self.limits.check((ns, "get"), TASK_QUERIES_PER_SECOND)
        return self.visible_task(ns, region, task_id)

    def video_url(self, task: dict[str, Any], base_url: str) -> str:
        """A V1 presigned URL on this emulator's OSS, valid 24 h after the task ended (or what a
        result_url_ttl_seconds fault rule said)."""
        creds = self.rt.accounts.get(task["namespace"]) or self.rt.accounts.default
        ttl = task.get("url_ttl_seconds", TASK_TTL_SECONDS)
        return presign_v1_get(base_url, creds.access_key_id, creds.access_key_secret, task["video_bucket"],
                              task["video_key"], int(task["end_time"] + ttl))

    def cancel(self, ns: str, region: str, task_id: str) -> None:
        self.limits.check((ns, "cancel"), TASK_QUERIES_PER_SECOND)
        task = self.visible_task(ns, region, task_id)
        if task is None or task["status"] != "PENDING":
            raise errors.not_cancelable()
        task.update(status="CANCELED", end_time=self.rt.clock.now())
        self.rt.docs.put(TASK_KIND, ns, task_id, task)
        self.rt.events.record(ns, SERVICE, task_id, "canceled")

    def list_tasks(self, ns: str, region: str, query: ListQuery) -> tuple[list[dict[str, Any]], int]:
        """Newest first, filtered, one page."""
        self.limits.check((ns, "list"), TASK_QUERIES_PER_SECOND)
        now = self.rt.clock.now()
        matches = [
            doc for _, doc in self.rt.docs.scan(TASK_KIND, ns)
            if doc["region"] == region and query.start <= doc["submit_time"] <= query.end
            and now <= doc["submit_time"] + TASK_TTL_SECONDS
            and (query.task_id is None or doc["task_id"] == query.task_id)
            and (query.model_name is None or doc["model"] == query.model_name)
            and (query.status is None or doc["status"] == query.status)
            and (query.api_key_id is None or doc["api_key_id"] == query.api_key_id)
            and (query.region is None or doc["region"] == query.region)]
        matches.sort(key=lambda d: (d["submit_time"], d["seq"]), reverse=True)
        first = (query.page_no - 1) * query.page_size
        return matches[first:first + query.page_size], len(matches)

    # ---- temporary uploads -----------------------------------------------------------------

    def upload_policy(self, creds: Credentials, model: str, base_url: str, request_id: str) -> dict[str, Any]:
        """getPolicy: a V1 PostObject policy for the namespace's upload bucket, signed with the
        namespace's AccessKey pair, so the emulator's OSS accepts the form the SDK posts."""
        self.limits.check((creds.namespace, "policy", model), POLICY_PER_SECOND)
        self.oss.create_bucket(creds.namespace, inputs.UPLOAD_BUCKET)
        now = self.rt.clock.now()
        day = utc_day(now)
        upload_dir = f"dashscope-instant/{self.rt.ids.hex(32)}/{day}/{request_id}"
        policy = {
            "expiration": iso_millis(now + POLICY_TTL_SECONDS),
            "conditions": [["content-length-range", 0, MAX_UPLOAD_MB * 1024 * 1024],
                           ["starts-with", "$key", upload_dir], {"bucket": inputs.UPLOAD_BUCKET},
                           {"x-oss-object-acl": "private"}, {"x-oss-forbid-overwrite": "true"}]}
        policy_b64 = base64.b64encode(json.dumps(policy, separators=(",", ":")).encode()).decode()
        return {
            "policy": policy_b64, "signature": sign_v1(creds.access_key_secret, policy_b64),
            "upload_dir": upload_dir, "upload_host": f"{base_url}/{inputs.UPLOAD_BUCKET}",
            "expire_in_seconds": POLICY_TTL_SECONDS, "max_file_size_mb": MAX_UPLOAD_MB,
            "capacity_limit_mb": 999999999, "oss_access_key_id": creds.access_key_id,
            "x_oss_object_acl": "private", "x_oss_forbid_overwrite": "true",
        }

    # ---- billing ---------------------------------------------------------------------------

    def billing(self, namespace: str | None) -> dict[str, Any]:
        """Output seconds x the unit price of the mode and region, per succeeded task."""
        namespaces = [namespace] if namespace else self.rt.docs.namespaces(TASK_KIND)
        items = []
        for ns in namespaces:
            for _, task in self.rt.docs.scan(TASK_KIND, ns):
                if task["status"] != "SUCCEEDED":
                    continue
                price = UNIT_PRICE[(task["region"], task["mode"])]
                items.append({"namespace": ns, "task_id": task["task_id"], "model": task["model"],
                              "mode": task["mode"], "region": task["region"],
                              "seconds": task["video_duration"], "unit_price": price,
                              "amount": round(task["video_duration"] * price, 6)})
        return {"currency": "USD", "items": items, "total": round(sum(i["amount"] for i in items), 6)}

    # ---- running tasks ---------------------------------------------------------------------

    def _api_key_id(self, creds: Credentials, region: str) -> str:
        return f"{creds.namespace}-{'cn' if region == DASHSCOPE_CN else 'intl'}"

    def _job(self, ns: str, task_id: str) -> Job:
        """One task's work; an account's tasks share a lane, so they run one at a time, FIFO."""
        return Job(ns, task_id, partial(self._run, ns, task_id), lane=ns)

    def _fail_unresumable(self, ns: str, task_id: str, message: str) -> None:
        task = self.rt.docs.get(TASK_KIND, ns, task_id)
        if task is not None:
            self._fail(ns, task, "InternalError", message)

    def _save(self, ns: str, task: dict[str, Any]) -> bool:
        """Write a task back unless it was dropped (reset) meanwhile."""
        if self.rt.docs.get(TASK_KIND, ns, task["task_id"]) is None:
            return False
        self.rt.docs.put(TASK_KIND, ns, task["task_id"], task)
        return True

    async def _run(self, ns: str, task_id: str) -> None:
        task = self.rt.docs.get(TASK_KIND, ns, task_id)
        if task is None or task["status"] not in ("PENDING", "RUNNING"):
            return
        realistic = self.rt.config.speed == "realistic"
        if task["status"] == "PENDING":
            if realistic:
                await self.rt.clock.sleep_until(task["submit_time"] + REALISTIC_QUEUE_SECONDS)
                task = self.rt.docs.get(TASK_KIND, ns, task_id)
                if task is None or task["status"] != "PENDING":
                    return
            task.update(status="RUNNING", scheduled_time=self.rt.clock.now())
            self._save(ns, task)
            self.rt.events.record(ns, SERVICE, task_id, "started")
        faults = await self.tasks.faults(ns, task_id, {
            "action": "VideoSynthesis", "model": task["model"], "task_type": "image2video"})
        if faults.fail is not None:
            self._fail(ns, task, faults.fail["code"], faults.fail.get("message", ""))
            return
        try:
            bucket, key, duration = await self.tasks.offload(self._produce, ns, task)
            if faults.duration_seconds is not None:
                await self.rt.clock.sleep_until(task["scheduled_time"] + faults.duration_seconds)
            elif realistic:
                await self.rt.clock.sleep_until(
                    task["scheduled_time"] + duration * REALISTIC_SECONDS_PER_OUTPUT_SECOND[task["mode"]])
            task.update(status="SUCCEEDED", end_time=self.rt.clock.now(), video_bucket=bucket,
                        video_key=key, video_duration=duration)
            if faults.result_url_ttl_seconds is not None:
                task["url_ttl_seconds"] = faults.result_url_ttl_seconds
            if self._save(ns, task):
                self.rt.events.record(ns, SERVICE, task_id, "finished", status="SUCCEEDED",
                                      video_duration=duration)
                if faults.vanish_after_seconds is not None:
                    self.tasks.remove_outputs_later(ns, task_id, self.oss, [(bucket, key)],
                                                    faults.vanish_after_seconds)
        except ServiceError as err:
            self._fail(ns, task, err.code, err.message)
        except MediaError as err:
            log.warning("dashscope task %s: render failed: %s", task_id, err)
            self._fail(ns, task, "InternalError.Algo", "inference internal error.")
        except Exception:
            log.exception("dashscope task %s", task_id)
            self._fail(ns, task, "InternalError", "An internal error has occured, please try again later "
                       "or contact service support.")

    def _fail(self, ns: str, task: dict[str, Any], code: str, message: str) -> None:
        task.update(status="FAILED", end_time=self.rt.clock.now(), code=code, message=message)
        if self._save(ns, task):
            self.rt.events.record(ns, SERVICE, task["task_id"], "finished", status="FAILED", code=code,
                                  message=message)

    def _prepare(self, ns: str, image_url: str, video_url: str, work: Path, own_hosts: set[str],
                 check_person: bool, at_submit: bool = False
                 ) -> tuple[Path, tuple[int, int], Path, MediaInfo]:
        image = self.inputs.fetch(ns, image_url, "image", work / "image", own_hosts)
        image_size = inputs.check_image(image)
        if check_person:
            content.check_image(image)
        video = self.inputs.fetch(ns, video_url, "video", work / "video", own_hosts)
        info = inputs.check_video(video)
        content.check_video(video, info, at_submit)
        return image, image_size, video, info

    def _produce(self, ns: str, task: dict[str, Any]) -> tuple[str, str, float]:
        """Fetch, check, render and store one task's video (blocking, in the worker pool)."""
        task_id = task["task_id"]
        work = Path(tempfile.mkdtemp(prefix="dashscope-", dir=self.rt.data_dir))
        try:
            image, image_size, video, info = self._prepare(ns, task["image_url"], task["video_url"], work,
                                                           set(task["own_hosts"]), task["check_image"])
            self.rt.events.record(ns, SERVICE, task_id, "inputs checked", image_size=list(image_size),
                                  video_duration=info.duration, video_size=list(info.display_size))
            self.rt.events.record(ns, SERVICE, task_id,
                                  "check_image passed" if task["check_image"] else "check_image skipped",
                                  detector=content.DETECTOR)
            from emulator.media import animate  # numpy and Pillow load on the first render, not at start

            plan = animate.plan_for_inputs(task["model"], task["mode"], image, image_size, video, info,
                                           task["watermark"])
            out = work / "output.mp4"
            animate.render(plan, image, video, out)
            self.rt.events.record(ns, SERVICE, task_id, "rendered", width=plan.width, height=plan.height,
                                  frames=plan.frame_count, fps=str(plan.fps))
            if self.rt.docs.get(TASK_KIND, ns, task_id) is None:
                raise errors.task_dropped()
            bucket = RESULT_BUCKET.get(task["region"], DEFAULT_RESULT_BUCKET)
            self.oss.create_bucket(ns, bucket)
            day = utc_day(task["submit_time"], "%Y%m%d")
            key = f"{day}/{task_id}.mp4"
            self.oss.put_file(ns, bucket, key, out, "video/mp4")
            self.rt.events.record(ns, SERVICE, task_id, "output written", bucket=bucket, key=key)
            return bucket, key, round(plan.duration, 3)
        finally:
            shutil.rmtree(work, ignore_errors=True)
