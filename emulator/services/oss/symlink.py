"""Symlinks: PutSymlink / GetSymlink, and reading an object through its link.

A link is an object of type Symlink with no data and a target key. GET/HEAD of the link read the
target's bytes: Content-Length, ETag and CRC-64 are the target's, Last-Modified the later of the
two, every other header the link's own (as OSS documents for GetObject). A link to a link is not
followed further."""

from __future__ import annotations

from urllib.parse import quote, unquote

from starlette.responses import Response

from emulator.core.errors import ServiceError
from emulator.core.pipeline import RequestContext
from emulator.core.timefmt import http_date
from emulator.services.oss import attributes, errors
from emulator.services.oss.bodies import read_small_body
from emulator.services.oss.documents import ObjectMeta
from emulator.services.oss.model import OssModel, check_object_name
from emulator.services.oss.storage import storage_class
from emulator.services.oss.uploads import content_type, stored_headers, user_meta

Ctx = RequestContext[OssModel]


def _target(ctx: Ctx) -> str:
    raw = ctx.headers.get("x-oss-symlink-target")
    if not raw:
        raise errors.missing_argument("x-oss-symlink-target")
    # oss2 percent-encodes the target; a header's bytes arrive as latin-1.
    target = unquote(raw.encode("latin-1").decode("utf-8", "replace"))
    try:
        check_object_name(target)
    except ServiceError:
        raise errors.invalid_argument("The symlink target is invalid.", "x-oss-symlink-target", raw) from None
    return target


async def put_symlink(ctx: Ctx) -> Response:
    target = _target(ctx)
    klass = storage_class(ctx.headers)
    asked = attributes.requested(ctx)
    await read_small_body(ctx)
    meta = ctx.model.put_object(
        ctx.ns, ctx.bucket, ctx.key, ctx.runtime.blobs.put_bytes(b""), content_type(ctx.headers),
        user_meta(ctx.headers), stored_headers(ctx.headers), "Symlink",
        forbid_overwrite=ctx.headers.get("x-oss-forbid-overwrite", "").lower() == "true",
        storage_class=klass, symlink_target=target)
    meta = attributes.give(ctx, meta, asked)
    headers = {"ETag": meta.etag}
    if meta.version_id:
        headers["x-oss-version-id"] = meta.version_id
    return Response(status_code=200, headers=headers)


async def get_symlink(ctx: Ctx) -> Response:
    meta = ctx.model.head_object(ctx.ns, ctx.bucket, ctx.key, ctx.query.get("versionId"))
    if meta.object_type != "Symlink" or meta.symlink_target is None:
        raise errors.not_symlink()
    headers = {"x-oss-symlink-target": quote(meta.symlink_target, safe="/"), "ETag": meta.etag,
               "Last-Modified": http_date(meta.last_modified)}
    headers.update({f"x-oss-meta-{k}": v for k, v in meta.user_meta.items()})
    if meta.version_id:
        headers["x-oss-version-id"] = meta.version_id
    return Response(status_code=200, headers=headers)


def resolve(model: OssModel, ns: str, link: ObjectMeta) -> ObjectMeta:
    """The object a link reads: its target's current version."""
    assert link.symlink_target is not None
    try:
        return model.head_object(ns, link.bucket, link.symlink_target)
    except ServiceError as err:
        if err.code == "NoSuchKey":
            raise errors.symlink_target_missing(link.symlink_target) from None
        raise


def through(link: ObjectMeta, target: ObjectMeta) -> dict[str, str]:
    """The headers of a read through a link that come from its target."""
    return {"ETag": target.etag, "x-oss-hash-crc64ecma": str(target.crc64),
            "Last-Modified": http_date(max(link.last_modified, target.last_modified))}
