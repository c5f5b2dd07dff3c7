"""IMM state and rules: projects, tasks and the usage meter, all in the document store. No HTTP.

Task documents keep the task as GetTask shows it (times as epochs) plus the validated request
and, once written, the output URIs. Running a MediaConvert task is emulator.services.imm.runner's
job; this model only records what happens.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from emulator.core.errors import ServiceError
from emulator.core.ports import ObjectStore
from emulator.core.runtime import Runtime
from emulator.core.timefmt import iso_millis
from emulator.services.imm.convert import ConvertRequest
from emulator.services.imm.errors import already_exists, invalid, not_found

if TYPE_CHECKING:
    from emulator.services.imm.playlists import LivePlaylists

PROJECT_KIND = "imm-project"
TASK_KIND = "imm-task"
USAGE_KIND = "imm-usage"
ATTACHMENT_KIND = "imm-oss-attachment"  # keyed by bucket: GetOSSBucketAttachment names only the bucket

_PROJECT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,127}$")
PROJECT_LIMITS = ("ProjectMaxDatasetCount", "DatasetMaxBindCount", "DatasetMaxFileCount",
                  "DatasetMaxEntityCount", "DatasetMaxRelationCount", "DatasetMaxTotalFileSize")
TASK_STATUSES = ("Running", "Succeeded", "Failed")
# What IMM bills a MediaConvert output by (MediaAnimation: per output animation frame;
# MediaTranscode*: per output minute, by codec and resolution tier), DetectMediaMeta per call.
BILLABLE_UNITS = {"MediaAnimation": "frame", "DetectMediaMeta": "request", "MediaLiveTranscode": "second"}


def check_project_name(name: str) -> None:
    if not _PROJECT_NAME.match(name):
        raise invalid("ProjectName", "is invalid: 1-128 letters, digits, '-' or '_', starting with "
                      "a letter or '_'.")


def _tags_out(tags: list[dict[str, str]] | None) -> list[dict[str, str]]:
    return [{"TagKey": str(t.get("Key", "")), "TagValue": str(t.get("Value", ""))} for t in tags or []]


def _page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def _page_offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        kind, _, number = text.partition(":")
        if kind != "offset" or not number.isdigit():
            raise ValueError(text)
        return int(number)
    except ValueError:
        raise invalid("NextToken", "is invalid.") from None


class ImmModel:
    def __init__(self, runtime: Runtime, objects: ObjectStore) -> None:
        self.rt = runtime
        self.objects = objects  # where sources are read and outputs written
        # GenerateVideoPlaylist's live segments (set by the service: they need this model).
        self.playlists: LivePlaylists | None = None
        # Hands a recorded task to whatever runs it (the service wires its task runner in).
        self.start_task: Callable[[str, dict[str, Any], ConvertRequest], None] = (
            lambda ns, task, request: None)

    # ---- projects ------------------------------------------------------------------------

    def create_project(self, ns: str, name: str, description: str = "", service_role: str | None = None,
                       template_id: str = "", tags: list[dict[str, str]] | None = None,
                       limits: dict[str, int] | None = None) -> dict[str, Any]:
        check_project_name(name)
        now = iso_millis(self.rt.clock.now())
        project = {
            "ProjectName": name, "Description": description,
            "ServiceRole": service_role or "AliyunIMMDefaultRole", "TemplateId": template_id,
            "CreateTime": now, "UpdateTime": now, "DatasetCount": 0, "FileCount": 0,
            "TotalFileSize": 0, "EngineConcurrency": 100, "ProjectQueriesPerSecond": 100,
            "Tags": _tags_out(tags), **{k: 0 for k in PROJECT_LIMITS}, **(limits or {})}
        with self.rt.docs.transaction():
            if self.rt.docs.get(PROJECT_KIND, ns, name) is not None:
                raise already_exists("Project")
            self.rt.docs.put(PROJECT_KIND, ns, name, project)
        return project

    def get_project(self, ns: str, name: str) -> dict[str, Any]:
        project = self.rt.docs.get(PROJECT_KIND, ns, name)
        if project is None:
            raise not_found("Project")
        return project

    def update_project(self, ns: str, name: str, changes: dict[str, Any]) -> dict[str, Any]:
        with self.rt.docs.transaction():
            project = self.get_project(ns, name)
            if "Tag" in changes:
                tags = changes.pop("Tag")
                changes = {**changes, "Tags": _tags_out(tags)}
            project.update({k: v for k, v in changes.items() if v is not None})
            project["UpdateTime"] = iso_millis(self.rt.clock.now())
            self.rt.docs.put(PROJECT_KIND, ns, name, project)
        return project

    def delete_project(self, ns: str, name: str) -> None:
        with self.rt.docs.transaction():
            self.get_project(ns, name)
            for key, _ in list(self.rt.docs.scan(TASK_KIND, ns, name + "/")):
                self.rt.docs.delete(TASK_KIND, ns, key)
            for bucket, attachment in list(self.rt.docs.scan(ATTACHMENT_KIND, ns)):
                if attachment["ProjectName"] == name:
                    self.rt.docs.delete(ATTACHMENT_KIND, ns, bucket)
            self.rt.docs.delete(PROJECT_KIND, ns, name)

    def list_projects(self, ns: str, prefix: str = "", max_results: int = 100, next_token: str = "",
                      tags: list[dict[str, str]] | None = None) -> tuple[list[dict[str, Any]], str]:
        wanted = _tags_out(tags)
        found: list[dict[str, Any]] = []
        for _, project in self.rt.docs.scan(PROJECT_KIND, ns, prefix, after=next_token or None):
            if all(t in project["Tags"] for t in wanted):
                found.append(project)
                if len(found) > max_results:
                    break
        more = len(found) > max_results
        found = found[:max_results]
        return found, found[-1]["ProjectName"] if more else ""

    # ---- OSS buckets attached to projects (x-oss-process through IMM) ---------------------

    def attach_bucket(self, ns: str, project: str, bucket: str, description: str) -> None:
        """Bind a bucket of the same account to a project; a bucket has one project at most."""
        self.get_project(ns, project)
        try:
            self.objects.get_bucket(ns, bucket)
        except ServiceError:
            raise not_found("OSSBucket") from None
        now = iso_millis(self.rt.clock.now())
        with self.rt.docs.transaction():
            if self.rt.docs.get(ATTACHMENT_KIND, ns, bucket) is not None:
                raise already_exists("OSSBucket")
            self.rt.docs.put(ATTACHMENT_KIND, ns, bucket, {
                "OSSBucket": bucket, "ProjectName": project, "Description": description,
                "OwnerId": self.rt.config.account_id, "CreateTime": now, "UpdateTime": now})

    def bucket_attachment(self, ns: str, bucket: str) -> dict[str, Any]:
        attachment = self.rt.docs.get(ATTACHMENT_KIND, ns, bucket)
        if attachment is None:
            raise not_found("OSSBucket")
        return attachment

    def detach_bucket(self, ns: str, bucket: str) -> None:
        with self.rt.docs.transaction():
            self.bucket_attachment(ns, bucket)
            self.rt.docs.delete(ATTACHMENT_KIND, ns, bucket)

    def attached_buckets(self, ns: str, project: str, max_results: int = 100,
                         next_token: str | None = None) -> tuple[list[dict[str, Any]], str]:
        """A project's attachments in bucket order, a page at a time."""
        self.get_project(ns, project)
        offset = _page_offset(next_token)
        attached = [a for _, a in self.rt.docs.scan(ATTACHMENT_KIND, ns) if a["ProjectName"] == project]
        more = offset + max_results < len(attached)
        return attached[offset:offset + max_results], _page_token(offset + max_results) if more else ""

    # ---- tasks ---------------------------------------------------------------------------

    def _task_key(self, project: str, task_id: str) -> str:
        return f"{project}/{task_id}"

    def add_task(self, ns: str, task: dict[str, Any]) -> None:
        self.rt.docs.put(TASK_KIND, ns, self._task_key(task["ProjectName"], task["TaskId"]), task)

    def new_media_convert_task(self, ns: str, project: str, definition: dict[str, Any], request_id: str,
                               user_data: str | None, tags: dict[str, Any] | None) -> dict[str, Any]:
        """Record a Running MediaConvert task; `definition` is what TaskRequestDefinition returns."""
        ids = self.rt.ids
        task = {
            "ProjectName": project, "TaskId": f"MediaConvert-{ids.uuid()}", "TaskType": "MediaConvert",
            "EventId": f"{ids.hex(3, upper=True)}-{ids.token(27)}",
            "RequestId": request_id, "Status": "Running", "Code": "", "Message": "",
            "StartTime": self.rt.clock.now(), "EndTime": None, "Progress": 0,
            "UserData": user_data or "", "Tags": tags,
            "Definition": json.dumps(definition, ensure_ascii=False, separators=(",", ":"))}
        self.add_task(ns, task)
        return task

    def start_media_convert_task(self, ns: str, task: dict[str, Any], request: ConvertRequest) -> None:
        self.rt.events.record(ns, "imm", task["TaskId"], "submitted", project=task["ProjectName"],
                              outputs=len(request.outputs))
        self.start_task(ns, task, request)

    def update_task(self, ns: str, project: str, task_id: str, **changes: Any) -> dict[str, Any] | None:
        """Apply changes to a stored task; None when it is gone (project deleted, reset)."""
        key = self._task_key(project, task_id)
        with self.rt.docs.transaction():
            task = self.rt.docs.get(TASK_KIND, ns, key)
            if task is None:
                return None
            task.update(changes)
            self.rt.docs.put(TASK_KIND, ns, key, task)
        return task

    def get_task(self, ns: str, project: str, task_type: str, task_id: str) -> dict[str, Any]:
        self.get_project(ns, project)
        task = self.rt.docs.get(TASK_KIND, ns, self._task_key(project, task_id))
        if task is None or task["TaskType"] != task_type:
            raise not_found("Task")
        return task

    def list_tasks(self, ns: str, project: str, task_types: list[str] | None = None,
                   status: str | None = None, start_range: tuple[float, float] | None = None,
                   end_range: tuple[float, float] | None = None, tag_selector: str | None = None,
                   sort: str = "TaskId", order: str = "asc", max_results: int = 100,
                   next_token: str | None = None) -> tuple[list[dict[str, Any]], str]:
        self.get_project(ns, project)
        offset = _page_offset(next_token)
        tasks = [t for _, t in self.rt.docs.scan(TASK_KIND, ns, project + "/")]
        if task_types:
            tasks = [t for t in tasks if t["TaskType"] in task_types]
        if status:
            tasks = [t for t in tasks if t["Status"] == status]
        if start_range:
            tasks = [t for t in tasks if start_range[0] <= t["StartTime"] <= start_range[1]]
        if end_range:
            tasks = [t for t in tasks if t.get("EndTime") is not None
                     and end_range[0] <= t["EndTime"] <= end_range[1]]
        if tag_selector:
            tasks = [t for t in tasks if _matches_tags(t.get("Tags") or {}, tag_selector)]
        sort_key = {"TaskId": lambda t: t["TaskId"], "StartTime": lambda t: (t["StartTime"], t["TaskId"]),
                    "EndTime": lambda t: (t.get("EndTime") or float("inf"), t["TaskId"])}[sort]
        tasks.sort(key=sort_key, reverse=order == "desc")
        page = tasks[offset:offset + max_results]
        more = offset + max_results < len(tasks)
        return page, _page_token(offset + max_results) if more else ""

    def admin_tasks(self, namespace: str | None) -> list[dict[str, Any]]:
        """Every task of a namespace (None: all), newest first, as the admin API lists them."""
        spaces = [namespace] if namespace else [c.namespace for c in self.rt.accounts.all()]
        listed = [{"namespace": ns, "task_id": t["TaskId"], "project": t["ProjectName"],
                   "task_type": t["TaskType"], "status": t["Status"], "progress": t.get("Progress", 0),
                   "submitted": t["StartTime"], "ended": t.get("EndTime"), "code": t.get("Code") or None}
                  for ns in spaces for _, t in self.rt.docs.scan(TASK_KIND, ns)]
        return sorted(listed, key=lambda t: t["submitted"], reverse=True)

    def running_tasks(self) -> list[tuple[str, dict[str, Any]]]:
        """(namespace, task) of every task still Running, e.g. after a restart."""
        return [(ns, task) for ns in self.rt.docs.namespaces(TASK_KIND)
                for _, task in self.rt.docs.scan(TASK_KIND, ns) if task["Status"] == "Running"]

    # ---- usage meter ---------------------------------------------------------------------

    def record_usage(self, ns: str, project: str, item: str, quantity: int) -> None:
        with self.rt.docs.transaction():
            usage = self.rt.docs.get(USAGE_KIND, ns, project) or {}
            usage[item] = usage.get(item, 0) + quantity
            self.rt.docs.put(USAGE_KIND, ns, project, usage)

    def billing(self, namespace: str | None) -> dict[str, Any]:
        namespaces = [namespace] if namespace else self.rt.docs.namespaces(USAGE_KIND)
        items = []
        for ns in namespaces:
            for project, usage in self.rt.docs.scan(USAGE_KIND, ns):
                items.extend({"namespace": ns, "project": project, "billable_item": item,
                              "quantity": quantity, "unit": _unit(item)}
                             for item, quantity in sorted(usage.items()))
        return {"items": items}


def _unit(item: str) -> str:
    return BILLABLE_UNITS.get(item, "minute" if item.startswith("MediaTranscode") else "count")


def _matches_tags(tags: dict[str, Any], selector: str) -> bool:
    """TagSelector's format is undocumented; accepted here: `key=value` pairs joined by `,` or
    ` and `, all of which must match."""
    for clause in re.split(r",|\s+and\s+", selector):
        key, sep, value = clause.strip().partition("=")
        if key and (not sep and key not in tags or sep and str(tags.get(key.strip())) != value.strip()):
            return False
    return True


def task_view(task: dict[str, Any], with_definition: bool, for_list: bool = False) -> dict[str, Any]:
    """A stored task as GetTask (or ListTasks' TaskInfo) shows it."""
    view = {
        "TaskId": task["TaskId"], "TaskType": task["TaskType"], "Status": task["Status"],
        "Code": task.get("Code", ""), "Message": task.get("Message", ""),
        "StartTime": iso_millis(task["StartTime"]), "Progress": task.get("Progress", 0),
        "UserData": task.get("UserData", ""), "Tags": task.get("Tags") or {}}
    if task.get("EndTime") is not None:
        view["EndTime"] = iso_millis(task["EndTime"])
    if not for_list:
        view = {"ProjectName": task["ProjectName"], "EventId": task["EventId"], **view}
    if with_definition:
        view["TaskRequestDefinition"] = task["Definition"]
    return view

