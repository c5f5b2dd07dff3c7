"""The optional admin token: with `--admin-token`, every /_emulator/* request but health needs it.

A client sends `Authorization: Bearer <token>`. A browser opens the console once as
`/_emulator/ui/?token=<token>`: the answer stores the token in an HttpOnly, same-site cookie and
redirects to the same page without it, so the console's own requests carry the cookie. Health stays
open: it is what probes and `LiveServer` poll, and it tells no secret."""

from __future__ import annotations

import hmac
from urllib.parse import parse_qsl, urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse
from starlette.types import ASGIApp, Receive, Scope, Send

COOKIE = "emulator_admin_token"
# Health, and the public key OSS upload callbacks are signed with (callback servers fetch it).
OPEN_PATHS = ("/_emulator/health", "/_emulator/oss/callback-public-key.pem")


def _matches(given: str | None, token: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), token.encode())


class RequireToken:
    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.token or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        scheme, _, credential = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and _matches(credential.strip(), self.token) \
                or _matches(request.cookies.get(COOKIE), self.token):
            await self.app(scope, receive, send)
            return
        if _matches(request.query_params.get("token"), self.token):
            rest = [(k, v) for k, v in parse_qsl(scope["query_string"].decode("latin-1")) if k != "token"]
            response = RedirectResponse(scope["path"] + (f"?{urlencode(rest)}" if rest else ""), 303)
            response.set_cookie(COOKIE, self.token, httponly=True, samesite="strict", path="/_emulator")
        else:
            response = JSONResponse({"error": "this emulator requires its admin token: "
                                              "Authorization: Bearer <token>", "field": "Authorization"},
                                    401, headers={"WWW-Authenticate": "Bearer"})
        await response(scope, receive, send)
