"""MNS routes (placeholder until the service lands)."""

from __future__ import annotations

from starlette.responses import Response

from emulator.core.runtime import Runtime
from emulator.core.service import Built, ServiceHandle


def build_mns(runtime: Runtime) -> Built:
    async def app(scope, receive, send):
        await Response(status_code=501)(scope, receive, send)

    return Built(None, ServiceHandle("mns", app, info=lambda: {"status": "not implemented"}))
