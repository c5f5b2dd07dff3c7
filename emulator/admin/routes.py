"""The /_emulator admin API: health, reset, clock, billing."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from emulator import __version__
from emulator.core.runtime import Runtime
from emulator.core.service import ServiceHandle


def _error(status: int, message: str, field: str | None = None) -> JSONResponse:
    body: dict[str, Any] = {"error": message}
    if field:
        body["field"] = field
    return JSONResponse(body, status)


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    value = json.loads(raw)
    if not isinstance(value, dict):
        raise ValueError("the body must be a JSON object")
    return value


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat().replace("+00:00", "Z")


def build_admin(runtime: Runtime, services: dict[str, ServiceHandle]) -> Starlette:
    async def health(request: Request) -> JSONResponse:
        return JSONResponse({
            "status": "ok",
            "version": __version__,
            "services": {name: s.info() for name, s in services.items()},
            "data_dir": None if runtime.config.ephemeral else str(runtime.data_dir),
            "verify_signatures": runtime.config.verify_signatures,
            "speed": runtime.config.speed,
        })

    async def reset(request: Request) -> JSONResponse:
        try:
            body = await _json_body(request)
        except ValueError as exc:
            return _error(400, f"invalid JSON: {exc}")
        namespace = body.get("namespace")
        if namespace is not None and runtime.accounts.get(namespace) is None:
            return _error(404, f"no namespace {namespace!r}", "namespace")
        for service in services.values():
            if service.reset:
                service.reset(namespace)
        runtime.reset(namespace)
        return JSONResponse({"reset": namespace or "all"})

    async def clock(request: Request) -> JSONResponse:
        if request.method == "POST":
            try:
                body = await _json_body(request)
                if "advance_seconds" in body:
                    seconds = body["advance_seconds"]
                    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or seconds < 0:
                        return _error(400, "advance_seconds must be a number >= 0", "advance_seconds")
                    runtime.clock.advance(float(seconds))
                if "set" in body:
                    try:
                        when = datetime.fromisoformat(str(body["set"]).replace("Z", "+00:00"))
                    except ValueError:
                        return _error(400, "set must be an ISO 8601 time", "set")
                    if when.tzinfo is None:
                        when = when.replace(tzinfo=timezone.utc)
                    runtime.clock.set(when.timestamp())
                if "frozen" in body:
                    if not isinstance(body["frozen"], bool):
                        return _error(400, "frozen must be true or false", "frozen")
                    runtime.clock.freeze(body["frozen"])
            except ValueError as exc:
                return _error(400, f"invalid JSON: {exc}")
        now = runtime.clock.now()
        return JSONResponse({"now": _iso(now), "epoch": now, "frozen": runtime.clock.frozen})

    async def billing(request: Request) -> JSONResponse:
        namespace = request.query_params.get("namespace")
        return JSONResponse({name: s.billing(namespace) for name, s in services.items() if s.billing})

    return Starlette(routes=[
        Route("/_emulator/health", health, methods=["GET"]),
        Route("/_emulator/reset", reset, methods=["POST"]),
        Route("/_emulator/clock", clock, methods=["GET", "POST"]),
        Route("/_emulator/billing", billing, methods=["GET"]),
    ])
