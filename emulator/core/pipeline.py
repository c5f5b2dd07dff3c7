"""The one request pipeline every service runs through.

    classify (app.py) -> parse once into a RequestContext -> fault rules and journal read it
    -> the service admits it (signatures) -> its route table picks a plain handler(ctx)
    -> a ServiceError or any unexpected exception becomes the service's own error shape.

A service is data (`Service`): how to parse a request, its route table, how to render an error,
and its lifecycle hooks. Nothing here knows a wire format.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from emulator import __version__
from emulator.core import requestlog, transfer
from emulator.core.accounts import Credentials
from emulator.core.errors import ServiceError
from emulator.core.faults import REQUEST_EFFECTS, FaultRule
from emulator.core.runtime import Runtime
from emulator.core.timefmt import http_date

log = logging.getLogger("emulator")
SERVER = f"aliyun-emulator/{__version__}"

M = TypeVar("M")
# Facts a fault rule may match and the journal records, beside method, path and namespace.
RESOURCE_FACTS = ("bucket", "key", "project", "topic", "queue", "model", "task_type")
_REGION_IN_HOST = re.compile(r"(?:^|[.-])((?:cn|ap|us|eu|me|rus|na)-[a-z]+(?:-\d+)?)(?:[.:-]|$)")


@dataclass
class RequestContext(Generic[M]):
    """One request, parsed once. `model` is the service's state; `params` holds what the service's
    parser extracted (IMM's parameters, MNS's path names); `body` is set when the parser read it."""

    request: Request
    runtime: Runtime
    model: M
    service: str
    request_id: str
    method: str
    path: str
    raw_path: str
    raw_query: str
    headers: dict[str, str]
    query: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    operation: str | None = None
    namespace: str | None = None
    credentials: Credentials | None = None
    resources: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    # A request the parser could not make sense of; the service raises it when it admits the request.
    error: ServiceError | None = None

    @property
    def ns(self) -> str:
        """The namespace of an admitted request (the default one for anonymous callers)."""
        assert self.namespace is not None, "the service admits a request before its handler runs"
        return self.namespace

    @property
    def bucket(self) -> str:
        return self.resources.get("bucket", "")

    @property
    def key(self) -> str:
        return self.resources.get("key", "")

    @property
    def base_url(self) -> str:
        """Scheme and Host the caller used: URLs handed back work from where it called."""
        return f"{self.request.url.scheme}://{self.headers.get('host', '')}"

    def facts(self) -> dict[str, Any]:
        """What fault rules match and the journal records."""
        return {"action": self.operation, "method": self.method, "path": self.path,
                "namespace": self.namespace, "region": self.region, **self.resources}

    @property
    def region(self) -> str:
        """The region the Host names (`oss-cn-shanghai.aliyuncs.com`, `imm.cn-beijing...`), else
        the emulator's own."""
        found = _REGION_IN_HOST.search(self.headers.get("host", ""))
        return found.group(1) if found else self.runtime.config.region

    async def read_body(self, limit: int, too_large: Callable[[], ServiceError]) -> bytes:
        """The whole body (kept on the context), refusing one larger than `limit` bytes."""
        if self.body is None:
            chunks, size = [], 0
            async for chunk in self.request.stream():
                size += len(chunk)
                if size > limit:
                    raise too_large()
                chunks.append(chunk)
            self.body = b"".join(chunks)
        return self.body


Handler = Callable[[RequestContext[Any]], Awaitable[Response]]


@dataclass
class Service(Generic[M]):
    """What a service gives the pipeline and the admin API."""

    name: str
    model: M
    # Fill operation, resources, claimed namespace (and the body where needed); never raises:
    # a request it cannot understand gets `ctx.error`.
    parse: Callable[[RequestContext[M]], Awaitable[None]]
    # Verify the caller (and raise ctx.error where the service checks it); sets the namespace.
    admit: Callable[[RequestContext[M]], Awaitable[None]]
    routes: Mapping[str, Handler]
    # The service's own error shape, with its request id headers.
    render_error: Callable[[RequestContext[M], ServiceError], Response]
    # Headers every answer of the service carries (request id, Date...).
    finish: Callable[[RequestContext[M], Response], None] = lambda ctx, response: None
    # The service's throttling answer: (status, code, message, Retry-After seconds or None).
    throttle: tuple[int, str, str, int | None] = (
        503, "Throttling", "Request was denied due to flow control.", None)
    media_type: str = "application/json"  # of a normal answer, for the `garbage` effect
    startup: Callable[[], Awaitable[None]] | None = None
    shutdown: Callable[[], Awaitable[None]] | None = None
    # Drop in-memory state of one namespace (None: all); documents are dropped by the runtime.
    reset: Callable[[str | None], None] | None = None
    billing: Callable[[str | None], dict[str, Any]] | None = None
    info: Callable[[], dict[str, Any]] = field(default=lambda: {"status": "running"})
    tasks: Callable[[str | None], list[dict[str, Any]]] | None = None
    request_id: Callable[[Runtime], str] = lambda runtime: runtime.ids.request_id()
    # Files the service publishes under /_emulator/ (path -> GET handler), served by the admin
    # app beside its own routes, e.g. the key OSS signs upload callbacks with.
    admin_files: Mapping[str, Callable[[Request], Awaitable[Response]]] = field(default_factory=dict)


INTERNAL_ERROR = "An internal error occurred."
UNAVAILABLE = "The service is temporarily unavailable. Please try again later."


def new_context(service: Service[M], runtime: Runtime, scope: Scope, receive: Receive) -> RequestContext[M]:
    request = Request(scope, receive)
    raw_path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
    return RequestContext(
        request=request, runtime=runtime, model=service.model, service=service.name,
        request_id=service.request_id(runtime), method=scope["method"], path=scope["path"],
        raw_path=raw_path, raw_query=scope.get("query_string", b"").decode("latin-1"),
        headers={k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]})


async def serve(service: Service[M], runtime: Runtime, scope: Scope, receive: Receive, send: Send) -> None:
    started = time.perf_counter()
    ctx = new_context(service, runtime, scope, receive)
    status: dict[str, int] = {}
    rule: FaultRule | None = None

    async def recording_send(message: Message) -> None:
        if message["type"] == "http.response.start":
            status["code"] = message["status"]
            message = _stamped(message, runtime)
        await send(message)

    try:
        try:
            await service.parse(ctx)
        except ClientDisconnect:
            return
        except Exception:  # a parser bug must not escape; the handler chain reports it
            log.exception("%s: could not parse %s %s", service.name, ctx.method, ctx.path)
            ctx.error = ServiceError(500, "InternalError", INTERNAL_ERROR)
        faults = runtime.faults
        rule = faults.take(service.name, ctx.facts(), REQUEST_EFFECTS) if faults.active else None
        if rule is None or not await _apply(rule, service, ctx, recording_send, send, receive):
            response = await respond(service, ctx)
            if response is not None:
                await response(scope, ctx.request.receive, recording_send)
    finally:
        record = {
            "time": runtime.clock.now(), "wall": time.time(), "namespace": ctx.namespace,
            "service": service.name,
            "action": ctx.operation, "method": ctx.method, "path": ctx.path, "status": status.get("code"),
            "latency_ms": round((time.perf_counter() - started) * 1000, 3),
            "fault": {"id": rule.id, "effect": rule.effect_name} if rule else None,
            **{k: v for k, v in ctx.resources.items() if k in RESOURCE_FACTS and k != "key"},
        }
        runtime.journal.record(record)
        if not runtime.config.quiet:
            requestlog.write_line(record)


def _stamped(message: Message, runtime: Runtime) -> Message:
    """A response start with one Date (the emulator's clock) and one Server header: the service's
    own where it set them (OSS), else the emulator's. uvicorn adds none (see server.py)."""
    names = {name.lower() for name, _ in message.get("headers", [])}
    extra = [(name, value) for name, value in ((b"date", http_date(runtime.clock.now()).encode()),
                                               (b"server", SERVER.encode())) if name not in names]
    return {**message, "headers": [*message.get("headers", []), *extra]} if extra else message


def stamping(send: Send, runtime: Runtime) -> Send:
    """`send` with Date and Server stamped on the response start (for the admin API)."""
    async def stamped_send(message: Message) -> None:
        await send(_stamped(message, runtime) if message["type"] == "http.response.start" else message)
    return stamped_send


def asgi_app(service: Service[M], runtime: Runtime) -> ASGIApp:
    """One service alone as an ASGI app (unit tests); the emulator's app dispatches to all."""
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await serve(service, runtime, scope, receive, send)
    return app


async def respond(service: Service[M], ctx: RequestContext[M]) -> Response | None:
    """Admit, route, handle; every failure in the service's shape. None: the client left."""
    try:
        await service.admit(ctx)
        if ctx.error is not None:
            raise ctx.error
        if ctx.method in ("GET", "HEAD") and ctx.key and ctx.runtime.faults.hidden(
                ctx.namespace, ctx.bucket, ctx.key):  # written, not yet visible (see Faults.hide)
            raise ServiceError(404, "NoSuchKey", "The specified key does not exist.", Key=ctx.key)
        handler = service.routes.get(ctx.operation or "")
        if handler is None:
            raise ServiceError(500, "InternalError", INTERNAL_ERROR)
        response = await handler(ctx)
    except ServiceError as err:
        response = service.render_error(ctx, err)
    except ClientDisconnect:
        return None
    except Exception:  # never a traceback on the wire
        log.exception("%s %s %s failed", service.name, ctx.method, ctx.path)
        response = service.render_error(ctx, ServiceError(500, "InternalError", INTERNAL_ERROR))
    service.finish(ctx, response)
    return response


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


async def _apply(rule: FaultRule, service: Service[M], ctx: RequestContext[M], send: Send,
                 server_send: Send, receive: Receive) -> bool:
    """Apply a request fault; True when it answered the request itself. `server_send` is the
    server's own callable (closing a connection needs it), `receive` the server's own."""
    runtime = ctx.runtime
    name, spec = rule.effect_name, rule.effect[rule.effect_name]
    if name == "delay_ms":
        if isinstance(spec, dict):
            ms = spec["min"] + (spec["max"] - spec["min"]) * runtime.faults.draw(rule)
        else:
            ms = spec
        await asyncio.sleep(ms / 1000)
        return False
    if name == "reset":
        await _drop_connection(server_send)
        return True
    if name == "hang":
        await transfer.wait_for_disconnect(receive, spec["max_seconds"])
        await _drop_connection(server_send)
        return True
    if name in ("truncate", "bandwidth", "slow_headers", "corrupt"):
        await _answer_broken(name, spec, service, ctx, send, server_send)
        return True
    if name == "garbage":
        response: Response = Response(b"\x00\xff<garbage{not-what-you-expected", 200,
                                      media_type=service.media_type)
    else:
        response = _error_answer(name, spec, service, ctx)
    service.finish(ctx, response)
    await response(ctx.request.scope, ctx.request.receive, send)
    return True


def _error_answer(name: str, spec: Any, service: Service[M], ctx: RequestContext[M]) -> Response:
    """http_error, throttle, rate_limit and outage: an error in the service's own shape."""
    custom = spec if isinstance(spec, dict) else {}
    retry_after = custom.get("retry_after")
    if name == "http_error":
        status, code, message = spec["status"], spec["code"], spec.get("message", "")
    elif name == "outage":
        status, code = custom.get("status", 503), custom.get("code", "ServiceUnavailable")
        message = custom.get("message", UNAVAILABLE)
    else:  # throttle, rate_limit: the service's throttling answer
        status, code, message, own_retry_after = service.throttle
        status = custom.get("status", status)
        code = custom.get("code", code)
        message = custom.get("message", message)
        retry_after = own_retry_after if retry_after is None else retry_after
    response = service.render_error(ctx, ServiceError(status, code, message))
    if retry_after is not None:
        response.headers["Retry-After"] = str(int(retry_after))
    return response


async def _answer_broken(name: str, spec: dict[str, Any], service: Service[M], ctx: RequestContext[M],
                         send: Send, server_send: Send) -> None:
    """The service's real answer (the handler runs, its effects stand), broken on the wire."""
    if name == "bandwidth":  # the upload is slowed too
        ctx.request._receive = transfer.paced_receive(ctx.request._receive, spec["kib_per_second"] * 1024)
    response = await respond(service, ctx)
    if response is None:
        return
    if name == "slow_headers":
        await asyncio.sleep(spec["ms"] / 1000)
    elif name == "truncate":
        send = transfer.truncating(send, lambda: _drop_connection(server_send), spec)
    elif name == "bandwidth":
        send = transfer.pacing(send, spec["kib_per_second"] * 1024, lambda: _closed(server_send))
    else:
        send = transfer.corrupting(send, {} if spec is True else spec)
    try:
        await response(ctx.request.scope, ctx.request.receive, send)
    except transfer.Cut:
        pass


def _closed(server_send: Send) -> bool:
    transport = getattr(getattr(server_send, "__self__", None), "transport", None)
    return transport is not None and transport.is_closing()
