"""The /_emulator admin API: health, reset, clock, fault rules, namespaces, request journal,
tasks and their timelines, billing."""

from __future__ import annotations

import logging
from typing import Any, TypeVar

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from emulator import __version__
from emulator.admin.auth import RequireToken
from emulator.admin.console import console_routes, public_task
from emulator.admin.documents import NamespaceBody, ScopeBody
from emulator.core import fault_report
from emulator.core.clock import ClockCommand, apply_clock
from emulator.core.pipeline import Service
from emulator.core.runtime import Runtime
from emulator.core.timefmt import iso_millis
from emulator.core.validation import Document, InvalidDocument, parse_json, validate

M = TypeVar("M", bound=Document)
log = logging.getLogger("emulator")


class BadRequest(Exception):
    def __init__(self, message: str, field: str | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.status = status


async def _json_body(request: Request, model: type[M] | None = None) -> Any:
    """The body as JSON (an empty body as {}), validated as `model` when one is given."""
    raw = await request.body()
    try:
        value = parse_json(raw) if raw.strip() else {}
    except ValueError as exc:
        raise BadRequest(f"invalid JSON: {exc}") from exc
    if model is None:
        return value
    if not isinstance(value, dict):
        raise BadRequest("the body must be a JSON object")
    return validate(model, value)


def _namespace_param(runtime: Runtime, value: str | None) -> str | None:
    if value is not None and runtime.accounts.get(value) is None:
        raise BadRequest(f"no namespace {value!r}", "namespace", 404)
    return value


def build_admin(runtime: Runtime, services: dict[str, Service[Any]]) -> Starlette:
    async def health(request: Request) -> JSONResponse:
        return JSONResponse({
            "status": "ok",
            "version": __version__,
            "services": {name: s.info() for name, s in services.items()},
            "data_dir": None if runtime.config.ephemeral else str(runtime.data_dir),
            "verify_signatures": runtime.config.verify_signatures,
            "speed": runtime.config.speed,
            "clock": iso_millis(runtime.clock.now()),
        })

    async def reset(request: Request) -> JSONResponse:
        body = await _json_body(request, ScopeBody)
        namespace = _namespace_param(runtime, body.namespace)
        for service in services.values():
            if service.reset:
                service.reset(namespace)
        runtime.reset(namespace)
        return JSONResponse({"reset": namespace or "all"})

    async def clock(request: Request) -> JSONResponse:
        if request.method == "POST":
            apply_clock(runtime.clock, await _json_body(request, ClockCommand))
        now = runtime.clock.now()
        return JSONResponse({"now": iso_millis(now), "epoch": now, "frozen": runtime.clock.frozen})

    async def faults(request: Request) -> JSONResponse:
        if request.method == "POST":
            body = await _json_body(request)
            docs = body if isinstance(body, list) else [body]
            added = []
            for index, doc in enumerate(docs):
                try:
                    added.extend(rule.public() for rule in runtime.faults.add_all(doc))
                except InvalidDocument as err:
                    where = err.field if len(docs) == 1 else f"[{index}].{err.field}"
                    for rule in added:
                        runtime.faults.remove(rule["id"])
                    raise BadRequest(err.message, where) from err
            single = not isinstance(body, list) and len(added) == 1
            return JSONResponse(added[0] if single else added, 201)
        if request.method == "DELETE":
            body = await _json_body(request, ScopeBody)
            runtime.faults.clear(_namespace_param(runtime, body.namespace))
            return JSONResponse({"deleted": "all"})
        return JSONResponse({"faults": [r.public() for r in runtime.faults.list()]})

    async def faults_report(request: Request) -> JSONResponse:
        return JSONResponse(fault_report.report(runtime.faults.list(), runtime.journal.query({}, 10**9)))

    async def fault(request: Request) -> JSONResponse:
        rule_id = request.path_params["rule_id"]
        rule = next((r for r in runtime.faults.list() if r.id == rule_id), None)
        if rule is None:
            raise BadRequest(f"no fault rule {rule_id!r}", "id", 404)
        if request.method == "DELETE":
            runtime.faults.remove(rule_id)
            return JSONResponse({"deleted": rule_id})
        return JSONResponse(rule.public())

    async def namespaces(request: Request) -> JSONResponse:
        if request.method == "POST":
            body = await _json_body(request, NamespaceBody)
            try:
                creds = runtime.accounts.create(body.name)
            except ValueError as exc:
                raise BadRequest(str(exc), "name", 409) from exc
            return JSONResponse(_credentials(creds), 201)
        return JSONResponse({"namespaces": [_credentials(c) for c in runtime.accounts.all()]})

    async def namespace(request: Request) -> JSONResponse:
        name = request.path_params["name"]
        creds = runtime.accounts.get(name)
        if creds is None:
            raise BadRequest(f"no namespace {name!r}", "name", 404)
        if request.method == "DELETE":
            if name == runtime.accounts.default.namespace:
                raise BadRequest("the default namespace cannot be deleted", "name")
            for service in services.values():
                if service.reset:
                    service.reset(name)
            runtime.reset(name)
            runtime.accounts.delete(name)
            return JSONResponse({"deleted": name})
        return JSONResponse(_credentials(creds))

    async def requests(request: Request) -> JSONResponse:
        params = dict(request.query_params)
        limit_raw = params.pop("limit", "100")
        if not limit_raw.isdigit() or not 1 <= int(limit_raw) <= 100_000:
            raise BadRequest("limit must be an integer from 1 to 100000", "limit")
        allowed = {"service", "namespace", "action", "method", "path", "status", "bucket", "project",
                   "topic", "queue", "model"}
        unknown = set(params) - allowed
        if unknown:
            raise BadRequest(f"unknown filter {sorted(unknown)[0]!r}", sorted(unknown)[0])
        entries = runtime.journal.query(params, int(limit_raw))
        for entry in entries:
            entry["time"] = iso_millis(entry["time"])
        return JSONResponse({"requests": entries})

    async def tasks(request: Request) -> JSONResponse:
        namespace = _namespace_param(runtime, request.query_params.get("namespace"))
        service_filter = request.query_params.get("service")
        listed = []
        for name, service in services.items():
            if service.tasks and service_filter in (None, name):
                listed += [public_task(runtime, {"service": name, **t}) for t in service.tasks(namespace)]
        return JSONResponse({"tasks": listed})

    async def task_events(request: Request) -> JSONResponse:
        task_id = request.path_params["task_id"]
        namespace = _namespace_param(runtime, request.query_params.get("namespace"))
        spaces = [namespace] if namespace else [c.namespace for c in runtime.accounts.all()]
        events = [e for ns in spaces for e in runtime.events.list(ns, task_id)]
        if not events:
            raise BadRequest(f"no task {task_id!r}", "task_id", 404)
        for event in events:
            event["time"] = iso_millis(event["time"])
        return JSONResponse({"task_id": task_id, "events": events})

    async def billing(request: Request) -> JSONResponse:
        namespace = _namespace_param(runtime, request.query_params.get("namespace"))
        return JSONResponse({name: s.billing(namespace) for name, s in services.items() if s.billing})

    async def openapi(request: Request) -> JSONResponse:
        # Imported on first use: building the document's models is no cost a start should pay.
        from emulator.admin.openapi import openapi_document

        return JSONResponse(openapi_document())

    async def bad_request(request: Request, exc: BadRequest) -> JSONResponse:
        body = {"error": exc.message}
        if exc.field:
            body["field"] = exc.field
        return JSONResponse(body, exc.status)

    async def client_left(request: Request, exc: ClientDisconnect) -> Response:
        # One line, not a traceback: nobody is left to answer.
        log.warning("admin: the client left before the end of its body (%s %s)", request.method,
                    request.url.path)
        return Response(status_code=400)

    async def invalid_body(request: Request, exc: InvalidDocument) -> JSONResponse:
        return JSONResponse({"error": exc.message, "field": exc.field}, 400)

    return Starlette(middleware=[Middleware(RequireToken, token=runtime.config.admin_token)], routes=[
        Route("/_emulator/health", health, methods=["GET"]),
        Route("/_emulator/openapi.json", openapi, methods=["GET"]),
        Route("/_emulator/reset", reset, methods=["POST"]),
        Route("/_emulator/clock", clock, methods=["GET", "POST"]),
        Route("/_emulator/faults", faults, methods=["GET", "POST", "DELETE"]),
        Route("/_emulator/faults/report", faults_report, methods=["GET"]),
        Route("/_emulator/faults/{rule_id}", fault, methods=["GET", "DELETE"]),
        Route("/_emulator/namespaces", namespaces, methods=["GET", "POST"]),
        Route("/_emulator/namespaces/{name}", namespace, methods=["GET", "DELETE"]),
        Route("/_emulator/requests", requests, methods=["GET"]),
        Route("/_emulator/tasks", tasks, methods=["GET"]),
        Route("/_emulator/tasks/{task_id}/events", task_events, methods=["GET"]),
        Route("/_emulator/billing", billing, methods=["GET"]),
        *(Route(path, handler, methods=["GET"]) for service in services.values()
          for path, handler in service.admin_files.items()),
        *console_routes(runtime, services),
    ], exception_handlers={BadRequest: bad_request, InvalidDocument: invalid_body,
                           ClientDisconnect: client_left})


def _credentials(creds) -> dict[str, str]:
    return {"namespace": creds.namespace, "access_key_id": creds.access_key_id,
            "access_key_secret": creds.access_key_secret, "dashscope_api_key": creds.dashscope_api_key,
            "dashscope_api_key_cn": creds.dashscope_api_key_cn}
