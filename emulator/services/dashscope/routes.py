"""DashScope routes (placeholder until the service lands)."""

from __future__ import annotations

from starlette.responses import JSONResponse

from emulator.core.runtime import Runtime
from emulator.core.service import Built, ServiceHandle


def build_dashscope(runtime: Runtime, oss_model) -> Built:
    async def app(scope, receive, send):
        response = JSONResponse({"code": "NotImplemented", "message": "not emulated yet"}, 501)
        await response(scope, receive, send)

    return Built(None, ServiceHandle("dashscope", app, info=lambda: {"status": "not implemented"}))
