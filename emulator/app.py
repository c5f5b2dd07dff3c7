"""Builds the one-port ASGI app from a Runtime and dispatches every request to its service.

Dispatch, in this order (as in DESIGN.md):
1. /_emulator/...                                   admin API
2. /api/v1/...                                      DashScope
3. POST / with an x-acs-action header or Action=    IMM (RPC)
4. an x-mns-version header or "Authorization: MNS"  MNS
5. everything else                                  OSS (path-style or virtual-hosted buckets)
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.types import Receive, Scope, Send

from emulator.admin.routes import build_admin
from emulator.core.runtime import Runtime
from emulator.core.service import ServiceHandle
from emulator.services.dashscope.routes import build_dashscope
from emulator.services.imm.routes import build_imm
from emulator.services.mns.routes import build_mns
from emulator.services.oss.routes import build_oss


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
        oss = build_oss(runtime)
        mns = build_mns(runtime)
        imm = build_imm(runtime, oss_model=oss.model, mns_model=mns.model)
        dashscope = build_dashscope(runtime, oss_model=oss.model)
        self.services: dict[str, ServiceHandle] = {
            s.name: s for s in (oss.handle, imm.handle, mns.handle, dashscope.handle)}
        self.admin = build_admin(runtime, self.services)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        target = classify(scope)
        app = self.admin if target == "admin" else self.services[target].app
        await app(scope, receive, send)

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
