"""MNS routes: signature check, then the route table below, then the model; errors as MNS XML."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl, unquote

from starlette.requests import Request
from starlette.responses import Response

from emulator.auth import mns as mns_auth
from emulator.core.accounts import DEFAULT_NAMESPACE
from emulator.core.errors import ServiceError
from emulator.core.pipeline import Handler, RequestContext, Service
from emulator.core.runtime import Runtime
from emulator.services.mns import errors, seed, wire
from emulator.services.mns.model import MnsModel
from emulator.services.mns.push import API_VERSION, Pusher

log = logging.getLogger(__name__)
# 16 messages of 64 KiB, with room for the XML around them.
MAX_BODY = 2 * 1024 * 1024


Ctx = RequestContext[MnsModel]


def _body(ctx: Ctx) -> bytes:
    return ctx.body or b""


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
        raise errors.client_left()
    return task.result()


# ---- queues ---------------------------------------------------------------------------------

def _queue_url(ctx: Ctx, name: str) -> str:
    return f"{ctx.base_url}/queues/{name}"


async def create_queue(ctx: Ctx) -> Response:
    name = ctx.params["queue"]
    created = ctx.model.create_queue(ctx.ns, name, wire.queue_attributes(_body(ctx)))
    location = {"Location": _queue_url(ctx, name)}
    return Response(status_code=201, headers=location) if created else _no_content(location)


async def set_queue_attributes(ctx: Ctx) -> Response:
    ctx.model.set_queue_attributes(ctx.ns, ctx.params["queue"], wire.queue_attributes(_body(ctx)))
    return _no_content()


async def get_queue_attributes(ctx: Ctx) -> Response:
    return _xml(wire.document("Queue", wire.queue_fields(*ctx.model.get_queue(ctx.ns, ctx.params["queue"]))))


async def list_queues(ctx: Ctx) -> Response:
    prefix, marker, limit, with_meta = wire.list_options(ctx.headers)
    queues, next_marker = ctx.model.list_queues(ctx.ns, prefix, marker, limit)
    items = [(_queue_url(ctx, q.name),
              wire.queue_fields(*ctx.model.get_queue(ctx.ns, q.name)) if with_meta else None)
             for q in queues]
    return _xml(wire.queue_list(items, next_marker))


async def delete_queue(ctx: Ctx) -> Response:
    ctx.model.delete_queue(ctx.ns, ctx.params["queue"])
    return _no_content()


# ---- messages -------------------------------------------------------------------------------

async def send_message(ctx: Ctx) -> Response:
    """SendMessage (`<Message>`) or BatchSendMessage (`<Messages>`), told apart by the root."""
    queue = ctx.params["queue"]
    entries, batch = wire.messages(_body(ctx))
    if batch:
        results = ctx.model.send_messages(ctx.ns, queue, entries)
        failed = next((r for r in results if isinstance(r, ServiceError)), None)
        return _xml(wire.batch_sent(results), failed.status if failed else 201)
    body, delay, priority = entries[0]
    sent = ctx.model.send_message(ctx.ns, queue, body, delay, priority)
    return _xml(wire.document("Message", wire.sent(sent)), 201)


async def receive_message(ctx: Ctx) -> Response:
    """ReceiveMessage, or BatchReceiveMessage with numOfMessages; long-polls `waitseconds`."""
    count = wire.query_int(ctx.query, "numOfMessages", None)
    wait = wire.query_int(ctx.query, "waitseconds", None)
    received = await _unless_client_leaves(
        ctx.request, ctx.model.receive(ctx.ns, ctx.params["queue"], count or 1, wait))
    if count is None:
        return _xml(wire.document("Message", wire.message_fields(received[0], received=True)))
    return _xml(wire.message_list(received, received=True))


async def peek_message(ctx: Ctx) -> Response:
    count = wire.query_int(ctx.query, "numOfMessages", None)
    found = ctx.model.peek(ctx.ns, ctx.params["queue"], count or 1)
    if count is None:
        return _xml(wire.document("Message", wire.message_fields(found[0], received=False)))
    return _xml(wire.message_list(found, received=False))


async def delete_message(ctx: Ctx) -> Response:
    ctx.model.delete_message(ctx.ns, ctx.params["queue"], wire.query_str(ctx.query, "ReceiptHandle") or "")
    return _no_content()


async def batch_delete_message(ctx: Ctx) -> Response:
    failures = ctx.model.delete_messages(ctx.ns, ctx.params["queue"], wire.receipt_handles(_body(ctx)))
    if failures:
        return _xml(wire.batch_delete_errors(failures), failures[0][1].status)
    return _no_content()


async def change_message_visibility(ctx: Ctx) -> Response:
    handle = wire.query_str(ctx.query, "ReceiptHandle") or ""
    timeout = wire.query_int(ctx.query, "VisibilityTimeout", None)
    if not handle:
        raise errors.missing("ReceiptHandle")
    if timeout is None:
        raise errors.missing("VisibilityTimeout")
    changed = ctx.model.change_visibility(ctx.ns, ctx.params["queue"], handle, timeout)
    return _xml(wire.visibility_changed(changed))


# ---- topics and subscriptions ---------------------------------------------------------------

def _topic_url(ctx: Ctx, name: str) -> str:
    return f"{ctx.base_url}/topics/{name}"


async def create_topic(ctx: Ctx) -> Response:
    name = ctx.params["topic"]
    created = ctx.model.create_topic(ctx.ns, name, wire.topic_attributes(_body(ctx)))
    location = {"Location": _topic_url(ctx, name)}
    return Response(status_code=201, headers=location) if created else _no_content(location)


async def set_topic_attributes(ctx: Ctx) -> Response:
    ctx.model.set_topic_attributes(ctx.ns, ctx.params["topic"], wire.topic_attributes(_body(ctx)))
    return _no_content()


async def get_topic_attributes(ctx: Ctx) -> Response:
    return _xml(wire.document("Topic", wire.topic_fields(*ctx.model.get_topic(ctx.ns, ctx.params["topic"]))))


async def list_topics(ctx: Ctx) -> Response:
    prefix, marker, limit, with_meta = wire.list_options(ctx.headers)
    topics, next_marker = ctx.model.list_topics(ctx.ns, prefix, marker, limit)
    items = [(_topic_url(ctx, t.name),
              wire.topic_fields(*ctx.model.get_topic(ctx.ns, t.name)) if with_meta else None)
             for t in topics]
    return _xml(wire.topic_list(items, next_marker))


async def delete_topic(ctx: Ctx) -> Response:
    ctx.model.delete_topic(ctx.ns, ctx.params["topic"])
    return _no_content()


async def publish_message(ctx: Ctx) -> Response:
    body, tag = wire.topic_message(_body(ctx))
    message_id, md5 = ctx.model.publish(ctx.ns, ctx.params["topic"], body, tag)
    return _xml(wire.document("Message", [("MessageId", message_id), ("MessageBodyMD5", md5)]), 201)


def _subscription_url(ctx: Ctx, topic: str, name: str) -> str:
    return f"{_topic_url(ctx, topic)}/subscriptions/{name}"


async def subscribe(ctx: Ctx) -> Response:
    topic, name = ctx.params["topic"], ctx.params["subscription"]
    created = ctx.model.subscribe(ctx.ns, topic, name, wire.subscription_attributes(_body(ctx)))
    location = {"Location": _subscription_url(ctx, topic, name)}
    return Response(status_code=201, headers=location) if created else _no_content(location)


async def set_subscription_attributes(ctx: Ctx) -> Response:
    ctx.model.set_subscription_attributes(ctx.ns, ctx.params["topic"], ctx.params["subscription"],
                                  wire.subscription_attributes(_body(ctx)))
    return _no_content()


async def get_subscription_attributes(ctx: Ctx) -> Response:
    sub = ctx.model.get_subscription(ctx.ns, ctx.params["topic"], ctx.params["subscription"])
    return _xml(wire.document("Subscription", wire.subscription_fields(sub, ctx.model.config.account_id)))


async def list_subscriptions(ctx: Ctx) -> Response:
    prefix, marker, limit, _ = wire.list_options(ctx.headers)
    topic = ctx.params["topic"]
    subs, next_marker = ctx.model.list_subscriptions(ctx.ns, topic, prefix, marker, limit)
    return _xml(wire.subscription_list([_subscription_url(ctx, topic, s.name) for s in subs], next_marker))


async def unsubscribe(ctx: Ctx) -> Response:
    ctx.model.unsubscribe(ctx.ns, ctx.params["topic"], ctx.params["subscription"])
    return _no_content()


async def get_account_attributes(ctx: Ctx) -> Response:
    return _xml(wire.document("Account", [("LoggingBucket", "")]))


# ---- the route table ------------------------------------------------------------------------

# (method, path, query key that must be present, operation, handler); {name} matches one segment.
_Q = "/queues/{queue}"
_T = "/topics/{topic}"
_S = "/topics/{topic}/subscriptions/{subscription}"
TABLE: list[tuple[str, str, str | None, str, Handler]] = [
    ("GET", "/", "accountmeta", "GetAccountAttributes", get_account_attributes),
    ("GET", "/queues", None, "ListQueues", list_queues),
    ("PUT", _Q, "metaoverride", "SetQueueAttributes", set_queue_attributes),
    ("PUT", _Q, None, "CreateQueue", create_queue),
    ("GET", _Q, None, "GetQueueAttributes", get_queue_attributes),
    ("DELETE", _Q, None, "DeleteQueue", delete_queue),
    ("POST", _Q + "/messages", None, "SendMessage", send_message),
    ("GET", _Q + "/messages", "peekonly", "PeekMessage", peek_message),
    ("GET", _Q + "/messages", None, "ReceiveMessage", receive_message),
    ("DELETE", _Q + "/messages", "ReceiptHandle", "DeleteMessage", delete_message),
    ("DELETE", _Q + "/messages", None, "BatchDeleteMessage", batch_delete_message),
    ("PUT", _Q + "/messages", "ReceiptHandle", "ChangeMessageVisibility", change_message_visibility),
    ("GET", "/topics", None, "ListTopics", list_topics),
    ("PUT", _T, "metaoverride", "SetTopicAttributes", set_topic_attributes),
    ("PUT", _T, None, "CreateTopic", create_topic),
    ("GET", _T, None, "GetTopicAttributes", get_topic_attributes),
    ("DELETE", _T, None, "DeleteTopic", delete_topic),
    ("POST", _T + "/messages", None, "PublishMessage", publish_message),
    ("GET", _T + "/subscriptions", None, "ListSubscriptions", list_subscriptions),
    ("PUT", _S, "metaoverride", "SetSubscriptionAttributes", set_subscription_attributes),
    ("PUT", _S, None, "Subscribe", subscribe),
    ("GET", _S, None, "GetSubscriptionAttributes", get_subscription_attributes),
    ("DELETE", _S, None, "Unsubscribe", unsubscribe),
]


ROUTES: dict[str, Handler] = {name: handler for *_, name, handler in TABLE}


def match(method: str, raw_path: str, query: dict[str, str]) -> tuple[str, dict[str, str]] | None:
    """The operation of a request and the names in its path, from the route table."""
    segments = [unquote(s) for s in raw_path.strip("/").split("/")] if raw_path.strip("/") else []
    keys = {k.lower() for k in query}
    for route_method, path, query_key, name, _ in TABLE:
        pattern = [p for p in path.strip("/").split("/") if p]
        if route_method != method or len(pattern) != len(segments):
            continue
        if query_key and query_key.lower() not in keys:
            continue
        params: dict[str, str] = {}
        for want, got in zip(pattern, segments, strict=True):
            if want.startswith("{"):
                params[want[1:-1]] = got
            elif want != got:
                break
        else:
            return name, params
    return None


# ---- the pipeline's steps -------------------------------------------------------------------

async def parse(ctx: Ctx) -> None:
    ctx.query = dict(parse_qsl(ctx.raw_query, keep_blank_values=True))
    auth = ctx.headers.get("authorization", "")
    creds = ctx.runtime.accounts.by_access_key(auth.partition(" ")[2].partition(":")[0])
    ctx.namespace = creds.namespace if creds else DEFAULT_NAMESPACE
    found = match(ctx.method, ctx.raw_path, ctx.query)
    if found is None:
        ctx.error = errors.invalid_url()
    else:
        ctx.operation, ctx.params = found
        ctx.resources.update({k: v for k, v in ctx.params.items() if k in ("queue", "topic")})
    try:
        await ctx.read_body(MAX_BODY, lambda: errors.body_too_large(MAX_BODY))
    except ServiceError as err:
        ctx.error = err


async def admit(ctx: Ctx) -> None:
    """Content-MD5 and the signature come before the URL: MNS checks them first."""
    if ctx.body is None and ctx.error is not None:
        raise ctx.error
    config = ctx.runtime.config
    md5 = ctx.headers.get("content-md5")
    if md5 is not None and not mns_auth.content_md5_ok(md5, _body(ctx)):
        raise errors.invalid_digest()
    target = ctx.raw_path + (f"?{ctx.raw_query}" if ctx.raw_query else "")
    if config.verify_signatures:
        access_key_id = mns_auth.verify(ctx.method, target, ctx.headers, _secret_of(ctx),
                                        config.max_clock_skew_seconds)
    else:
        access_key_id = ctx.headers.get("authorization", "").partition(" ")[2].partition(":")[0]
    creds = ctx.runtime.accounts.by_access_key(access_key_id)
    ctx.namespace = creds.namespace if creds else DEFAULT_NAMESPACE
    ctx.credentials = creds


def _secret_of(ctx: Ctx) -> Callable[[str], str | None]:
    def secret(access_key_id: str) -> str | None:
        creds = ctx.runtime.accounts.by_access_key(access_key_id)
        return creds.access_key_secret if creds else None
    return secret


def render_error(ctx: Ctx, err: ServiceError) -> Response:
    config = ctx.runtime.config
    host_id = f"http://{config.account_id}.mns.{config.region}.aliyuncs.com"
    return _xml(wire.error(err, ctx.request_id, host_id), err.status)


def finish(ctx: Ctx, response: Response) -> None:
    response.headers["x-mns-request-id"] = ctx.request_id
    response.headers["x-mns-version"] = API_VERSION


def build_mns(runtime: Runtime) -> Service[MnsModel]:
    model = MnsModel(runtime.config, runtime.docs, runtime.clock, runtime.ids, runtime.faults)
    runtime.faults.register_match_fields("mns", ("topic", "queue"))
    seed.register(runtime, model)
    pusher = Pusher(runtime, model)

    def reset(namespace: str | None) -> None:
        pusher.reset(namespace)
        model.reset(namespace)

    def info() -> dict[str, Any]:
        return {"status": "running", "long_polls": model.long_polls(),
                "pending_pushes": len(model.pending_deliveries()),
                "recent_pushes": list(model.recent_pushes)[-20:]}

    throttled = errors.throttled()
    return Service(
        "mns", model, parse=parse, admit=admit, routes=ROUTES, render_error=render_error, finish=finish,
        startup=pusher.startup, shutdown=pusher.shutdown, reset=reset, info=info,
        media_type=wire.CONTENT_TYPE, throttle=(throttled.status, throttled.code, throttled.message, None))
