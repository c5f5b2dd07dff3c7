"""OSS data-processing handlers: GET `?x-oss-process=...`, ProcessObject (POST `?x-oss-process`
with `|sys/saveas`), the style API, and the processing meter for /_emulator/billing.

Plain handlers `handler(ctx)`, listed in routes.py's TABLE. Parsing and limits are in
process.py, pixels in emulator.media.image / snapshot; the blocking work runs in the worker pool.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from emulator.core.errors import ServiceError
from emulator.core.pipeline import RequestContext
from emulator.core.runtime import Runtime
from emulator.media.ffmpeg import MediaError
from emulator.services.oss import process, styles, wire
from emulator.services.oss.bodies import read_small_body
from emulator.services.oss.model import OssModel, check_bucket_name, check_object_name

if TYPE_CHECKING:
    from emulator.media.image import Output

Ctx = RequestContext[OssModel]

USAGE_KIND = "oss-usage"
# What OSS bills data processing by: image processing per GB of source images, video snapshots
# per captured image.
BILLABLE_UNITS = {"ImageProcessing": "byte", "VideoSnapshot": "count"}
MAX_PROCESS_BODY = 64 * 1024


def _record(rt: Runtime, ns: str, bucket: str, item: str, quantity: int) -> None:
    with rt.docs.transaction():
        usage = rt.docs.get(USAGE_KIND, ns, bucket) or {}
        usage[item] = usage.get(item, 0) + quantity
        rt.docs.put(USAGE_KIND, ns, bucket, usage)


def billing(rt: Runtime, namespace: str | None) -> dict[str, Any]:
    namespaces = [namespace] if namespace else rt.docs.namespaces(USAGE_KIND)
    items = [{"namespace": ns, "bucket": bucket, "billable_item": item, "quantity": quantity,
              "unit": BILLABLE_UNITS[item]}
             for ns in namespaces for bucket, usage in rt.docs.scan(USAGE_KIND, ns)
             for item, quantity in sorted(usage.items())]
    return {"items": items}


def _job(ctx: Ctx, text: str) -> process.ImageJob | process.SnapshotJob:
    job = process.parse(text)
    if isinstance(job, process.StyleRef):
        ctx.model.get_bucket(ctx.ns, ctx.bucket)
        job = process.parse(styles.get_style(ctx.runtime, ctx.ns, ctx.bucket, job.name).content)
        assert not isinstance(job, process.StyleRef)  # a style's content is image/... (PutStyle)
    return job


async def _run(ctx: Ctx, job: process.ImageJob | process.SnapshotJob) -> Output:
    # Pillow (5 MB) loads with the first processed image, not with the server.
    from emulator.media.image import Output, WatermarkSource, process_image, watermark_job
    from emulator.media.snapshot import take_snapshot

    rt, model = ctx.runtime, ctx.model
    meta = model.head_object(ctx.ns, ctx.bucket, ctx.key)
    path = rt.blobs.path(meta.blob_id)
    if isinstance(job, process.SnapshotJob):
        try:
            data, _ = await rt.pool.run(take_snapshot, path, job.t_ms, job.fmt, job.w, job.h, job.fast,
                                        rt.data_dir)
        except MediaError as exc:
            raise process.bad_video(f"The object is not a video that can be decoded: {exc}") from None
        _record(rt, ctx.ns, ctx.bucket, "VideoSnapshot", 1)
        return Output(data, "image/jpeg" if job.fmt == "jpg" else "image/png")
    marks: dict[str, WatermarkSource] = {}
    for op in job.ops:
        if isinstance(op, process.Watermark) and op.image:
            key = op.image.split("?", 1)[0]
            try:
                mark = model.head_object(ctx.ns, ctx.bucket, key)
            except ServiceError:
                raise process.watermark_error(f"The watermark image {key!r} does not exist in the "
                                              "bucket.") from None
            marks[key] = WatermarkSource(rt.blobs.path(mark.blob_id), watermark_job(op.image))
    output = await rt.pool.run(process_image, Path(path), job, marks)
    _record(rt, ctx.ns, ctx.bucket, "ImageProcessing", meta.size)
    return output


def _answer(output: Output) -> Response:
    return Response(output.data, 200, media_type=output.content_type)


async def get_processed(ctx: Ctx) -> Response:
    """GET /bucket/key?x-oss-process=<process>: the processed bytes."""
    job = _job(ctx, ctx.query.get("x-oss-process", ""))
    return _answer(await _run(ctx, job))


async def process_object(ctx: Ctx) -> Response:
    """POST /bucket/key?x-oss-process with `x-oss-process=<process>[|sys/saveas,...]`."""
    if ctx.query.get("x-oss-process"):  # csv/select, json/select... (SelectObject)
        raise process.not_served(ctx.query["x-oss-process"])
    body = await read_small_body(ctx, MAX_PROCESS_BODY)
    text, save = process.parse_post_body(body)
    job = _job(ctx, text)
    if save is None:
        return _answer(await _run(ctx, job))
    bucket = save.bucket or ctx.bucket
    check_bucket_name(bucket)
    check_object_name(save.key)
    ctx.model.get_bucket(ctx.ns, bucket)
    output = await _run(ctx, job)
    meta = ctx.model.put_bytes(ctx.ns, bucket, save.key, output.data, output.content_type)
    body = {"bucket": bucket, "fileSize": meta.size, "object": save.key, "status": "OK"}
    return Response(json.dumps(body), 200, media_type="application/json")


# ---- styles ----------------------------------------------------------------------------------

def _style_name(ctx: Ctx) -> str:
    name = ctx.query.get("styleName", "")
    if not name:
        raise ServiceError(400, "MissingArgument", "Missing Some Required Arguments.",
                           ArgumentName="styleName")
    return name


def _fields(style: styles.Style) -> tuple[str, str, float, float, str]:
    return style.name, style.content, style.created, style.modified, style.category


def _xml(body: bytes) -> Response:
    return Response(body, 200, media_type=wire.XML_TYPE)


async def put_style(ctx: Ctx) -> Response:
    name = _style_name(ctx)
    body = await read_small_body(ctx, MAX_PROCESS_BODY)
    content = wire.parse_style(body)
    ctx.model.get_bucket(ctx.ns, ctx.bucket)
    styles.put_style(ctx.runtime, ctx.ns, ctx.bucket, name, content, ctx.query.get("category") or "image")
    return Response(status_code=200)


async def get_style(ctx: Ctx) -> Response:
    ctx.model.get_bucket(ctx.ns, ctx.bucket)
    if "styleName" not in ctx.query:  # ListStyle
        listed = styles.list_styles(ctx.runtime, ctx.ns, ctx.bucket)
        return _xml(wire.style_list_xml([_fields(s) for s in listed]))
    style = styles.get_style(ctx.runtime, ctx.ns, ctx.bucket, _style_name(ctx))
    return _xml(wire.style_xml(*_fields(style)))


async def delete_style(ctx: Ctx) -> Response:
    name = _style_name(ctx)
    ctx.model.get_bucket(ctx.ns, ctx.bucket)
    styles.delete_style(ctx.runtime, ctx.ns, ctx.bucket, name)
    return Response(status_code=204)
