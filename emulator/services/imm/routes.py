"""IMM 2020-09-30 RPC routes (placeholder until the service lands)."""

from __future__ import annotations

from starlette.responses import JSONResponse

from emulator.core.runtime import Runtime
from emulator.core.service import Built, ServiceHandle


def build_imm(runtime: Runtime, oss_model, mns_model) -> Built:
    async def app(scope, receive, send):
        response = JSONResponse({"Code": "NotImplemented", "Message": "IMM is not emulated yet."}, 501)
        await response(scope, receive, send)

    return Built(None, ServiceHandle("imm", app, info=lambda: {"status": "not implemented"}))
