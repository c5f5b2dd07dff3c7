"""OSS routes (placeholder)."""

from __future__ import annotations

from starlette.responses import Response

from emulator.core.runtime import Runtime
from emulator.core.service import Built, ServiceHandle


def build_oss(runtime: Runtime) -> Built:
    async def app(scope, receive, send):
        await Response(status_code=501)(scope, receive, send)

    return Built(None, ServiceHandle("oss", app))
