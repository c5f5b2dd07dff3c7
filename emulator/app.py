"""Builds the one-port ASGI app from a Runtime and hands every request to its service's pipeline.

Dispatch, in this order (as in DESIGN.md):
1. /_emulator/...                                   admin API
2. /api/v1/...                                      DashScope
3. POST / with an x-acs-action header or Action=    IMM (RPC)
4. an x-mns-version header or "Authorization: MNS"  MNS
5. everything else                                  OSS (path-style or virtual-hosted buckets)
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import Receive, Scope, Send

from emulator.admin.routes import build_admin
from emulator.core import pipeline
from emulator.core.runtime import Runtime
from emulator.core.scenario import apply_scenario, load_scenario
from emulator.services.dashscope.routes import build_dashscope
from emulator.services.imm.routes import build_imm
from emulator.services.mns.routes import build_mns
from emulator.services.oss.routes import build_oss

log = logging.getLogger("emulator")


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


class EmulatorApp:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        mns = build_mns(runtime)
        oss = build_oss(runtime, publisher=mns.model)
        imm = build_imm(runtime, objects=oss.model, publisher=mns.model)
        dashscope = build_dashscope(runtime, objects=oss.model)
        self.services: dict[str, pipeline.Service[Any]] = {
            s.name: s for s in (oss, imm, mns, dashscope)}
        self.admin = build_admin(runtime, self.services)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        target = classify(scope)
        if target == "admin":
            await self.admin(scope, receive, pipeline.stamping(send, self.runtime))
            return
        await pipeline.serve(self.services[target], self.runtime, scope, receive, send)

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
    """Apply a scenario file to a built app (raises ScenarioError naming the bad field); each
    service registered its sections when it was built."""
    apply_scenario(app.runtime, load_scenario(path), path.parent)
