"""Static website hosting (PutBucketWebsite) for unsigned browser requests, as OSS serves it: the
bucket's root reads the index document (a signed GET of the root still lists objects), a `dir/`
reads `dir/<index>` (SupportSubDir) or the root's index, and a missing object answers the error
document with its HttpStatus (404 unless the rule says 200). The documents are ordinary objects,
read under the usual anonymous rules (public-read, Block Public Access)."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.responses import FileResponse, Response

from emulator.auth.oss import claimed_access_key
from emulator.core.accounts import DEFAULT_NAMESPACE
from emulator.core.errors import ServiceError
from emulator.core.pipeline import RequestContext
from emulator.core.xml import children, parse, text
from emulator.services.oss import access, bucket_config, errors
from emulator.services.oss.documents import ObjectMeta
from emulator.services.oss.model import OssModel

Ctx = RequestContext[OssModel]


@dataclass(frozen=True)
class Site:
    index: str | None  # IndexDocument/Suffix
    sub_dirs: bool  # IndexDocument/SupportSubDir
    error: str | None  # ErrorDocument/Key
    error_status: int  # ErrorDocument/HttpStatus


def _site(ctx: Ctx) -> Site | None:
    """The website an unsigned GET/HEAD of an existing bucket is served from, if any."""
    if ctx.method not in ("GET", "HEAD") or not ctx.bucket or "authorization" in ctx.headers \
            or claimed_access_key(ctx.headers, ctx.query) is not None \
            or not ctx.model.bucket_exists(DEFAULT_NAMESPACE, ctx.bucket):
        return None
    stored = bucket_config.get_stored(ctx.model, DEFAULT_NAMESPACE, ctx.bucket, "website")
    if stored is None:
        return None
    root = parse(stored.encode(), errors.malformed_xml)
    index, error = children(root, "IndexDocument"), children(root, "ErrorDocument")
    return Site(index=text(index[0], "Suffix") if index else None,
                sub_dirs=bool(index) and (text(index[0], "SupportSubDir") or "").lower() == "true",
                error=text(error[0], "Key") if error else None,
                error_status=int(text(error[0], "HttpStatus") or 404) if error else 404)


def route(ctx: Ctx) -> None:
    """Turn an unsigned GET of a website's root (or of a `dir/`) into a read of its index
    document, before the caller is checked (the index document's ACL then decides)."""
    root = ctx.operation == "ListObjects"
    sub_dir = ctx.operation in ("GetObject", "HeadObject") and ctx.key.endswith("/")
    if ctx.query or not (root or sub_dir):
        return
    site = _site(ctx)
    if site is None or site.index is None:
        return
    ctx.resources["key"] = ctx.key + site.index if sub_dir and site.sub_dirs else site.index
    ctx.operation = "GetObject" if ctx.method == "GET" else "HeadObject"


def error_page(ctx: Ctx, err: ServiceError) -> Response | None:
    """The error document answering an unsigned read of a missing object, when the bucket has
    one that anonymous callers may read."""
    if err.code != "NoSuchKey" or ctx.operation not in ("GetObject", "HeadObject"):
        return None
    site = _site(ctx)
    if site is None or site.error is None:
        return None
    try:
        meta: ObjectMeta = ctx.model.head_object(DEFAULT_NAMESPACE, ctx.bucket, site.error)
    except ServiceError:
        return None
    if bucket_config.public_access_blocked(ctx.model, DEFAULT_NAMESPACE, ctx.bucket) or \
            access.effective_acl(ctx.model, DEFAULT_NAMESPACE, ctx.bucket, site.error) == "private":
        return None
    page_headers = {"Content-Type": meta.content_type, "ETag": meta.etag}
    if ctx.method == "HEAD":
        return Response(status_code=site.error_status, headers={**page_headers,
                                                                "Content-Length": str(meta.size)})
    return FileResponse(ctx.model.blobs.path(meta.blob_id), status_code=site.error_status,
                        headers=page_headers)
