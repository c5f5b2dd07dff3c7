"""AppendObject (`POST /bucket/key?append&position=N`).

The first append (position 0, no object, or a delete marker on top in a versioned bucket)
creates an Appendable object; each later one must name the current length. The appended object
is written as a new blob (old bytes, then the new ones) and replaces the old one in one
transaction, so a reader sees the object before or after an append, never half of one. In a
versioned bucket appends keep the version id (OSS makes no older version for them)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from starlette.responses import Response

from emulator.core.blobs import Blob, BlobStore
from emulator.core.errors import ServiceError
from emulator.core.pipeline import RequestContext
from emulator.services.oss import attributes, errors
from emulator.services.oss.documents import ObjectMeta
from emulator.services.oss.model import OssModel
from emulator.services.oss.storage import ARCHIVED, storage_class
from emulator.services.oss.uploads import content_type, receive_blob, stored_headers, user_meta

Ctx = RequestContext[OssModel]


def _concat(blobs: BlobStore, first: Path, second: Path) -> Blob:
    """A new blob: the bytes of `first` then of `second` (blocking: a worker's job)."""
    with blobs.writer() as writer:
        for path in (first, second):
            with open(path, "rb") as f:
                while chunk := f.read(1024 * 1024):
                    writer.write(chunk)
        return writer.commit()


def _current(ctx: Ctx) -> ObjectMeta | None:
    try:
        return ctx.model.head_object(ctx.ns, ctx.bucket, ctx.key)
    except ServiceError as err:
        if err.code == "NoSuchKey":
            return None
        raise


async def append_object(ctx: Ctx) -> Response:
    if "versionId" in ctx.query:
        raise errors.invalid_argument("AppendObject does not support the versionId parameter.", "versionId",
                                      ctx.query["versionId"])
    raw = ctx.query.get("position", "")
    if not raw.isdigit():
        raise errors.invalid_argument("The position is not a valid non-negative integer.", "position", raw)
    position = int(raw)

    def check(old: ObjectMeta | None) -> None:
        if old is None:
            if position != 0:
                raise errors.position_not_equal(0)
        elif old.object_type != "Appendable":
            raise errors.object_not_appendable()
        elif old.size != position:
            raise errors.position_not_equal(old.size)

    klass = storage_class(ctx.headers)
    if klass in ARCHIVED:
        raise errors.invalid_argument("An appendable object cannot be of an archive storage class.",
                                      "x-oss-storage-class", klass)
    headers = stored_headers(ctx.headers)
    asked = attributes.requested(ctx)  # x-oss-tagging, x-oss-object-acl: for the object a first append makes
    current = _current(ctx)
    check(current)
    part = await receive_blob(ctx)
    blobs = ctx.runtime.blobs
    if current is None:
        whole = part
        info = ctx.model.get_bucket(ctx.ns, ctx.bucket)
        base = ObjectMeta(bucket=ctx.bucket, key=ctx.key, size=0, etag="", crc64=0,
                          content_type=content_type(ctx.headers), last_modified=0, blob_id="",
                          object_type="Appendable", user_meta=user_meta(ctx.headers), headers=headers,
                          storage_class=klass or ("Standard" if info.storage_class in ARCHIVED
                                                  else info.storage_class), **asked)
    else:
        try:
            whole = await ctx.runtime.pool.run(_concat, blobs, blobs.path(current.blob_id),
                                               blobs.path(part.id))
        finally:
            blobs.delete(part.id)
        base = current
    meta = dataclasses.replace(base, size=whole.size, etag=f'"{whole.md5_hex.upper()}"', crc64=whole.crc64,
                               blob_id=whole.id, last_modified=ctx.runtime.clock.now())
    try:
        meta = ctx.model.commit_object(ctx.ns, meta, check=check, in_place=current is not None)
    except BaseException:
        blobs.delete(whole.id)
        raise
    answer = {"x-oss-next-append-position": str(meta.size), "x-oss-hash-crc64ecma": str(meta.crc64),
              "ETag": meta.etag}
    if meta.version_id:
        answer["x-oss-version-id"] = meta.version_id
    return Response(status_code=200, headers=answer)
