"""IMM 2020-09-30 RPC: `POST /` with the action in x-acs-action (V3) or Action= (V2).

ROUTES at the bottom is the whole API: one plain handler per action, `handler(ctx) -> Response`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from starlette.responses import Response

from emulator.auth.acs import SignedRequest, access_key_of, verify_pop_request
from emulator.core.errors import ServiceError
from emulator.core.pipeline import Handler, RequestContext, Service
from emulator.core.ports import ObjectStore, Publisher
from emulator.core.runtime import Runtime
from emulator.core.tasks import TaskRunner
from emulator.core.timefmt import parse_iso
from emulator.services.imm import errors, media_actions, seed, wire
from emulator.services.imm.convert import parse_convert_request
from emulator.services.imm.errors import invalid
from emulator.services.imm.model import PROJECT_LIMITS, TASK_STATUSES, ImmModel, task_view
from emulator.services.imm.playlists import LivePlaylists
from emulator.services.imm.runner import SERVICE, MediaConvertJobs
from emulator.services.imm.wire import Params

Ctx = RequestContext[ImmModel]


def _time_range(params: Params, name: str) -> tuple[float, float] | None:
    value = params.json(name, dict)
    if value is None:
        return None
    bounds = []
    for key, default in (("Start", float("-inf")), ("End", float("inf"))):
        raw = value.get(key)
        if raw in (None, ""):
            bounds.append(default)
            continue
        try:
            bounds.append(parse_iso(raw))
        except ValueError:
            raise invalid(f"{name}.{key}", "must be an ISO 8601 time.") from None
    return bounds[0], bounds[1]


def _project_fields(params: Params) -> dict[str, Any]:
    description = params.str("Description")
    if description is not None and len(description) > 256:
        raise invalid("Description", "must be at most 256 characters.")
    fields: dict[str, Any] = {"Description": description, "ServiceRole": params.str("ServiceRole"),
                              "TemplateId": params.str("TemplateId")}
    for name in PROJECT_LIMITS:
        fields[name] = params.int(name, low=0, high=2**62)
    tags = _tag_list(params)
    if tags is not None:
        fields["Tag"] = tags
    return fields


def _tag_list(params: Params) -> list[dict[str, Any]] | None:
    tags = params.json("Tag", list)
    if tags is not None and not all(isinstance(t, dict) for t in tags):
        raise invalid("Tag", "must be a JSON array of {Key, Value} objects.")
    return tags


def _ok(ctx: Ctx, body: dict[str, Any]) -> Response:
    return wire.ok(ctx.request_id, body)


# ---- projects -------------------------------------------------------------------------------

async def create_project(ctx: Ctx) -> Response:
    params = Params(ctx.params)
    name = params.str("ProjectName", required=True)
    fields = _project_fields(params)
    project = ctx.model.create_project(
        ctx.ns, name, fields.pop("Description") or "", fields.pop("ServiceRole"),
        fields.pop("TemplateId") or "", fields.pop("Tag", None),
        {k: v for k, v in fields.items() if v is not None})
    return _ok(ctx, {"Project": project})


async def get_project(ctx: Ctx) -> Response:
    params = Params(ctx.params)
    params.bool("WithStatistics")
    return _ok(ctx, {"Project": ctx.model.get_project(ctx.ns, params.str("ProjectName", required=True))})


async def update_project(ctx: Ctx) -> Response:
    params = Params(ctx.params)
    name = params.str("ProjectName", required=True)
    return _ok(ctx, {"Project": ctx.model.update_project(ctx.ns, name, _project_fields(params))})


async def delete_project(ctx: Ctx) -> Response:
    ctx.model.delete_project(ctx.ns, Params(ctx.params).str("ProjectName", required=True))
    return _ok(ctx, {})


async def list_projects(ctx: Ctx) -> Response:
    params = Params(ctx.params)
    max_results = params.int("MaxResults", 0, low=0, high=200) or 100
    prefix = params.str("Prefix", default="")
    if len(prefix) > 128:
        raise invalid("Prefix", "must be at most 128 characters.")
    projects, next_token = ctx.model.list_projects(ctx.ns, prefix, max_results,
                                                   params.str("NextToken", default=""), _tag_list(params))
    return _ok(ctx, {"NextToken": next_token, "Projects": projects})


# ---- OSS bucket attachments -----------------------------------------------------------------

def _bucket(params: Params) -> str:
    return params.str("OSSBucket", required=True)


async def attach_oss_bucket(ctx: Ctx) -> Response:
    params = Params(ctx.params)
    project, bucket = params.str("ProjectName", required=True), _bucket(params)
    description = params.str("Description", default="")
    if len(description) > 128:
        raise invalid("Description", "must be at most 128 characters.")
    ctx.model.attach_bucket(ctx.ns, project, bucket, description)
    return _ok(ctx, {})


async def get_oss_bucket_attachment(ctx: Ctx) -> Response:
    attachment = ctx.model.bucket_attachment(ctx.ns, _bucket(Params(ctx.params)))
    return _ok(ctx, {k: attachment[k] for k in ("ProjectName", "Description", "CreateTime", "UpdateTime")})


async def detach_oss_bucket(ctx: Ctx) -> Response:
    ctx.model.detach_bucket(ctx.ns, _bucket(Params(ctx.params)))
    return _ok(ctx, {})


async def list_attached_oss_buckets(ctx: Ctx) -> Response:
    params = Params(ctx.params)
    max_results = params.int("MaxResults", 0, low=0, high=200) or 100
    attached, next_token = ctx.model.attached_buckets(
        ctx.ns, params.str("ProjectName", required=True), max_results, params.str("NextToken"))
    return _ok(ctx, {"AttachedOSSBuckets": attached, "NextToken": next_token})


# ---- tasks ----------------------------------------------------------------------------------

async def create_media_convert_task(ctx: Ctx) -> Response:
    params, ns = Params(ctx.params), ctx.ns
    project = params.str("ProjectName", required=True)
    ctx.model.get_project(ns, project)
    parsed = {name: params.json(name, kind) for name, kind in (
        ("Sources", list), ("Targets", list), ("TargetGroups", list), ("Notification", dict),
        ("Tags", dict), ("CredentialConfig", dict))}
    user_data = params.str("UserData")
    alignment = params.int("AlignmentIndex", 0, low=0, high=10)
    request = parse_convert_request(parsed["Sources"], parsed["Targets"], parsed["TargetGroups"],
                                    parsed["Notification"], user_data, parsed["Tags"], alignment)
    definition = {"ProjectName": project, **{k: v for k, v in parsed.items() if v is not None},
                  **({"UserData": user_data} if user_data is not None else {}),
                  "AlignmentIndex": alignment}
    task = ctx.model.new_media_convert_task(ns, project, definition, ctx.request_id, user_data,
                                            request.tags)
    ctx.model.start_media_convert_task(ns, task, request)
    return _ok(ctx, {"TaskId": task["TaskId"], "EventId": task["EventId"]})


async def get_task(ctx: Ctx) -> Response:
    params = Params(ctx.params)
    task = ctx.model.get_task(ctx.ns, params.str("ProjectName", required=True),
                              params.str("TaskType", required=True), params.str("TaskId", required=True))
    return _ok(ctx, task_view(task, params.bool("RequestDefinition")))


async def list_tasks(ctx: Ctx) -> Response:
    params = Params(ctx.params)
    project = params.str("ProjectName", required=True)
    task_types = params.json("TaskTypes", list)
    status = params.str("Status")
    if status is not None and status not in TASK_STATUSES:
        raise invalid("Status", f"must be one of {', '.join(TASK_STATUSES)}.")
    sort = params.str("Sort", default="TaskId")
    if sort not in ("TaskId", "StartTime", "EndTime"):
        raise invalid("Sort", "must be TaskId, StartTime or EndTime.")
    order = (params.str("Order", default="asc") or "asc").lower()
    if order not in ("asc", "desc"):
        raise invalid("Order", "must be asc or desc.")
    max_results = params.int("MaxResults", 0, low=0, high=100) or 100
    tasks, next_token = ctx.model.list_tasks(
        ctx.ns, project, task_types, status, _time_range(params, "StartTimeRange"),
        _time_range(params, "EndTimeRange"), params.str("TagSelector"), sort, order,
        max_results, params.str("NextToken"))
    with_definition = params.bool("RequestDefinition")
    body: dict[str, Any] = {"ProjectName": project, "MaxResults": str(max_results),
                            "Tasks": [task_view(t, with_definition, for_list=True) for t in tasks]}
    if next_token:
        body["NextToken"] = next_token
    return _ok(ctx, body)


async def detect_media_meta(ctx: Ctx) -> Response:
    return _ok(ctx, await media_actions.detect_media_meta(ctx.model, ctx.model.objects, ctx.ns,
                                                          Params(ctx.params)))


async def generate_video_playlist(ctx: Ctx) -> Response:
    assert ctx.model.playlists is not None
    return _ok(ctx, await ctx.model.playlists.generate(ctx.ns, Params(ctx.params), ctx.request_id))


ROUTES: dict[str, Handler] = {
    "CreateProject": create_project,
    "GetProject": get_project,
    "UpdateProject": update_project,
    "DeleteProject": delete_project,
    "ListProjects": list_projects,
    "AttachOSSBucket": attach_oss_bucket,
    "GetOSSBucketAttachment": get_oss_bucket_attachment,
    "DetachOSSBucket": detach_oss_bucket,
    "ListAttachedOSSBuckets": list_attached_oss_buckets,
    "CreateMediaConvertTask": create_media_convert_task,
    "GetTask": get_task,
    "ListTasks": list_tasks,
    "DetectMediaMeta": detect_media_meta,
    "GenerateVideoPlaylist": generate_video_playlist,
}


# ---- the pipeline's steps -------------------------------------------------------------------

def _header_pairs(ctx: Ctx) -> list[tuple[str, str]]:
    return list(ctx.headers.items())


def _form(ctx: Ctx) -> list[tuple[str, str]]:
    if not ctx.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return []
    return parse_qsl((ctx.body or b"").decode("utf-8", "replace"), keep_blank_values=True)


async def parse(ctx: Ctx) -> None:
    """Parameters from the query and a form body (V2 sends them there); action, project and the
    claimed namespace."""
    ctx.body = await ctx.request.body()
    query = parse_qsl(ctx.raw_query, keep_blank_values=True)
    for key, value in query + _form(ctx):
        ctx.params.setdefault(key, value)
    action = ctx.headers.get("x-acs-action") or ctx.params.get("Action")
    version = ctx.headers.get("x-acs-version") or ctx.params.get("Version")
    if ctx.params.get("ProjectName"):
        ctx.resources["project"] = ctx.params["ProjectName"]
    claimed = access_key_of(SignedRequest(ctx.method, ctx.path, query, _header_pairs(ctx), b"")) or ""
    creds = ctx.runtime.accounts.by_access_key(claimed) or ctx.runtime.accounts.default
    ctx.namespace = creds.namespace
    if not action or action not in ROUTES:
        ctx.error = errors.api_not_found()
        return
    ctx.operation = action
    if version != wire.API_VERSION:
        ctx.error = errors.invalid_version(version)


async def admit(ctx: Ctx) -> None:
    if ctx.error is not None:
        raise ctx.error
    rt = ctx.runtime
    query = parse_qsl(ctx.raw_query, keep_blank_values=True)
    # V3 signs the query (the body goes in by its hash); V2 signs query and form together.
    signed_params = query if ctx.headers.get("authorization") else query + _form(ctx)
    signed = SignedRequest(ctx.method, ctx.path, signed_params, _header_pairs(ctx), ctx.body or b"")
    if rt.config.verify_signatures:
        access_key_id = verify_pop_request(signed, _secret_for(rt), rt.config.max_clock_skew_seconds)
    else:
        access_key_id = access_key_of(signed) or ""
    creds = rt.accounts.by_access_key(access_key_id)
    ctx.credentials = creds
    ctx.namespace = creds.namespace if creds else rt.accounts.default.namespace


def _secret_for(rt: Runtime) -> Callable[[str], str | None]:
    def secret(access_key_id: str) -> str | None:
        creds = rt.accounts.by_access_key(access_key_id)
        return creds.access_key_secret if creds else None
    return secret


def render_error(ctx: Ctx, err: ServiceError) -> Response:
    return wire.error(ctx.request_id, ctx.runtime.config.region, err)


def build_imm(runtime: Runtime, objects: ObjectStore, publisher: Publisher) -> Service[ImmModel]:
    model = ImmModel(runtime, objects)
    model.playlists = LivePlaylists(runtime, model, objects)
    runtime.faults.register_match_fields("imm", ("project", "topic", "task_type"))
    seed.register(runtime, model)
    tasks = TaskRunner(runtime, SERVICE)
    jobs = MediaConvertJobs(runtime, model, tasks, objects, publisher)
    model.start_task = jobs.submit
    throttled = errors.throttled()
    return Service(
        "imm", model, parse=parse, admit=admit, routes=ROUTES, render_error=render_error,
        request_id=lambda rt: rt.ids.uuid().upper(), startup=lambda: tasks.resume(jobs.unfinished()),
        shutdown=tasks.close, reset=tasks.cancel, billing=model.billing, tasks=model.admin_tasks,
        info=lambda: {"status": "running", "actions": sorted(ROUTES)}, media_type=wire.JSON_TYPE,
        throttle=(throttled.status, throttled.code, throttled.message, None))
