"""What an upload request says about the object it makes: its body as a blob, its Content-Type,
user metadata and the headers stored with it (PutObject, Copy, Initiate, Append, PostObject,
PutSymlink)."""

from __future__ import annotations

from typing import Any

from emulator.core.blobs import Blob
from emulator.core.errors import ServiceError
from emulator.core.pipeline import RequestContext
from emulator.services.oss import errors, traffic
from emulator.services.oss.bodies import check_md5
from emulator.services.oss.storage import encryption

STORED_HEADERS = ("cache-control", "content-disposition", "content-encoding", "content-language", "expires")


def user_meta(headers: dict[str, str]) -> dict[str, str]:
    return {k[len("x-oss-meta-"):]: v for k, v in headers.items() if k.startswith("x-oss-meta-")}


def stored_headers(headers: dict[str, str]) -> dict[str, str]:
    """The standard headers kept with the object, and its server-side encryption (checked)."""
    return {**{k: v for k, v in headers.items() if k in STORED_HEADERS}, **encryption(headers)}


def content_type(headers: dict[str, str]) -> str:
    # OSS stores what the client sent, and application/octet-stream when it sent nothing (oss2 and
    # the v2 SDK guess from the extension themselves, before sending).
    return headers.get("content-type") or "application/octet-stream"


async def receive_blob(ctx: RequestContext[Any]) -> Blob:
    """Stream the request body into a blob, enforcing Content-Length, size and Content-MD5."""
    length = ctx.headers.get("content-length")
    chunked = "chunked" in ctx.headers.get("transfer-encoding", "").lower()
    if length is None and not chunked:
        raise errors.missing_content_length()
    limit = ctx.runtime.config.oss_max_object_size
    if length is not None and (not length.isdigit() or int(length) > limit):
        raise errors.entity_too_large("EntityTooLarge" if length.isdigit() else "InvalidArgument")
    rate = traffic.requested(ctx.headers, ctx.query)  # x-oss-traffic-limit
    with ctx.runtime.blobs.writer(max_size=limit) as writer:
        try:
            async for chunk in traffic.paced(ctx.request.stream(), rate):
                writer.write(chunk)
        except OverflowError as exc:
            raise errors.entity_too_large() from exc
        if length is not None and writer.size != int(length):
            raise errors.incomplete_body()
        blob = writer.commit()
    try:
        check_md5(ctx, blob.md5_hex)
    except ServiceError:
        ctx.runtime.blobs.delete(blob.id)
        raise
    return blob
