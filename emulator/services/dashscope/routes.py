"""DashScope routes: thin glue between HTTP and the model.

TABLE at the bottom is the whole API: (method, path pattern, operation, handler); each handler is a
plain `handler(ctx) -> Response`. Every request authenticates the bearer key (bound to a region by
the Host header) before its handler runs.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

from starlette.responses import Response

from emulator.auth.dashscope import authenticate, bearer_key
from emulator.core.errors import ServiceError
from emulator.core.pipeline import Handler, RequestContext, Service
from emulator.core.ports import ObjectStore
from emulator.core.runtime import Runtime
from emulator.core.tasks import TaskRunner
from emulator.services.dashscope import errors, wire
from emulator.services.dashscope.model import SERVICE, TASK_KIND, DashScopeModel

Ctx = RequestContext[DashScopeModel]
SUBMIT_OPERATIONS = ("CreateTask", "CreateVideoGenerationTask")


def _region(ctx: Ctx) -> str:
    return ctx.params["region"]


def _own_hosts(ctx: Ctx) -> list[str]:
    config = ctx.runtime.config
    hosts = {ctx.headers.get("host", "").lower(), f"127.0.0.1:{config.port}", f"localhost:{config.port}",
             urlsplit(config.public_url).netloc}
    return sorted(h for h in hosts if h)


async def submit(ctx: Ctx) -> Response:
    if ctx.headers.get("x-dashscope-async", "").strip().lower() != "enable":
        raise errors.synchronous_call()
    parsed = wire.parse_submit(ctx.body or b"")
    resolve = ctx.headers.get("x-dashscope-ossresourceresolve", "").strip().lower() == "enable"
    if not resolve and any(url.startswith("oss://") for url in parsed.urls()):
        raise errors.data_inspection()
    hosts = _own_hosts(ctx)
    if ctx.runtime.config.dashscope_check_inputs_at_submit:
        await ctx.runtime.pool.run(ctx.model.check_inputs, ctx.ns, parsed, hosts)
    assert ctx.credentials is not None
    task = ctx.model.submit(ctx.credentials, _region(ctx), parsed, ctx.request_id, hosts)
    return wire.respond(wire.submitted_body(task, ctx.request_id), ctx.request_id,
                        content_type=wire.SUBMIT_CONTENT_TYPE)


async def wrong_path(ctx: Ctx) -> Response:
    raise errors.wrong_path()


async def get_task(ctx: Ctx) -> Response:
    task_id = ctx.params["task_id"]
    task = ctx.model.query(ctx.ns, _region(ctx), task_id)
    url = ctx.model.video_url(task, ctx.base_url) if task and task["status"] == "SUCCEEDED" else None
    return wire.respond(wire.task_body(task, task_id, ctx.request_id, url), ctx.request_id)


async def cancel_task(ctx: Ctx) -> Response:
    ctx.model.cancel(ctx.ns, _region(ctx), ctx.params["task_id"])
    return wire.respond({"request_id": ctx.request_id}, ctx.request_id)


async def list_tasks(ctx: Ctx) -> Response:
    query = wire.parse_list_query(ctx.query, ctx.runtime.clock.now())
    page, total = ctx.model.list_tasks(ctx.ns, _region(ctx), query)
    items = [wire.list_item(task, ctx.runtime.config.account_id) for task in page]
    return wire.respond(wire.list_body(items, total, query, ctx.request_id), ctx.request_id)


async def get_policy(ctx: Ctx) -> Response:
    if ctx.query.get("action") != "getPolicy":
        raise errors.invalid_parameter(errors.BAD_PARAMETERS)
    model_name = ctx.query.get("model")
    if not model_name:
        raise errors.invalid_parameter("Field required: model")
    assert ctx.credentials is not None
    data = ctx.model.upload_policy(ctx.credentials, model_name, ctx.base_url, ctx.request_id)
    return wire.respond(wire.policy_body(data, ctx.request_id), ctx.request_id)


_TASK = r"/api/v1/tasks/(?P<task_id>[^/]+)"
TABLE: list[tuple[str, str, str, Handler]] = [
    ("POST", r"/api/v1/services/aigc/image2video/video-synthesis/?", "CreateTask", submit),
    # The SDK posts here without task="image2video"; the animate models do not live there.
    ("POST", r"/api/v1/services/aigc/video-generation/video-synthesis/?", "CreateVideoGenerationTask",
     wrong_path),
    ("GET", r"/api/v1/tasks/?", "ListTasks", list_tasks),
    ("GET", _TASK, "GetTask", get_task),
    ("POST", _TASK + "/cancel", "CancelTask", cancel_task),
    ("GET", r"/api/v1/uploads", "GetPolicy", get_policy),
]
ROUTES: dict[str, Handler] = {name: handler for *_, name, handler in TABLE}
_PATTERNS = [(method, re.compile(pattern + r"\Z"), name) for method, pattern, name, _ in TABLE]


# ---- the pipeline's steps -------------------------------------------------------------------

async def parse(ctx: Ctx) -> None:
    ctx.query = dict(ctx.request.query_params)
    found = ctx.runtime.accounts.by_dashscope_key(bearer_key(ctx.headers.get("authorization")) or "")
    ctx.namespace = found[0].namespace if found else None
    matches = [(method, m, name) for method, pattern, name in _PATTERNS if (m := pattern.match(ctx.path))]
    hit = next(((m, name) for method, m, name in matches if method == ctx.method), None)
    if hit is None:
        ctx.error = errors.method_not_supported(ctx.method) if matches else errors.not_found()
        return
    match, ctx.operation = hit
    ctx.params.update(match.groupdict())
    if ctx.operation in SUBMIT_OPERATIONS:
        ctx.body = await ctx.request.body()
        try:
            body = json.loads(ctx.body)
        except (ValueError, UnicodeDecodeError, RecursionError):
            return  # the handler refuses it in DashScope's words
        if isinstance(body, dict) and isinstance(body.get("model"), str):
            ctx.resources["model"] = body["model"]


async def admit(ctx: Ctx) -> None:
    if ctx.error is not None:
        raise ctx.error
    config = ctx.runtime.config
    creds, region = authenticate(ctx.runtime.accounts, ctx.headers.get("authorization"),
                                 ctx.headers.get("host", ""), config.verify_signatures)
    ctx.credentials, ctx.namespace, ctx.params["region"] = creds, creds.namespace, region


def render_error(ctx: Ctx, err: ServiceError) -> Response:
    content_type = wire.SUBMIT_CONTENT_TYPE if ctx.operation in SUBMIT_OPERATIONS else wire.TASKS_CONTENT_TYPE
    return wire.error_response(err, ctx.request_id, content_type)


def build_dashscope(runtime: Runtime, objects: ObjectStore) -> Service[DashScopeModel]:
    model = DashScopeModel(runtime, objects, TaskRunner(runtime, SERVICE))
    runtime.faults.register_match_fields("dashscope", ("model", "task_type"))

    def tasks(namespace: str | None) -> list[dict[str, Any]]:
        spaces = [namespace] if namespace else [c.namespace for c in runtime.accounts.all()]
        listed = [{"namespace": ns, "task_id": doc["task_id"], "status": doc["status"],
                   "model": doc["model"], "submitted": doc["submit_time"], "ended": doc.get("end_time"),
                   "code": doc.get("code")}
                  for ns in spaces for _, doc in runtime.docs.scan(TASK_KIND, ns)]
        return sorted(listed, key=lambda t: t["submitted"], reverse=True)

    throttled = errors.throttled()
    return Service(
        "dashscope", model, parse=parse, admit=admit, routes=ROUTES, render_error=render_error,
        request_id=lambda rt: rt.ids.uuid(), startup=model.start, shutdown=model.stop, reset=model.reset,
        billing=model.billing, tasks=tasks, media_type="application/json",
        throttle=(throttled.status, throttled.code, throttled.message, None))
