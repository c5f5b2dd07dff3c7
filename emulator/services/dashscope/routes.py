"""DashScope routes: thin glue between HTTP and the model (route table at the bottom).

Every handler authenticates the bearer key (bound to a region by the Host header), calls the
model and renders the result or a ServiceError in DashScope's flat JSON error shape; anything
unexpected becomes 500 InternalError in that shape, logged.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from emulator.auth.dashscope import authenticate, bearer_key
from emulator.core.accounts import Credentials
from emulator.core.errors import ServiceError
from emulator.core.runtime import Runtime
from emulator.core.service import Built, ServiceHandle
from emulator.services.dashscope import wire
from emulator.services.dashscope.model import TASK_KIND, DashScopeModel
from emulator.services.oss.model import OssModel

log = logging.getLogger(__name__)

Handler = Callable[[Request, str], Awaitable[Response]]
INTERNAL = ServiceError(500, "InternalError", "An internal error has occured, please try again later or "
                        "contact service support.")


def build_dashscope(runtime: Runtime, oss_model: OssModel) -> Built:
    model = DashScopeModel(runtime, oss_model)

    def base_url(request: Request) -> str:
        """Scheme and Host the caller used: URLs handed back work from where it called."""
        return str(request.base_url).rstrip("/")

    def own_hosts(request: Request) -> list[str]:
        port = runtime.config.port
        hosts = {request.headers.get("host", "").lower(), f"127.0.0.1:{port}", f"localhost:{port}",
                 urlsplit(runtime.config.public_url).netloc}
        return sorted(h for h in hosts if h)

    def caller(request: Request) -> tuple[Credentials, str]:
        return authenticate(runtime.accounts, request.headers.get("authorization"),
                            request.headers.get("host", ""), runtime.config.verify_signatures)

    def endpoint(handler: Handler, content_type: str = wire.TASKS_CONTENT_TYPE):
        async def run(request: Request) -> Response:
            request_id = runtime.ids.uuid()
            try:
                return await handler(request, request_id)
            except ServiceError as err:
                return wire.error_response(err, request_id, content_type)
            except Exception:
                log.exception("dashscope %s %s", request.method, request.url.path)
                return wire.error_response(INTERNAL, request_id, content_type)
        return run

    async def submit(request: Request, request_id: str) -> Response:
        creds, region = caller(request)
        if request.headers.get("x-dashscope-async", "").strip().lower() != "enable":
            raise ServiceError(403, "AccessDenied", "current user api does not support synchronous calls.")
        parsed = wire.parse_submit(await request.body())
        resolve = request.headers.get("x-dashscope-ossresourceresolve", "").strip().lower() == "enable"
        if not resolve and any(url.startswith("oss://") for url in parsed.urls()):
            raise ServiceError(400, "InvalidParameter.DataInspection",
                               "The media format is not supported or incorrect for the data inspection.")
        hosts = own_hosts(request)
        if runtime.config.dashscope_check_inputs_at_submit:
            await runtime.pool.run(model.check_inputs, creds.namespace, parsed, hosts)
        task = model.submit(creds, region, parsed, request_id, hosts)
        return wire.respond(wire.submitted_body(task, request_id), request_id,
                            content_type=wire.SUBMIT_CONTENT_TYPE)

    async def wrong_path(request: Request, request_id: str) -> Response:
        caller(request)
        raise ServiceError(400, "InvalidParameter", "url error, please check url！")

    async def get_task(request: Request, request_id: str) -> Response:
        creds, region = caller(request)
        task_id = request.path_params["task_id"]
        task = model.query(creds.namespace, region, task_id)
        url = model.video_url(task, base_url(request)) if task and task["status"] == "SUCCEEDED" else None
        return wire.respond(wire.task_body(task, task_id, request_id, url), request_id)

    async def cancel_task(request: Request, request_id: str) -> Response:
        creds, region = caller(request)
        model.cancel(creds.namespace, region, request.path_params["task_id"])
        return wire.respond({"request_id": request_id}, request_id)

    async def list_tasks(request: Request, request_id: str) -> Response:
        creds, region = caller(request)
        query = wire.parse_list_query(dict(request.query_params), runtime.clock.now())
        page, total = model.list_tasks(creds.namespace, region, query)
        items = [wire.list_item(task, runtime.config.account_id) for task in page]
        return wire.respond(wire.list_body(items, total, query, request_id), request_id)

    async def uploads(request: Request, request_id: str) -> Response:
        creds, _ = caller(request)
        if request.query_params.get("action") != "getPolicy":
            raise ServiceError(400, "InvalidParameter", wire.BAD_PARAMETERS)
        model_name = request.query_params.get("model")
        if not model_name:
            raise ServiceError(400, "InvalidParameter", "Field required: model")
        data = model.upload_policy(creds, model_name, base_url(request), request_id)
        return wire.respond(wire.policy_body(data, request_id), request_id)

    async def http_error(request: Request, exc: Exception) -> Response:
        request_id = runtime.ids.uuid()
        if isinstance(exc, HTTPException) and exc.status_code == 405:
            err = ServiceError(400, "InvalidParameter",
                               f"Request method '{request.method}' is not supported.")
        else:
            err = ServiceError(404, "NotFound", "Not found!")
        return wire.error_response(err, request_id)

    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        log.exception("dashscope %s %s", request.method, request.url.path, exc_info=exc)
        return wire.error_response(INTERNAL, runtime.ids.uuid())

    routes = [
        Route("/api/v1/services/aigc/image2video/video-synthesis",
              endpoint(submit, wire.SUBMIT_CONTENT_TYPE), methods=["POST"]),
        # The documentation prints the submit URL with a trailing slash.
        Route("/api/v1/services/aigc/image2video/video-synthesis/",
              endpoint(submit, wire.SUBMIT_CONTENT_TYPE), methods=["POST"]),
        # The SDK posts here without task="image2video"; the animate models do not live there.
        Route("/api/v1/services/aigc/video-generation/video-synthesis",
              endpoint(wrong_path, wire.SUBMIT_CONTENT_TYPE), methods=["POST"]),
        Route("/api/v1/tasks", endpoint(list_tasks), methods=["GET"]),
        Route("/api/v1/tasks/", endpoint(list_tasks), methods=["GET"]),
        Route("/api/v1/tasks/{task_id}", endpoint(get_task), methods=["GET"]),
        Route("/api/v1/tasks/{task_id}/cancel", endpoint(cancel_task), methods=["POST"]),
        Route("/api/v1/uploads", endpoint(uploads), methods=["GET"]),
    ]
    app = Starlette(routes=routes, exception_handlers={404: http_error, 405: http_error,
                                                      Exception: internal_error})
    app.router.redirect_slashes = False  # a redirect would not be a DashScope answer
    def describe(scope, body: bytes | None) -> dict[str, Any]:
        path = scope["path"].rstrip("/")
        action = ("CreateTask" if path.endswith("/video-synthesis") else
                  "CancelTask" if path.endswith("/cancel") else
                  "ListTasks" if path == "/api/v1/tasks" else
                  "GetTask" if path.startswith("/api/v1/tasks/") else
                  "GetPolicy" if path == "/api/v1/uploads" else None)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        found = runtime.accounts.by_dashscope_key(bearer_key(headers.get("authorization")) or "")
        info: dict[str, Any] = {"action": action, "namespace": found[0].namespace if found else None}
        if body:
            parsed = json.loads(body)
            if isinstance(parsed, dict) and isinstance(parsed.get("model"), str):
                info["model"] = parsed["model"]
        return info

    def render_error(err: ServiceError, scope) -> Response:
        return wire.error_response(err, runtime.ids.uuid())

    def tasks(namespace: str | None) -> list[dict[str, Any]]:
        spaces = [namespace] if namespace else [c.namespace for c in runtime.accounts.all()]
        listed = [{"namespace": ns, "task_id": doc["task_id"], "status": doc["status"],
                   "model": doc["model"], "submitted": doc["submit_time"], "ended": doc.get("end_time"),
                   "code": doc.get("code")}
                  for ns in spaces for _, doc in runtime.docs.scan(TASK_KIND, ns)]
        return sorted(listed, key=lambda t: t["submitted"], reverse=True)

    handle = ServiceHandle(
        "dashscope", app, startup=model.start, shutdown=model.stop, reset=model.reset,
        billing=model.billing, info=lambda: {"status": "running"}, describe=describe, describe_body=True,
        render_error=render_error, media_type="application/json", tasks=tasks,
        throttle=(429, "Throttling.RateQuota", "Requests rate limit exceeded, please try again later.", None))
    return Built(model, handle)
