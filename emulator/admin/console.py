"""What the web console (/_emulator/ui) needs beside the admin API: its static files, and reads and
writes of buckets, objects and MNS messages that bypass signatures (it is the emulator's own
operator view). Every route takes `?namespace=` (default: the default namespace).

    GET    /_emulator/ui/...                                  the console (static, shipped in the package)
    GET    /_emulator/console/buckets                         buckets
    GET    /_emulator/console/buckets/{bucket}/objects        ?prefix=&delimiter=/ objects and prefixes
    GET    /_emulator/console/buckets/{bucket}/meta?key=      one object's metadata
    GET    /_emulator/console/buckets/{bucket}/content?key=   its bytes (&download=1: as attachment)
    PUT    /_emulator/console/buckets/{bucket}/content?key=   store the body (Content-Type kept)
    DELETE /_emulator/console/buckets/{bucket}/content?key=   delete it
    GET    /_emulator/console/mns                             queues (with counts), topics, subscriptions
    GET    /_emulator/console/mns/queues/{queue}/peek         up to 16 visible messages, not consumed
    GET    /_emulator/console/tasks/{task_id}                 a task: summary, request, timeline, outputs
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from emulator.core.errors import ServiceError
from emulator.core.pipeline import Service
from emulator.core.runtime import Runtime
from emulator.core.timefmt import iso_millis

UI_DIR = Path(__file__).parent / "ui"
PEEK_LIMIT = 16  # MNS BatchPeekMessage's largest batch


def iso(ts: float | None) -> str | None:
    return None if ts is None else iso_millis(ts)


def task_outputs(runtime: Runtime, namespace: str, task_id: str) -> list[str]:
    """The oss:// URIs a task wrote, from its timeline ("output written" events)."""
    uris = []
    for event in runtime.events.list(namespace, task_id):
        if event.get("event") != "output written":
            continue
        uri = event.get("uri") or (f"oss://{event['bucket']}/{event['key']}" if event.get("bucket") else None)
        if uri:
            uris.append(uri)
    return uris


def public_task(runtime: Runtime, task: dict[str, Any]) -> dict[str, Any]:
    """A task as /_emulator/tasks lists it: times in ISO 8601 (UTC) and the output URIs."""
    return {**task, "submitted": iso(task.get("submitted")), "ended": iso(task.get("ended")),
            "outputs": task_outputs(runtime, task["namespace"], task["task_id"])}


def console_routes(runtime: Runtime, services: dict[str, Service[Any]]) -> list[BaseRoute]:
    oss, mns = services["oss"].model, services["mns"].model

    def namespace(request: Request) -> str:
        name = request.query_params.get("namespace") or runtime.accounts.default.namespace
        if runtime.accounts.get(name) is None:
            raise ServiceError(404, "NoSuchNamespace", f"no namespace {name!r}")
        return name

    def key_param(request: Request) -> str:
        key = request.query_params.get("key", "")
        if not key:
            raise ServiceError(400, "MissingKey", "the key query parameter is required")
        return key

    async def buckets(request: Request) -> Response:
        listed, _ = oss.list_buckets(namespace(request), max_keys=1000)
        return JSONResponse({"buckets": [{**asdict(b), "created": iso(b.created)} for b in listed]})

    async def objects(request: Request) -> Response:
        listed = oss.list_objects(namespace(request), request.path_params["bucket"],
                                  prefix=request.query_params.get("prefix", ""),
                                  delimiter=request.query_params.get("delimiter", "/"), max_keys=1000)
        return JSONResponse({"prefixes": listed.common_prefixes, "truncated": listed.truncated,
                             "objects": [_object(o) for o in listed.objects]})

    async def meta(request: Request) -> Response:
        found = oss.head_object(namespace(request), request.path_params["bucket"], key_param(request))
        return JSONResponse(_object(found))

    async def content(request: Request) -> Response:
        ns, bucket, key = namespace(request), request.path_params["bucket"], key_param(request)
        if request.method == "PUT":
            stored = oss.put_bytes(ns, bucket, key, await request.body(),
                                   request.headers.get("content-type") or None)
            return JSONResponse(_object(stored), 201)
        if request.method == "DELETE":
            oss.head_object(ns, bucket, key)
            oss.delete_object(ns, bucket, key)
            return JSONResponse({"deleted": key})
        found = oss.head_object(ns, bucket, key)
        download = request.query_params.get("download") == "1"
        return FileResponse(oss.object_path(ns, bucket, key), media_type=found.content_type,
                            filename=key.rsplit("/", 1)[-1] if download else None,
                            content_disposition_type="attachment" if download else "inline")

    async def mns_overview(request: Request) -> Response:
        ns = namespace(request)
        queues = []
        for queue in mns.list_queues(ns, "", "", 1000)[0]:
            _, stats = mns.get_queue(ns, queue.name)
            queues.append({"name": queue.name, "created": iso(queue.create_time), **asdict(stats)})
        topics = []
        for topic in mns.list_topics(ns, "", "", 1000)[0]:
            subs = mns.list_subscriptions(ns, topic.name, "", "", 1000)[0]
            topics.append({"name": topic.name, "created": iso(topic.create_time), "subscriptions": [
                {"name": s.name, "endpoint": s.endpoint, "format": s.notify_content_format,
                 "strategy": s.notify_strategy, "filter_tag": s.filter_tag} for s in subs]})
        return JSONResponse({"queues": queues, "topics": topics})

    async def peek(request: Request) -> Response:
        try:
            found = mns.peek(namespace(request), request.path_params["queue"], PEEK_LIMIT)
        except ServiceError as err:
            if err.code != "MessageNotExist":
                raise
            found = []
        return JSONResponse({"messages": [
            {"id": m.id, "body": m.body, "enqueued": iso(m.enqueue_time), "dequeue_count": m.dequeue_count,
             "priority": m.priority} for m in found]})

    async def task(request: Request) -> Response:
        task_id = request.path_params["task_id"]
        wanted = request.query_params.get("namespace")
        for name, service in services.items():
            if not service.tasks:
                continue
            for listed in service.tasks(wanted):
                if listed["task_id"] == task_id:
                    ns = listed["namespace"]
                    events = [{**e, "time": iso(e["time"])} for e in runtime.events.list(ns, task_id)]
                    outputs = task_outputs(runtime, ns, task_id)
                    return JSONResponse({
                        "task": public_task(runtime, {"service": name, **listed}),
                        "request": _task_request(runtime, name, ns, listed),
                        "events": events,
                        "outputs": [{"uri": uri, **_output_link(ns, uri)} for uri in outputs]})
        raise ServiceError(404, "NoSuchTask", f"no task {task_id!r}")

    async def error(request: Request, err: ServiceError) -> Response:
        return JSONResponse({"error": err.message, "code": err.code}, err.status)

    async def ui_root(request: Request) -> Response:
        return RedirectResponse("/_emulator/ui/", 308)

    routes: list[BaseRoute] = [
        Route("/_emulator/ui", ui_root),
        Mount("/_emulator/ui", StaticFiles(directory=UI_DIR, html=True)),
        Route("/_emulator/console/buckets", buckets, methods=["GET"]),
        Route("/_emulator/console/buckets/{bucket}/objects", objects, methods=["GET"]),
        Route("/_emulator/console/buckets/{bucket}/meta", meta, methods=["GET"]),
        Route("/_emulator/console/buckets/{bucket}/content", content, methods=["GET", "PUT", "DELETE"]),
        Route("/_emulator/console/mns", mns_overview, methods=["GET"]),
        Route("/_emulator/console/mns/queues/{queue}/peek", peek, methods=["GET"]),
        Route("/_emulator/console/tasks/{task_id}", task, methods=["GET"]),
    ]
    # ServiceErrors from the models answer as the admin API does: {"error": ..., "code": ...}.
    return [_with_errors(r, error) for r in routes]


def _with_errors(route: BaseRoute, handler) -> BaseRoute:
    if not isinstance(route, Route):
        return route
    endpoint = route.endpoint

    async def guarded(request: Request) -> Response:
        try:
            return await endpoint(request)
        except ServiceError as err:
            return await handler(request, err)

    return Route(route.path, guarded, methods=route.methods)


def _object(found) -> dict[str, Any]:
    return {"key": found.key, "size": found.size, "etag": found.etag.strip('"'),
            "content_type": found.content_type, "last_modified": iso(found.last_modified),
            "storage_class": found.storage_class, "object_type": found.object_type,
            "user_meta": found.user_meta, "headers": found.headers, "crc64": str(found.crc64)}


def _output_link(ns: str, uri: str) -> dict[str, str]:
    """Where the console can show an oss:// output: its content URL and a preview kind."""
    if not uri.startswith("oss://") or "/" not in uri[6:]:
        return {}
    bucket, key = uri[6:].split("/", 1)
    lower = key.lower()
    kind = ("video" if lower.endswith((".mp4", ".mov", ".webm")) else
            "image" if lower.endswith((".gif", ".webp", ".jpg", ".jpeg", ".png")) else "file")
    query = f"key={quote(key)}&namespace={quote(ns)}"
    return {"url": f"/_emulator/console/buckets/{quote(bucket)}/content?{query}", "kind": kind}


def _task_request(runtime: Runtime, service: str, ns: str, listed: dict[str, Any]) -> Any:
    """The request a task was submitted with, as its service stored it."""
    from emulator.services.dashscope.model import TASK_KIND as DASHSCOPE_TASKS
    from emulator.services.imm.model import TASK_KIND as IMM_TASKS

    if service == "imm":
        doc = runtime.docs.get(IMM_TASKS, ns, f"{listed['project']}/{listed['task_id']}")
        return json.loads(doc["Definition"]) if doc and doc.get("Definition") else None
    if service == "dashscope":
        doc = runtime.docs.get(DASHSCOPE_TASKS, ns, listed["task_id"])
        if doc is None:
            return None
        inputs = {"image_url": doc["image_url"], "video_url": doc["video_url"]}
        return {"model": doc["model"], "input": inputs,
                "parameters": {"mode": doc["mode"], "watermark": doc["watermark"],
                               "check_image": doc["check_image"]}}
    return None
