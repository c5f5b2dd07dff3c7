"""What a service hands the dispatcher: its ASGI app, lifecycle hooks, and what fault injection
and the request journal need to know about it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Scope

from emulator.core.errors import ServiceError


def _json_error(err: ServiceError, scope: Scope) -> Response:
    return JSONResponse({"Code": err.code, "Message": err.message}, err.status)


@dataclass
class ServiceHandle:
    name: str
    app: ASGIApp
    startup: Callable[[], Awaitable[None]] | None = None
    shutdown: Callable[[], Awaitable[None]] | None = None
    # Drop in-memory state of one namespace (None: all); documents are dropped by the runtime.
    reset: Callable[[str | None], None] | None = None
    # What the recorded work would cost: {"items": [...], ...} per namespace.
    billing: Callable[[str | None], dict[str, Any]] | None = None
    info: Callable[[], dict[str, Any]] = field(default=lambda: {"status": "running"})
    # Facts about a request for fault rules and the journal: action, bucket, project, topic,
    # queue, model, namespace (whatever applies), from the request line, headers and, when
    # `describe_body` is set, the body (at most 1 MiB, read only while fault rules exist).
    describe: Callable[[Scope, bytes | None], dict[str, Any]] | None = None
    describe_body: bool = False
    # An error in the service's own shape (fault rules' http_error and throttle).
    render_error: Callable[[ServiceError, Scope], Response] = _json_error
    # The service's throttling answer: (status, code, message, Retry-After seconds or None).
    throttle: tuple[int, str, str, int | None] = (
        503, "Throttling", "Request was denied due to flow control.", None)
    # Content type of a normal answer, for the `garbage` effect.
    media_type: str = "application/json"
    # Every task of a namespace (None: all), newest first, as the admin API lists them.
    tasks: Callable[[str | None], list[dict[str, Any]]] | None = None


@dataclass
class Built:
    """A service's model (for other services to call, e.g. IMM reading OSS) and its handle."""

    model: Any
    handle: ServiceHandle
