"""Builds the one-port ASGI app from a Runtime and dispatches every request to its service.

Dispatch, in this order (as in DESIGN.md):
1. /_emulator/...                                   admin API
2. /api/v1/...                                      DashScope
3. POST / with an x-acs-action header or Action=    IMM (RPC)
4. an x-mns-version header or "Authorization: MNS"  MNS
5. everything else                                  OSS (path-style or virtual-hosted buckets)

On the way, request-level fault rules are applied and every request goes into the journal.
"""

from __future__ import annotations

import asyncio
import logging
import time
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from emulator.admin.routes import build_admin
from emulator.core.errors import ServiceError
from emulator.core.faults import REQUEST_EFFECTS, FaultRule
from emulator.core.runtime import Runtime
from emulator.core.scenario import apply_scenario, load_scenario
from emulator.core.service import ServiceHandle
from emulator.services.dashscope.routes import build_dashscope
from emulator.services.imm import seed as imm_seed
from emulator.services.imm.routes import build_imm
from emulator.services.mns import seed as mns_seed
from emulator.services.mns.routes import build_mns
from emulator.services.oss.routes import build_oss

log = logging.getLogger("emulator")
_MAX_DESCRIBED_BODY = 1024 * 1024


def classify(scope: Scope) -> str:
    """The name of the service a request is for."""
    path: str = scope["path"]
    if path == "/_emulator" or path.startswith("/_emulator/"):
        return "admin"
    if path == "/api/v1" or path.startswith("/api/v1/"):
        return "dashscope"
    headers = {k.lower(): v for k, v in scope.get("headers", [])}
    if scope.get("method") == "POST" and path == "/":
        if b"x-acs-action" in headers:
            return "imm"
        query = scope.get("query_string", b"").decode("latin-1")
        if "Action=" in query and any(k == "Action" for k, _ in parse_qsl(query)):
            return "imm"
    if b"x-mns-version" in headers or headers.get(b"authorization", b"").startswith(b"MNS "):
        return "mns"
    return "oss"


async def _buffer_body(receive: Receive) -> tuple[bytes | None, Receive]:
    """Read the body (if small) so it can be described, and a receive that replays it."""
    messages: list[Message] = []
    body = b""
    more = True
    while more:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        body += message.get("body", b"")
        more = message.get("more_body", False)
        if len(body) > _MAX_DESCRIBED_BODY:
            break

    async def replay() -> Message:
        return messages.pop(0) if messages else await receive()

    return (body if not more else None), replay


async def _drop_connection(send: Send) -> None:
    """Close the client's connection with no response (uvicorn exposes the transport through its
    send callable; elsewhere the error below ends the request the same way)."""
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None:
        raise ConnectionResetError("fault rule: reset")
    transport.abort()
    # Let the server see the connection is gone so it does not answer on it.
    for _ in range(3):
        await asyncio.sleep(0)


class EmulatorApp:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        mns = build_mns(runtime)
        oss = build_oss(runtime, mns_model=mns.model)
        imm = build_imm(runtime, oss_model=oss.model, mns_model=mns.model)
        dashscope = build_dashscope(runtime, oss_model=oss.model)
        self.services: dict[str, ServiceHandle] = {
            s.name: s for s in (oss.handle, imm.handle, mns.handle, dashscope.handle)}
        self.models: dict[str, Any] = {"oss": oss.model, "imm": imm.model, "mns": mns.model,
                                       "dashscope": dashscope.model}
        self.admin = build_admin(runtime, self.services, self.models)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        target = classify(scope)
        if target == "admin":
            await self.admin(scope, receive, send)
            return
        await self._serve(self.services[target], scope, receive, send)

    async def _serve(self, service: ServiceHandle, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        faults = self.runtime.faults
        body = None
        if faults.active and service.describe_body:
            body, receive = await _buffer_body(receive)
        info: dict[str, Any] = {}
        if service.describe:
            try:
                info = service.describe(scope, body)
            except Exception:  # describing is best effort; the service itself answers bad requests
                log.debug("could not describe request", exc_info=True)
        info.update(method=scope["method"], path=scope["path"])
        status: dict[str, int] = {}

        async def recording_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        rule = faults.take(service.name, info, REQUEST_EFFECTS) if faults.active else None
        try:
            if rule is None or not await self._apply(rule, service, scope, receive, recording_send, send):
                await service.app(scope, receive, recording_send)
        finally:
            self.runtime.journal.record({
                "time": self.runtime.clock.now(), "namespace": info.get("namespace"),
                "service": service.name, "action": info.get("action"), "method": scope["method"],
                "path": scope["path"], "status": status.get("code"),
                "latency_ms": round((time.perf_counter() - started) * 1000, 3),
                "fault": {"id": rule.id, "effect": rule.effect_name} if rule else None,
                **{k: v for k, v in info.items()
                   if k in ("bucket", "project", "topic", "queue", "model", "task_type")},
            })

    async def _apply(self, rule: FaultRule, service: ServiceHandle, scope: Scope, receive: Receive,
                     send: Send, server_send: Send) -> bool:
        """Apply a request fault; True when it answered the request itself. `server_send` is the
        server's own callable (a reset needs its connection)."""
        name, spec = rule.effect_name, rule.effect[rule.effect_name]
        if name == "delay_ms":
            if isinstance(spec, dict):
                ms = spec["min"] + (spec["max"] - spec["min"]) * self.runtime.faults.draw(rule)
            else:
                ms = spec
            await asyncio.sleep(ms / 1000)
            return False
        if name == "reset":
            await _drop_connection(server_send)
            return True
        if name == "garbage":
            response: Response = Response(b"\x00\xff<garbage{not-what-you-expected", 200,
                                          media_type=service.media_type)
        else:
            if name == "http_error":
                status, code, message = spec["status"], spec["code"], spec.get("message", "")
                retry_after = None
            else:
                custom = spec if isinstance(spec, dict) else {}
                status, code, message, retry_after = service.throttle
                status = custom.get("status", status)
                code = custom.get("code", code)
                message = custom.get("message", message)
                retry_after = custom.get("retry_after", retry_after)
            response = service.render_error(ServiceError(status, code, message), scope)
            if retry_after is not None:
                response.headers["Retry-After"] = str(int(retry_after))
        await response(scope, receive, send)
        return True

    async def startup(self) -> None:
        for service in self.services.values():
            if service.startup:
                await service.startup()

    async def shutdown(self) -> None:
        for service in self.services.values():
            if service.shutdown:
                await service.shutdown()

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:  # reported to the server, which refuses to start
                    await send({"type": "lifespan.startup.failed", "message": repr(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return


def build_app(runtime: Runtime) -> EmulatorApp:
    return EmulatorApp(runtime)


def load_into(app: EmulatorApp, path: Path) -> None:
    """Apply a scenario file to a built app (raises ScenarioError naming the bad field)."""
    config = app.runtime.config
    seeders = {  # how each service seeds the scenario sections it owns
        "projects": imm_seed.seed_project,
        "queues": mns_seed.seed_queue,
        "topics": mns_seed.seed_topic,
        "subscriptions": partial(mns_seed.seed_subscription, region=config.region,
                                 account_id=config.account_id),
    }
    apply_scenario(app.runtime, app.models, load_scenario(path), path.parent, seeders)
