"""MNS routes: signature check, then the route table below, then the model; errors as MNS XML."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from emulator.auth import mns as mns_auth
from emulator.core.accounts import DEFAULT_NAMESPACE
from emulator.core.errors import ServiceError
from emulator.core.runtime import Runtime
from emulator.core.service import Built, ServiceHandle
from emulator.services.mns import seed, wire
from emulator.services.mns.model import MnsModel
from emulator.services.mns.push import API_VERSION, Pusher

log = logging.getLogger(__name__)
# 16 messages of 64 KiB, with room for the XML around them.
MAX_BODY = 2 * 1024 * 1024


@dataclass
class Call:
    request: Request
    ns: str
    params: dict[str, str]
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    base_url: str


Handler = Callable[[MnsModel, Call], Awaitable[Response]]


def _xml(body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(body, status, headers=headers, media_type=wire.CONTENT_TYPE)


def _no_content(headers: dict[str, str] | None = None) -> Response:
    return Response(status_code=204, headers=headers)


async def _unless_client_leaves(request: Request, work: Awaitable[Any]) -> Any:
    """Run `work` (a long poll) but give up when the client disconnects, so a consumer that went
    away does not take a message nobody will see."""
    task = asyncio.ensure_future(work)

    async def disconnected() -> None:
        while (await request.receive())["type"] != "http.disconnect":
            pass

    watcher = asyncio.ensure_future(disconnected())
    try:
        await asyncio.wait({task, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        watcher.cancel()
        finished = task.done()
        if not finished:
            task.cancel()
    if not finished:
        raise ServiceError(408, "RequestTimeout", "The client closed the connection.")
    return task.result()


# ---- queues ---------------------------------------------------------------------------------

def _queue_url(c: Call, name: str) -> str:
    return f"{c.base_url}/queues/{name}"


async def create_queue(m: MnsModel, c: Call) -> Response:
    name = c.params["queue"]
    created = m.create_queue(c.ns, name, wire.queue_attributes(c.body))
    location = {"Location": _queue_url(c, name)}
    return Response(status_code=201, headers=location) if created else _no_content(location)


async def set_queue_attributes(m: MnsModel, c: Call) -> Response:
    m.set_queue_attributes(c.ns, c.params["queue"], wire.queue_attributes(c.body))
    return _no_content()


async def get_queue_attributes(m: MnsModel, c: Call) -> Response:
    return _xml(wire.document("Queue", wire.queue_fields(*m.get_queue(c.ns, c.params["queue"]))))


async def list_queues(m: MnsModel, c: Call) -> Response:
    prefix, marker, limit, with_meta = wire.list_options(c.headers)
    queues, next_marker = m.list_queues(c.ns, prefix, marker, limit)
    items = [(_queue_url(c, q.name), wire.queue_fields(*m.get_queue(c.ns, q.name)) if with_meta else None)
             for q in queues]
    return _xml(wire.queue_list(items, next_marker))


async def delete_queue(m: MnsModel, c: Call) -> Response:
    m.delete_queue(c.ns, c.params["queue"])
    return _no_content()


# ---- messages -------------------------------------------------------------------------------

async def send_message(m: MnsModel, c: Call) -> Response:
    """SendMessage (`<Message>`) or BatchSendMessage (`<Messages>`), told apart by the root."""
    queue = c.params["queue"]
    entries, batch = wire.messages(c.body)
    if batch:
        results = m.send_messages(c.ns, queue, entries)
        failed = next((r for r in results if isinstance(r, ServiceError)), None)
        return _xml(wire.batch_sent(results), failed.status if failed else 201)
    body, delay, priority = entries[0]
    return _xml(wire.document("Message", wire.sent(m.send_message(c.ns, queue, body, delay, priority))), 201)


async def receive_message(m: MnsModel, c: Call) -> Response:
    """ReceiveMessage, or BatchReceiveMessage with numOfMessages; long-polls `waitseconds`."""
    count = wire.query_int(c.query, "numOfMessages", None)
    wait = wire.query_int(c.query, "waitseconds", None)
    received = await _unless_client_leaves(c.request, m.receive(c.ns, c.params["queue"], count or 1, wait))
    if count is None:
        return _xml(wire.document("Message", wire.message_fields(received[0], received=True)))
    return _xml(wire.message_list(received, received=True))


async def peek_message(m: MnsModel, c: Call) -> Response:
    count = wire.query_int(c.query, "numOfMessages", None)
    found = m.peek(c.ns, c.params["queue"], count or 1)
    if count is None:
        return _xml(wire.document("Message", wire.message_fields(found[0], received=False)))
    return _xml(wire.message_list(found, received=False))


async def delete_message(m: MnsModel, c: Call) -> Response:
    m.delete_message(c.ns, c.params["queue"], wire.query_str(c.query, "ReceiptHandle") or "")
    return _no_content()


async def batch_delete_message(m: MnsModel, c: Call) -> Response:
    errors = m.delete_messages(c.ns, c.params["queue"], wire.receipt_handles(c.body))
    if errors:
        return _xml(wire.batch_delete_errors(errors), errors[0][1].status)
    return _no_content()


async def change_message_visibility(m: MnsModel, c: Call) -> Response:
    handle = wire.query_str(c.query, "ReceiptHandle") or ""
    timeout = wire.query_int(c.query, "VisibilityTimeout", None)
    if not handle:
        raise ServiceError(400, "MissingReceiptHandle", "ReceiptHandle is required.")
    if timeout is None:
        raise ServiceError(400, "MissingVisibilityTimeout", "VisibilityTimeout is required.")
    return _xml(wire.visibility_changed(m.change_visibility(c.ns, c.params["queue"], handle, timeout)))


# ---- topics and subscriptions ---------------------------------------------------------------

def _topic_url(c: Call, name: str) -> str:
    return f"{c.base_url}/topics/{name}"


async def create_topic(m: MnsModel, c: Call) -> Response:
    name = c.params["topic"]
    created = m.create_topic(c.ns, name, wire.topic_attributes(c.body))
    location = {"Location": _topic_url(c, name)}
    return Response(status_code=201, headers=location) if created else _no_content(location)


async def set_topic_attributes(m: MnsModel, c: Call) -> Response:
    m.set_topic_attributes(c.ns, c.params["topic"], wire.topic_attributes(c.body))
    return _no_content()


async def get_topic_attributes(m: MnsModel, c: Call) -> Response:
    return _xml(wire.document("Topic", wire.topic_fields(*m.get_topic(c.ns, c.params["topic"]))))


async def list_topics(m: MnsModel, c: Call) -> Response:
    prefix, marker, limit, with_meta = wire.list_options(c.headers)
    topics, next_marker = m.list_topics(c.ns, prefix, marker, limit)
    items = [(_topic_url(c, t.name), wire.topic_fields(*m.get_topic(c.ns, t.name)) if with_meta else None)
             for t in topics]
    return _xml(wire.topic_list(items, next_marker))


async def delete_topic(m: MnsModel, c: Call) -> Response:
    m.delete_topic(c.ns, c.params["topic"])
    return _no_content()


async def publish_message(m: MnsModel, c: Call) -> Response:
    body, tag = wire.topic_message(c.body)
    message_id, md5 = m.publish(c.ns, c.params["topic"], body, tag)
    return _xml(wire.document("Message", [("MessageId", message_id), ("MessageBodyMD5", md5)]), 201)


def _subscription_url(c: Call, topic: str, name: str) -> str:
    return f"{_topic_url(c, topic)}/subscriptions/{name}"


async def subscribe(m: MnsModel, c: Call) -> Response:
    topic, name = c.params["topic"], c.params["subscription"]
    created = m.subscribe(c.ns, topic, name, wire.subscription_attributes(c.body))
    location = {"Location": _subscription_url(c, topic, name)}
    return Response(status_code=201, headers=location) if created else _no_content(location)


async def set_subscription_attributes(m: MnsModel, c: Call) -> Response:
    m.set_subscription_attributes(c.ns, c.params["topic"], c.params["subscription"],
                                  wire.subscription_attributes(c.body))
    return _no_content()


async def get_subscription_attributes(m: MnsModel, c: Call) -> Response:
    sub = m.get_subscription(c.ns, c.params["topic"], c.params["subscription"])
    return _xml(wire.document("Subscription", wire.subscription_fields(sub, m.config.account_id)))


async def list_subscriptions(m: MnsModel, c: Call) -> Response:
    prefix, marker, limit, _ = wire.list_options(c.headers)
    topic = c.params["topic"]
    subs, next_marker = m.list_subscriptions(c.ns, topic, prefix, marker, limit)
    return _xml(wire.subscription_list([_subscription_url(c, topic, s.name) for s in subs], next_marker))


async def unsubscribe(m: MnsModel, c: Call) -> Response:
    m.unsubscribe(c.ns, c.params["topic"], c.params["subscription"])
    return _no_content()


async def get_account_attributes(m: MnsModel, c: Call) -> Response:
    return _xml(wire.document("Account", [("LoggingBucket", "")]))


# ---- the route table ------------------------------------------------------------------------

@dataclass(frozen=True)
class Route:
    method: str
    path: str  # segments; {name} matches one segment
    query_key: str | None  # the route applies only when this query parameter is present
    handler: Handler


_Q = "/queues/{queue}"
_T = "/topics/{topic}"
_S = "/topics/{topic}/subscriptions/{subscription}"
ROUTES = [
    Route("GET", "/", "accountmeta", get_account_attributes),
    Route("GET", "/queues", None, list_queues),
    Route("PUT", _Q, "metaoverride", set_queue_attributes),
    Route("PUT", _Q, None, create_queue),
    Route("GET", _Q, None, get_queue_attributes),
    Route("DELETE", _Q, None, delete_queue),
    Route("POST", _Q + "/messages", None, send_message),
    Route("GET", _Q + "/messages", "peekonly", peek_message),
    Route("GET", _Q + "/messages", None, receive_message),
    Route("DELETE", _Q + "/messages", "ReceiptHandle", delete_message),
    Route("DELETE", _Q + "/messages", None, batch_delete_message),
    Route("PUT", _Q + "/messages", "ReceiptHandle", change_message_visibility),
    Route("GET", "/topics", None, list_topics),
    Route("PUT", _T, "metaoverride", set_topic_attributes),
    Route("PUT", _T, None, create_topic),
    Route("GET", _T, None, get_topic_attributes),
    Route("DELETE", _T, None, delete_topic),
    Route("POST", _T + "/messages", None, publish_message),
    Route("GET", _T + "/subscriptions", None, list_subscriptions),
    Route("PUT", _S, "metaoverride", set_subscription_attributes),
    Route("PUT", _S, None, subscribe),
    Route("GET", _S, None, get_subscription_attributes),
    Route("DELETE", _S, None, unsubscribe),
]


def match(method: str, raw_path: str, query: dict[str, str]) -> tuple[Handler, dict[str, str]]:
    segments = [unquote(s) for s in raw_path.strip("/").split("/")] if raw_path.strip("/") else []
    keys = {k.lower() for k in query}
    for route in ROUTES:
        pattern = [p for p in route.path.strip("/").split("/") if p]
        if route.method != method or len(pattern) != len(segments):
            continue
        if route.query_key and route.query_key.lower() not in keys:
            continue
        params: dict[str, str] = {}
        for want, got in zip(pattern, segments, strict=True):
            if want.startswith("{"):
                params[want[1:-1]] = got
            elif want != got:
                break
        else:
            return route.handler, params
    raise ServiceError(400, "InvalidRequestURL", "Http request URL format invalid.")


# ---- the app --------------------------------------------------------------------------------

def build_mns(runtime: Runtime) -> Built:
    config = runtime.config
    model = MnsModel(config, runtime.docs, runtime.clock, runtime.ids)
    runtime.faults.register_match_fields("mns", ("topic", "queue"))
    seed.register(runtime, model)
    pusher = Pusher(runtime, model)
    host_id = f"http://{config.account_id}.mns.{config.region}.aliyuncs.com"

    def secret_of(access_key_id: str) -> str | None:
        creds = runtime.accounts.by_access_key(access_key_id)
        return creds.access_key_secret if creds else None

    def namespace(method: str, target: str, headers: dict[str, str], body: bytes) -> str:
        md5 = headers.get("content-md5")
        if md5 is not None and not mns_auth.content_md5_ok(md5, body):
            raise ServiceError(400, "InvalidDegist", "The Content-MD5 you specified is invalid.")
        if config.verify_signatures:
            access_key_id = mns_auth.verify(method, target, headers, secret_of,
                                            config.max_clock_skew_seconds)
        else:
            access_key_id = headers.get("authorization", "").partition(" ")[2].partition(":")[0]
        creds = runtime.accounts.by_access_key(access_key_id)
        return creds.namespace if creds else DEFAULT_NAMESPACE

    async def read_body(request: Request) -> bytes:
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_BODY:
                raise ServiceError(400, "InvalidArgument",
                                   f"The request body is larger than {MAX_BODY} bytes.")
            chunks.append(chunk)
        return b"".join(chunks)

    async def handle(request: Request) -> Response:
        scope = request.scope
        raw_path = scope.get("raw_path", scope["path"].encode()).decode("latin-1")
        raw_query = scope.get("query_string", b"").decode("latin-1")
        target = raw_path + (f"?{raw_query}" if raw_query else "")
        headers = {k.lower(): v for k, v in request.headers.items()}
        body = await read_body(request)
        ns = namespace(request.method, target, headers, body)
        query = dict(parse_qsl(raw_query, keep_blank_values=True))
        handler, params = match(request.method, raw_path, query)
        host = headers.get("host") or f"{config.host}:{config.port}"
        return await handler(model, Call(request, ns, params, query, headers, body, f"http://{host}"))

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        request_id = runtime.ids.request_id()
        try:
            response = await handle(request)
        except ServiceError as exc:
            response = _xml(wire.error(exc, request_id, host_id), exc.status)
        except Exception:
            log.exception("MNS request failed: %s %s", request.method, request.url.path)
            exc = ServiceError(500, "InternalError", "Interal error.")
            response = _xml(wire.error(exc, request_id, host_id), 500)
        response.headers["x-mns-request-id"] = request_id
        response.headers["x-mns-version"] = API_VERSION
        await response(scope, receive, send)

    def reset(namespace_: str | None) -> None:
        pusher.reset(namespace_)
        model.reset(namespace_)

    def info() -> dict[str, Any]:
        return {"status": "running", "long_polls": model.long_polls(),
                "pending_pushes": len(model.pending_deliveries()),
                "recent_pushes": list(model.recent_pushes)[-20:]}

    def describe(scope: Scope, body: bytes | None) -> dict[str, Any]:
        raw_path = scope.get("raw_path", scope["path"].encode()).decode("latin-1")
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True))
        handler, params = match(scope["method"], raw_path, query)
        auth = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
        creds = runtime.accounts.by_access_key(auth.partition(" ")[2].partition(":")[0])
        return {"action": "".join(w.title() for w in handler.__name__.split("_")),
                "queue": params.get("queue"), "topic": params.get("topic"),
                "namespace": creds.namespace if creds else DEFAULT_NAMESPACE}

    def render_error(exc: ServiceError, scope: Scope) -> Response:
        request_id = runtime.ids.request_id()
        response = _xml(wire.error(exc, request_id, host_id), exc.status)
        response.headers["x-mns-request-id"] = request_id
        return response

    handle_ = ServiceHandle("mns", app, startup=pusher.startup, shutdown=pusher.shutdown,
                            reset=reset, info=info, describe=describe, render_error=render_error,
                            media_type="text/xml;charset=utf-8",
                            throttle=(503, "Throttling", "Request was denied due to flow control.", None))
    return Built(model, handle_)
