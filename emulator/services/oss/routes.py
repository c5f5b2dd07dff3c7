"""OSS routes: which handler serves a request, decided by (method, level, sub-resource).

Level is "service" (no bucket), "bucket" (no key) or "object". TABLE at the bottom is the whole
API; each handler is a plain `handler(ctx) -> Response`, thin glue between wire.py (formats) and
model.py (state). Errors come from errors.py.
"""

from __future__ import annotations

import base64
import json
import logging
import mimetypes
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import unquote

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from emulator.auth.oss import (
    AuthError,
    SignedRequest,
    claimed_access_key,
    parse_claim,
    post_access_key_id,
    query_pairs,
    verify_post_signature,
)
from emulator.core.accounts import DEFAULT_NAMESPACE, Credentials
from emulator.core.blobs import Blob
from emulator.core.errors import ServiceError
from emulator.core.pipeline import Handler, RequestContext, Service
from emulator.core.ports import Publisher
from emulator.core.runtime import Runtime
from emulator.core.timefmt import http_date, iso_whole_seconds, parse_http_date, parse_iso
from emulator.services.oss import (
    access,
    append,
    async_process,
    attributes,
    bucket_config,
    callback,
    compression,
    cors,
    default_sse,
    errors,
    lifecycle,
    processing,
    restore,
    seed,
    sequential,
    storage,
    subresources,
    symlink,
    tagging,
    traffic,
    versioning,
    website,
    wire,
)
from emulator.services.oss.bodies import read_small_body
from emulator.services.oss.documents import ObjectMeta
from emulator.services.oss.model import OssModel, check_bucket_name
from emulator.services.oss.uploads import content_type, receive_blob, stored_headers, user_meta

log = logging.getLogger("emulator.oss")

# Sub-resources that select an operation, in the order they are looked for.
OPERATIONS = ("uploads", "uploadId", "delete", "acl", "bucketInfo", "location", "objectMeta",
              "x-oss-process", "style", "x-oss-async-process", "versioning", "versions", "lifecycle",
              "symlink", "restore", "append") + (
              "tagging", "cors", "referer", "policy", "policyStatus", "logging", "website",
              "encryption", "publicAccessBlock", "regions")
ACLS = ("private", "public-read", "public-read-write")
CLIENT_SIDE_ENCRYPTION = "client-side-encryption-"


Ctx = RequestContext[OssModel]


def _level(ctx: Ctx) -> str:
    return "object" if ctx.key else ("bucket" if ctx.bucket else "service")


def _url_encoded(ctx: Ctx) -> bool:
    return ctx.query.get("encoding-type") == "url"


def _xml(body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(body, status, headers=headers, media_type=wire.XML_TYPE)


def _check_acl(acl: str | None, allowed: tuple[str, ...]) -> None:
    if acl is not None and acl not in allowed:
        raise errors.invalid_acl(acl)


def _object_headers(meta: ObjectMeta, now: float) -> dict[str, str]:
    headers = {
        "ETag": meta.etag, "Last-Modified": http_date(meta.last_modified),
        "x-oss-object-type": meta.object_type, "x-oss-storage-class": meta.storage_class,
        "x-oss-hash-crc64ecma": str(meta.crc64), "Accept-Ranges": "bytes",
        "Content-Type": meta.content_type,
    }
    headers.update({f"x-oss-meta-{k}": v for k, v in meta.user_meta.items()})
    headers.update({k if k.startswith("x-oss-") else k.title(): v for k, v in meta.headers.items()})
    headers.update(restore.header(meta, now))
    if meta.version_id:
        headers["x-oss-version-id"] = meta.version_id
    if meta.tags:
        headers["x-oss-tagging-count"] = str(len(meta.tags))
    return headers


def _written(meta: ObjectMeta, **extra: str) -> dict[str, str]:
    """The headers of an answer that stored an object (Put, Copy, Complete)."""
    headers = {"ETag": meta.etag, "x-oss-hash-crc64ecma": str(meta.crc64), **extra}
    headers.update({k: v for k, v in meta.headers.items() if k in storage.SSE_HEADERS})
    if meta.version_id:
        headers["x-oss-version-id"] = meta.version_id
    return headers


def _check_conditions(headers: dict[str, str], meta: ObjectMeta) -> None:
    etag = meta.etag.strip('"').upper()
    if "if-match" in headers and headers["if-match"].strip().strip('"').upper() != etag:
        raise errors.precondition_failed("If-Match")
    since = parse_http_date(headers.get("if-unmodified-since", ""))
    if since is not None and int(meta.last_modified) > since:
        raise errors.precondition_failed("If-Unmodified-Since")
    if "if-none-match" in headers and headers["if-none-match"].strip().strip('"').upper() == etag:
        raise errors.not_modified()
    since = parse_http_date(headers.get("if-modified-since", ""))
    if since is not None and int(meta.last_modified) <= since:
        raise errors.not_modified()


# ---- the pipeline's steps -------------------------------------------------------------------


async def parse(ctx: Ctx) -> None:
    """Bucket, key, sub-resource and operation from the request line; the claimed namespace."""
    bucket, key = wire.split_target(ctx.raw_path, ctx.headers.get("host", ""))
    ctx.resources.update({k: v for k, v in (("bucket", bucket), ("key", key)) if v})
    for k, v in query_pairs(ctx.raw_query):
        ctx.query.setdefault(k, v)
    creds = ctx.runtime.accounts.by_access_key(claimed_access_key(ctx.headers, ctx.query) or "")
    ctx.namespace = creds.namespace if creds else DEFAULT_NAMESPACE
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        ctx.error = errors.invalid_object_name()
        return
    found = operation(ctx.method, _level(ctx), ctx.query, ctx.headers)
    ctx.operation = found
    try:
        if bucket:
            check_bucket_name(bucket)
    except ServiceError as err:
        ctx.error = err
        return
    # Any other sub-resource OSS defines is refused, never taken for a plain operation.
    unsupported = subresources.first_unserved(ctx.query, SERVED)
    if unsupported:
        ctx.error = errors.not_implemented(unsupported)
    elif found is None:
        ctx.error = errors.method_not_allowed(ctx.method, _level(ctx))


async def admit(ctx: Ctx) -> None:
    if ctx.error is not None:
        raise ctx.error
    # A form upload carries its signature in the form; a CORS preflight is never signed.
    if ctx.operation not in ("PostObject", "OptionObject"):
        website.route(ctx)
        _authenticate(ctx)


def _authenticate(ctx: Ctx) -> None:
    signed = SignedRequest(ctx.method, ctx.raw_query, ctx.headers, ctx.bucket, ctx.key)
    try:
        claim = parse_claim(signed)
    except AuthError as err:
        raise ServiceError(403 if err.code != "InvalidArgument" else 400, err.code, err.message,
                           **err.details) from err
    verify = ctx.runtime.config.verify_signatures
    ctx.namespace = DEFAULT_NAMESPACE
    creds = ctx.runtime.accounts.by_access_key(claim.access_key_id) if claim else None
    if verify:
        _bucket_first(ctx, creds)
    if claim is None or "authorization" not in ctx.headers:
        access.check_referer(ctx, creds.namespace if creds else DEFAULT_NAMESPACE)
    if claim is None:
        if verify and not access.anonymous_allowed(ctx, ctx.method, _level(ctx)):
            raise errors.access_denied()
        return
    if creds is None:
        if verify:
            raise errors.invalid_access_key(claim.access_key_id)
        return
    if verify:
        if not claim.verify(creds.access_key_secret):
            raise errors.signature_mismatch(claim.access_key_id)
        now = ctx.runtime.clock.now()
        if claim.expires_at is not None and claim.expires_at < now:
            raise errors.access_denied("Request has expired.", Expires=iso_whole_seconds(claim.expires_at),
                                       ServerTime=iso_whole_seconds(now))
        skew = ctx.runtime.config.max_clock_skew_seconds
        if claim.signed_at is not None and skew and abs(claim.signed_at - time.time()) > skew:
            raise errors.time_too_skewed()
    ctx.namespace, ctx.credentials = creds.namespace, creds


def _bucket_first(ctx: Ctx, creds: Credentials | None) -> None:
    """OSS finds the bucket before it checks who asks: a missing bucket is 404 NoSuchBucket even
    for an unknown AccessKeyId or a wrong signature. An unknown key (or none) is judged against
    the default namespace only, so it never reveals a bucket of another namespace."""
    if ctx.bucket and ctx.operation != "PutBucket":
        ns = creds.namespace if creds else DEFAULT_NAMESPACE
        ctx.model.get_bucket(ns, ctx.bucket)


def render_error(ctx: Ctx, err: ServiceError) -> Response:
    details = dict(err.details)
    if ctx.bucket and err.code == "NoSuchBucket":
        details.setdefault("BucketName", ctx.bucket)
    page = website.error_page(ctx, err)
    if page is not None:
        return page
    rendered = ServiceError(err.status, err.code, err.message, **details)
    ec = wire.error_code_ec(rendered)
    body = wire.error_xml(rendered, ctx.request_id, ctx.headers.get("host", ""), ec)
    extra = {**(err.headers if isinstance(err, errors.HeadedError) else {}), "x-oss-ec": ec}
    if err.status == 304:
        return Response(status_code=304)
    if ctx.method == "HEAD":
        return Response(status_code=err.status, headers={"x-oss-err": wire.error_header(body), **extra})
    return _xml(body, err.status, extra)


def finish(ctx: Ctx, response: Response) -> None:
    response.headers["x-oss-request-id"] = ctx.request_id
    response.headers["Date"] = http_date(ctx.runtime.clock.now())
    response.headers["Server"] = "AliyunOSS"
    cors.decorate(ctx, response)


# ---- body helpers -------------------------------------------------------------------


# ---- service ------------------------------------------------------------------------


async def list_buckets(ctx: Ctx) -> Response:
    if ctx.credentials is None and ctx.runtime.config.verify_signatures:
        raise errors.access_denied("AccessDenied")
    prefix, marker = ctx.query.get("prefix", ""), ctx.query.get("marker", "")
    max_keys = _int_param(ctx, "max-keys", 100, 1, 1000)
    buckets, truncated = ctx.model.list_buckets(ctx.ns, prefix, marker, max_keys)
    return _xml(wire.list_buckets_xml(buckets, _owner(ctx), prefix, marker, max_keys, truncated))


def _owner(ctx: Ctx) -> str:
    return ctx.runtime.config.account_id if ctx.ns == DEFAULT_NAMESPACE else ctx.ns


def _int_param(ctx: Ctx, name: str, default: int, low: int, high: int) -> int:
    raw = ctx.query.get(name, "")
    if raw == "":
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise errors.integer_argument(name, raw, low, high)
    return int(raw)


# ---- buckets ------------------------------------------------------------------------


async def put_bucket(ctx: Ctx) -> Response:
    acl = ctx.headers.get("x-oss-acl")
    _check_acl(acl, ACLS)
    access.check_public_grant(ctx, acl)
    storage = wire.parse_create_bucket(await read_small_body(ctx))
    created = ctx.model.create_bucket(ctx.ns, ctx.bucket, acl or "private", storage)
    if not created and acl:
        ctx.model.set_bucket_acl(ctx.ns, ctx.bucket, acl)
    return Response(status_code=200, headers={"Location": f"/{ctx.bucket}"})


async def put_bucket_acl(ctx: Ctx) -> Response:
    acl = ctx.headers.get("x-oss-acl", "")
    _check_acl(acl, ACLS)
    ctx.model.get_bucket(ctx.ns, ctx.bucket)
    access.check_public_grant(ctx, acl)
    ctx.model.set_bucket_acl(ctx.ns, ctx.bucket, acl)
    return Response(status_code=200)


async def get_bucket_acl(ctx: Ctx) -> Response:
    return _xml(wire.acl_xml(ctx.model.get_bucket(ctx.ns, ctx.bucket).acl, _owner(ctx)))


async def get_bucket_info(ctx: Ctx) -> Response:
    info = ctx.model.get_bucket(ctx.ns, ctx.bucket)
    return _xml(wire.bucket_info_xml(info, _owner(ctx), **bucket_config.info_fields(ctx)))


async def head_bucket(ctx: Ctx) -> Response:
    ctx.model.get_bucket(ctx.ns, ctx.bucket)
    return Response(status_code=200)


async def get_bucket_location(ctx: Ctx) -> Response:
    return _xml(wire.location_xml(ctx.model.get_bucket(ctx.ns, ctx.bucket).region))


async def delete_bucket(ctx: Ctx) -> Response:
    ctx.model.delete_bucket(ctx.ns, ctx.bucket)
    lifecycle.forget(ctx.runtime.docs, ctx.ns, ctx.bucket)  # a new bucket of that name starts bare
    return Response(status_code=204)


async def list_objects(ctx: Ctx) -> Response:
    q = ctx.query
    prefix, delimiter = q.get("prefix", ""), q.get("delimiter", "")
    max_keys = _int_param(ctx, "max-keys", 100, 0, 1000)
    if q.get("encoding-type", "url") not in ("url", ""):
        raise errors.invalid_argument("The encoding-type must be url.", "encoding-type", q["encoding-type"])
    if q.get("list-type") == "2":
        token = q.get("continuation-token", "")
        start_after = q.get("start-after", "")
        after = start_after
        if token:
            try:
                after = base64.urlsafe_b64decode(token.encode()).decode()
            except (ValueError, UnicodeDecodeError) as exc:
                raise errors.invalid_argument("The continuation token provided is incorrect.",
                                              "continuation-token", token) from exc
        result = ctx.model.list_objects(ctx.ns, ctx.bucket, prefix, delimiter, after, max_keys)
        next_token = base64.urlsafe_b64encode(result.next_marker.encode()).decode() \
            if result.truncated else ""
        return _xml(wire.list_objects_xml(
            ctx.bucket, result, prefix, delimiter, max_keys, _url_encoded(ctx), _owner(ctx),
            v2=True, token=token, next_token=next_token, start_after=start_after,
            fetch_owner=q.get("fetch-owner") == "true"))
    marker = q.get("marker", "")
    result = ctx.model.list_objects(ctx.ns, ctx.bucket, prefix, delimiter, marker, max_keys)
    return _xml(wire.list_objects_xml(ctx.bucket, result, prefix, delimiter, max_keys,
                                      _url_encoded(ctx), _owner(ctx), v2=False, marker=marker))


async def delete_multiple(ctx: Ctx) -> Response:
    if "content-md5" not in ctx.headers:
        raise errors.missing_argument("Content-MD5")
    quiet, keys = wire.parse_delete(await read_small_body(ctx), _url_encoded(ctx))
    ctx.model.get_bucket(ctx.ns, ctx.bucket)
    deleted = []
    for key, version_id in keys:
        answered, marker = ctx.model.delete_object(ctx.ns, ctx.bucket, key, version_id)
        deleted.append(wire.Deleted(key, version_id, marker, answered if marker else None))
    return _xml(wire.delete_result_xml([] if quiet else deleted, _url_encoded(ctx)))


async def list_uploads(ctx: Ctx) -> Response:
    q = ctx.query
    prefix, delimiter = q.get("prefix", ""), q.get("delimiter", "")
    key_marker, upload_id_marker = q.get("key-marker", ""), q.get("upload-id-marker", "")
    max_uploads = _int_param(ctx, "max-uploads", 1000, 1, 1000)
    uploads, prefixes, truncated = ctx.model.list_uploads(ctx.ns, ctx.bucket, prefix, delimiter, key_marker,
                                                          upload_id_marker, max_uploads)
    return _xml(wire.list_uploads_xml(ctx.bucket, uploads, prefixes, truncated, prefix, delimiter, key_marker,
                                      upload_id_marker, max_uploads, _url_encoded(ctx)))


# ---- objects ------------------------------------------------------------------------


async def put_object(ctx: Ctx) -> Response:
    asked = attributes.requested(ctx)
    klass, kept = storage.storage_class(ctx.headers), stored_headers(ctx.headers)
    call_back = callback.requested(ctx.headers, ctx.query)
    ctx.model.get_bucket(ctx.ns, ctx.bucket)
    blob = await receive_blob(ctx)
    meta = ctx.model.put_object(
        ctx.ns, ctx.bucket, ctx.key, blob, content_type(ctx.headers), user_meta(ctx.headers), kept,
        forbid_overwrite=ctx.headers.get("x-oss-forbid-overwrite", "").lower() == "true",
        storage_class=klass)
    meta = attributes.give(ctx, meta, asked)
    content_md5 = base64.b64encode(bytes.fromhex(blob.md5_hex)).decode()
    headers = _written(meta, **{"Content-MD5": content_md5})
    if call_back:
        return await callback.answer(ctx, call_back, meta, headers, content_md5)
    return Response(status_code=200, headers=headers)


def _copy_source(ctx: Ctx) -> tuple[str, str, ObjectMeta]:
    """The bucket, key and metadata x-oss-copy-source names (`?versionId=` picks a version), its
    copy conditions checked; an archived source must be restored."""
    source, _, query = ctx.headers["x-oss-copy-source"].partition("?")
    version_id = None
    if query:
        name, _, value = query.partition("=")
        if name != "versionId" or not value:
            raise errors.invalid_argument("The x-oss-copy-source is invalid.", "x-oss-copy-source",
                                          ctx.headers["x-oss-copy-source"])
        version_id = unquote(value)
    src_bucket, _, src_key = source.lstrip("/").partition("/")
    src_bucket, src_key = unquote(src_bucket), unquote(src_key)
    if not src_bucket or not src_key:
        raise errors.invalid_argument("Copy Source must mention the source bucket and key: "
                                      "/sourcebucket/sourcekey.", "x-oss-copy-source",
                                      ctx.headers["x-oss-copy-source"])
    src = ctx.model.head_object(ctx.ns, src_bucket, src_key, version_id)
    restore.check_readable(src, ctx.runtime.clock.now())
    _check_conditions({k.replace("x-oss-copy-source-", ""): v for k, v in ctx.headers.items()
                       if k.startswith("x-oss-copy-source-if-")}, src)
    return src_bucket, src_key, src


async def copy_object(ctx: Ctx) -> Response:
    directive = ctx.headers.get("x-oss-metadata-directive", "COPY").upper()
    if directive not in ("COPY", "REPLACE"):
        raise errors.invalid_argument("Unknown metadata directive.", "x-oss-metadata-directive",
                                      directive)
    tag_directive = ctx.headers.get("x-oss-tagging-directive", "Copy")
    if tag_directive.upper() not in ("COPY", "REPLACE"):
        raise errors.invalid_argument("Unknown tagging directive.", "x-oss-tagging-directive",
                                      tag_directive)
    asked = attributes.requested(ctx)
    klass = storage.storage_class(ctx.headers)
    src_bucket, src_key, src = _copy_source(ctx)
    if tag_directive.upper() == "COPY":
        asked["tags"] = src.tags
    async for _ in ctx.request.stream():
        pass
    replace = directive == "REPLACE"
    meta_given = user_meta(ctx.headers)
    if replace:  # OSS keeps a client-side-encrypted source's key material (bug 10)
        meta_given = {**{k: v for k, v in src.user_meta.items() if k.startswith(CLIENT_SIDE_ENCRYPTION)},
                      **meta_given}
    kept = stored_headers(ctx.headers) if replace else storage.encryption(ctx.headers)
    meta = ctx.model.copy_object(
        ctx.ns, src_bucket, src_key, ctx.bucket, ctx.key, replace,
        ctx.headers.get("content-type"), meta_given, kept, src_version=src.version_id,
        storage_class=klass)
    meta = attributes.give(ctx, meta, asked)
    extra = {"x-oss-copy-source-version-id": src.version_id} if src.version_id else {}
    return _xml(wire.copy_result_xml(meta), headers=_written(meta, **extra))


async def get_object(ctx: Ctx) -> Response:
    rate = traffic.requested(ctx.headers, ctx.query)
    await ctx.model.produce_missing(ctx.ns, ctx.bucket, ctx.key)
    link = ctx.model.head_object(ctx.ns, ctx.bucket, ctx.key, versioning.version_param(ctx))
    now = ctx.runtime.clock.now()
    meta = symlink.resolve(ctx.model, ctx.ns, link) if link.object_type == "Symlink" else link
    restore.check_readable(meta, now)
    _check_conditions(ctx.headers, meta)
    headers = _object_headers(link, now)
    if meta is not link:
        headers.update(symlink.through(link, meta))
    for param, header in (("response-content-type", "Content-Type"),
                          ("response-content-disposition", "Content-Disposition"),
                          ("response-cache-control", "Cache-Control"),
                          ("response-content-encoding", "Content-Encoding"),
                          ("response-content-language", "Content-Language"),
                          ("response-expires", "Expires")):
        if param in ctx.query:
            headers[header] = ctx.query[param]
    start, end, status = 0, meta.size - 1, 200
    if "range" in ctx.headers:
        try:
            span = wire.parse_range(ctx.headers["range"], meta.size)
        except ValueError:
            if ctx.headers.get("x-oss-range-behavior") == "standard":
                raise errors.invalid_range(ctx.headers["range"], meta.size) from None
            span = None
        if span is not None:
            (start, end), status = span, 206
            headers["Content-Range"] = f"bytes {start}-{end}/{meta.size}"
    headers["Content-Length"] = str(max(0, end - start + 1))
    path = ctx.runtime.blobs.path(meta.blob_id)
    if status == 200 and compression.wanted(ctx.headers, meta):
        return await compression.gzipped(ctx.runtime, path, headers)
    # The stored Content-Type as it is: passed as media_type, Starlette would add a charset to text/*.
    return StreamingResponse(traffic.paced(_file_range(path, start, end), rate), status, headers=headers)


async def head_object(ctx: Ctx) -> Response:
    link = ctx.model.head_object(ctx.ns, ctx.bucket, ctx.key, versioning.version_param(ctx))
    meta = symlink.resolve(ctx.model, ctx.ns, link) if link.object_type == "Symlink" else link
    _check_conditions(ctx.headers, meta)
    headers = _object_headers(link, ctx.runtime.clock.now())
    if meta is not link:
        headers.update(symlink.through(link, meta))
    headers["Content-Length"] = str(meta.size)
    return Response(status_code=200, headers=headers)


async def get_object_meta(ctx: Ctx) -> Response:
    meta = ctx.model.head_object(ctx.ns, ctx.bucket, ctx.key, versioning.version_param(ctx))
    headers = {"ETag": meta.etag, "x-oss-hash-crc64ecma": str(meta.crc64),
               "Last-Modified": http_date(meta.last_modified),
               "x-oss-last-access-time": http_date(meta.last_modified)}
    if ctx.method == "HEAD":  # a GET has no body: announcing the object's size would break the connection
        headers["Content-Length"] = str(meta.size)
    if meta.version_id:
        headers["x-oss-version-id"] = meta.version_id
    return Response(status_code=200, headers=headers)


async def delete_object(ctx: Ctx) -> Response:
    version_id, marker = ctx.model.delete_object(ctx.ns, ctx.bucket, ctx.key, versioning.version_param(ctx))
    headers = {"x-oss-version-id": version_id} if version_id else {}
    if marker:
        headers["x-oss-delete-marker"] = "true"
    return Response(status_code=204, headers=headers)


# ---- multipart ----------------------------------------------------------------------


async def initiate_upload(ctx: Ctx) -> Response:
    asked = attributes.requested(ctx)
    klass, kept = storage.storage_class(ctx.headers), stored_headers(ctx.headers)
    kept = default_sse.applied(ctx.runtime.docs, ctx.ns, ctx.bucket, kept)
    await read_small_body(ctx)
    upload_id = ctx.model.initiate_upload(ctx.ns, ctx.bucket, ctx.key,
                                           content_type(ctx.headers),
                                           user_meta(ctx.headers), kept,
                                           sequential=sequential.QUERY in ctx.query, storage_class=klass)
    if asked:
        ctx.model.set_upload_fields(ctx.ns, ctx.bucket, upload_id, attributes=asked)
    echo = {k: v for k, v in kept.items() if k in storage.SSE_HEADERS}
    return _xml(wire.initiate_xml(ctx.bucket, ctx.key, upload_id, _url_encoded(ctx)), headers=echo)


def _part_number(ctx: Ctx) -> int:
    raw = ctx.query.get("partNumber", "")
    if not raw.isdigit() or not 1 <= int(raw) <= 10000:
        raise errors.invalid_argument("Part number must be an integer between 1 and 10000, inclusive.",
                                      "partNumber", raw)
    return int(raw)


async def upload_part(ctx: Ctx) -> Response:
    number = _part_number(ctx)
    upload_id = ctx.query["uploadId"]
    upload = ctx.model.get_upload(ctx.ns, ctx.bucket, ctx.key, upload_id)
    sequential.check_part(upload, (p["number"] for p in ctx.model.list_parts(ctx.ns, ctx.bucket, ctx.key,
                                                                          upload_id)), number)
    copying = "x-oss-copy-source" in ctx.headers
    blob = await (_copied_part(ctx) if copying else receive_blob(ctx))
    part = ctx.model.upload_part(ctx.ns, ctx.bucket, ctx.key, upload_id, number, blob)
    headers = {"ETag": part["etag"], "x-oss-hash-crc64ecma": str(part["crc64"]),
               "Content-MD5": base64.b64encode(bytes.fromhex(blob.md5_hex)).decode(),
               **{k: v for k, v in upload["headers"].items() if k in storage.SSE_HEADERS}}
    if copying:
        return _xml(wire.copy_part_xml(part["etag"], part["last_modified"]), headers=headers)
    return Response(status_code=200, headers=headers)


async def _copied_part(ctx: Ctx) -> Blob:
    """UploadPartCopy: the bytes of x-oss-copy-source (its x-oss-copy-source-range only) as a part."""
    src_bucket, src_key, src = _copy_source(ctx)
    start, end = 0, src.size - 1
    if "x-oss-copy-source-range" in ctx.headers:
        try:
            span = wire.parse_range(ctx.headers["x-oss-copy-source-range"], src.size)
        except ValueError:
            raise errors.invalid_argument("The x-oss-copy-source-range is invalid.",
                                          "x-oss-copy-source-range",
                                          ctx.headers["x-oss-copy-source-range"]) from None
        start, end = span if span else (start, end)
    if end - start + 1 > ctx.runtime.config.oss_max_object_size:
        raise errors.entity_too_large()
    async for _ in ctx.request.stream():
        pass
    path = ctx.model.object_path(ctx.ns, src_bucket, src_key)
    return await ctx.runtime.pool.run(ctx.runtime.blobs.copy_range, path, start, end - start + 1)


async def list_parts(ctx: Ctx) -> Response:
    upload_id = ctx.query["uploadId"]
    marker = _int_param(ctx, "part-number-marker", 0, 0, 10000)
    max_parts = _int_param(ctx, "max-parts", 1000, 1, 1000)
    parts = [p for p in ctx.model.list_parts(ctx.ns, ctx.bucket, ctx.key, upload_id)
             if p["number"] > marker]
    truncated = len(parts) > max_parts
    return _xml(wire.list_parts_xml(ctx.bucket, ctx.key, upload_id, parts[:max_parts], marker,
                                    max_parts, truncated, _url_encoded(ctx)))


async def complete_upload(ctx: Ctx) -> Response:
    upload_id = ctx.query["uploadId"]
    body = await read_small_body(ctx)
    complete_all = ctx.headers.get("x-oss-complete-all", "").lower() == "yes"
    if complete_all and body.strip():
        raise errors.invalid_argument("Should not specify both complete all header and body.",
                                      "x-oss-complete-all", "yes")
    call_back = callback.requested(ctx.headers, ctx.query)
    upload = ctx.model.get_upload(ctx.ns, ctx.bucket, ctx.key, upload_id)
    parts = None if complete_all else wire.parse_complete(body)
    meta = ctx.model.complete_upload(ctx.ns, ctx.bucket, ctx.key, upload_id, parts)
    meta = attributes.give(ctx, meta, upload.get("attributes", {}))
    headers = _written(meta)
    if call_back:
        return await callback.answer(ctx, call_back, meta, headers)
    return _xml(wire.complete_xml(ctx.base_url, meta, _url_encoded(ctx)), headers=headers)


async def abort_upload(ctx: Ctx) -> Response:
    ctx.model.abort_upload(ctx.ns, ctx.bucket, ctx.key, ctx.query["uploadId"])
    return Response(status_code=204)


# ---- PostObject (browser / DashScope uploads) ---------------------------------------


async def post_object(ctx: Ctx) -> Response:
    try:
        form_data = await ctx.request.form(max_files=1, max_fields=100)
    except Exception as exc:  # python-multipart raises several kinds on a broken body
        raise errors.malformed_post() from exc
    try:
        items = list(form_data.multi_items())
        upload = next((v for k, v in items if k.lower() == "file"), None)
        if not isinstance(upload, UploadFile):
            raise errors.invalid_argument("Bucket POST must contain a field named 'file'.", "file")
        if items[-1][0].lower() != "file":
            raise errors.invalid_argument("The file field must be the last field in the form.", "file")
        form = {k.lower(): v for k, v in items if isinstance(v, str)}
        for name, value in form.items():
            if len(value.encode()) > 8192:
                raise errors.field_too_long(name)
        key = form.get("key", "").replace("${filename}", upload.filename or "")
        if not key:
            raise errors.invalid_argument("Bucket POST must contain a field named 'key'.", "key")
        creds, length_range = _authenticate_post(ctx, form, key)
        ctx.namespace = creds.namespace if creds else DEFAULT_NAMESPACE
        asked = attributes.requested(ctx, form)
        ctx.model.get_bucket(ctx.ns, ctx.bucket)
        status = form.get("success_action_status", "204")
        if status not in ("200", "201", "204"):
            status = "204"
        call_back = callback.from_form(form)
        forbid = form.get("x-oss-forbid-overwrite", "false").lower()
        if forbid not in ("true", "false"):
            raise errors.invalid_argument("Invalid x-oss-forbid-overwrite.", "x-oss-forbid-overwrite",
                                          forbid)
        limit = ctx.runtime.config.oss_max_object_size
        with ctx.runtime.blobs.writer(max_size=limit) as writer:
            try:
                while chunk := await upload.read(1024 * 1024):
                    writer.write(chunk)
            except OverflowError as exc:
                raise errors.entity_too_large() from exc
            if length_range is not None:
                _check_length_range(length_range, writer.size)
            blob = writer.commit()
    finally:
        await form_data.close()
    content_type = (form.get("content-type") or form.get("x-oss-content-type")
                    or (upload.headers.get("content-type") if upload.headers else None)
                    or mimetypes.guess_type(key)[0])
    meta = ctx.model.put_object(ctx.ns, ctx.bucket, key, blob, content_type, user_meta(form),
                                 stored_headers(form), forbid_overwrite=forbid == "true")
    meta = attributes.give(ctx, meta, asked)
    headers = _written(meta)
    if call_back:
        return await callback.answer(ctx, call_back, meta, headers,
                                     base64.b64encode(bytes.fromhex(blob.md5_hex)).decode())
    if status == "201":
        location = f"{ctx.base_url}/{ctx.bucket}/{key}"
        return _xml(wire.post_response_xml(meta, location), 201, headers)
    return Response(status_code=int(status), headers=headers)


def _authenticate_post(ctx: Ctx, form: dict[str, str],
                       key: str) -> tuple[Credentials | None, tuple[int, int] | None]:
    """Who posts, and the policy's content-length-range (None: no limit, or nothing checked)."""
    ak = post_access_key_id(form)
    verify = ctx.runtime.config.verify_signatures
    if verify:
        _bucket_first(ctx, ctx.runtime.accounts.by_access_key(ak or ""))
    if ak is None:
        if verify and not access.anonymous_allowed(ctx, "PUT", "object"):
            raise errors.access_denied()
        return None, None
    creds = ctx.runtime.accounts.by_access_key(ak)
    if not verify:
        return creds, None
    if creds is None:
        raise errors.invalid_access_key(ak)
    if "policy" not in form:
        raise errors.invalid_argument("Bucket POST must contain a field named 'policy'.", "policy")
    if not verify_post_signature(form, creds.access_key_secret):
        raise errors.signature_mismatch(ak, "")
    return creds, _check_policy(ctx, form, ctx.bucket, key)


def _check_policy(ctx: Ctx, form: dict[str, str], bucket: str, key: str) -> tuple[int, int] | None:
    """Expiry and every condition but the size; the content-length-range, checked once the
    file has arrived."""
    try:
        policy = json.loads(base64.b64decode(form["policy"], validate=True))
        expiration = parse_iso(policy["expiration"])
        conditions = policy.get("conditions", [])
        if not isinstance(conditions, list):
            raise TypeError(conditions)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise errors.invalid_policy("Invalid JSON.") from exc
    if expiration < ctx.runtime.clock.now():
        raise errors.access_denied("Invalid according to Policy: Policy expired.")
    values = {**form, "key": key, "bucket": bucket}
    length_range = None
    for condition in conditions:
        if isinstance(condition, dict):
            checks = [("eq", "$" + k, v) for k, v in condition.items()]
        elif isinstance(condition, list) and len(condition) == 3:
            checks = [tuple(condition)]
        else:
            raise errors.invalid_policy("Invalid Simple-Condition.")
        for op, field, expected in checks:
            op = str(op).lower()
            if op == "content-length-range":
                if not all(isinstance(v, int) and not isinstance(v, bool) for v in (field, expected)):
                    raise errors.invalid_policy("Invalid content-length-range.")
                length_range = (field, expected)
                continue
            actual = values.get(str(field).lstrip("$").lower(), "")
            ok = (actual == expected if op == "eq" else
                  actual.startswith(str(expected)) if op == "starts-with" else
                  actual in expected if op == "in" and isinstance(expected, list) else
                  actual not in expected if op == "not-in" and isinstance(expected, list) else None)
            if ok is None:
                raise errors.invalid_policy(f"Invalid condition {op!r}.")
            if not ok:
                raise errors.access_denied("Invalid according to Policy: Policy Condition failed: "
                                           f"[\"{op}\", \"{field}\", \"{expected}\"]")
    return length_range


def _check_length_range(length_range: tuple[int, int], size: int) -> None:
    low, high = length_range
    if not low <= size <= high:
        raise errors.size_out_of_range(low, high, size)


async def _file_range(path, start: int, end: int) -> AsyncIterator[bytes]:
    with open(path, "rb") as f:
        f.seek(start)
        remaining = end - start + 1
        while remaining > 0:
            chunk = f.read(min(remaining, 1024 * 1024))
            if not chunk:
                return
            remaining -= len(chunk)
            yield chunk


# (method, level, sub-resource) -> operation and handler: the whole API. PostObject, CopyObject and
# ListObjectsV2 are told apart from their neighbours by operation() below.
TABLE: list[tuple[str, str, str | None, str, Handler]] = [
    ("GET", "service", None, "ListBuckets", list_buckets),
    ("PUT", "bucket", None, "PutBucket", put_bucket),
    ("PUT", "bucket", "acl", "PutBucketAcl", put_bucket_acl),
    ("GET", "bucket", "acl", "GetBucketAcl", get_bucket_acl),
    ("GET", "bucket", "bucketInfo", "GetBucketInfo", get_bucket_info),
    ("GET", "bucket", "location", "GetBucketLocation", get_bucket_location),
    ("HEAD", "bucket", None, "HeadBucket", head_bucket),
    ("GET", "bucket", None, "ListObjects", list_objects),
    ("DELETE", "bucket", None, "DeleteBucket", delete_bucket),
    ("POST", "bucket", "delete", "DeleteMultipleObjects", delete_multiple),
    ("GET", "bucket", "uploads", "ListMultipartUploads", list_uploads),
    ("PUT", "object", None, "PutObject", put_object),
    ("GET", "object", None, "GetObject", get_object),
    ("HEAD", "object", None, "HeadObject", head_object),
    ("HEAD", "object", "objectMeta", "GetObjectMeta", get_object_meta),
    ("GET", "object", "objectMeta", "GetObjectMeta", get_object_meta),
    ("GET", "object", "acl", "GetObjectAcl", access.get_object_acl),
    ("PUT", "object", "acl", "PutObjectAcl", access.put_object_acl),
    ("DELETE", "object", None, "DeleteObject", delete_object),
    ("POST", "object", "uploads", "InitiateMultipartUpload", initiate_upload),
    ("PUT", "object", "uploadId", "UploadPart", upload_part),
    ("GET", "object", "uploadId", "ListParts", list_parts),
    ("POST", "object", "uploadId", "CompleteMultipartUpload", complete_upload),
    ("DELETE", "object", "uploadId", "AbortMultipartUpload", abort_upload),
    ("POST", "bucket", None, "PostObject", post_object),
    # Data processing (processing.py, async_process.py).
    ("GET", "object", "x-oss-process", "GetProcessedObject", processing.get_processed),
    ("HEAD", "object", "x-oss-process", "HeadObject", head_object),
    ("POST", "object", "x-oss-process", "ProcessObject", processing.process_object),
    ("PUT", "bucket", "style", "PutStyle", processing.put_style),
    ("GET", "bucket", "style", "GetStyle", processing.get_style),
    ("DELETE", "bucket", "style", "DeleteStyle", processing.delete_style),
    ("POST", "object", "x-oss-async-process", "AsyncProcessObject", async_process.async_process_object),
    # Tagging (tagging.py), CORS (cors.py), bucket configurations and regions (bucket_config.py).
    ("PUT", "object", "tagging", "PutObjectTagging", tagging.put_object_tagging),
    ("GET", "object", "tagging", "GetObjectTagging", tagging.get_object_tagging),
    ("DELETE", "object", "tagging", "DeleteObjectTagging", tagging.delete_object_tagging),
    ("PUT", "bucket", "tagging", "PutBucketTags", tagging.put_bucket_tags),
    ("GET", "bucket", "tagging", "GetBucketTags", tagging.get_bucket_tags),
    ("DELETE", "bucket", "tagging", "DeleteBucketTags", tagging.delete_bucket_tags),
    ("PUT", "bucket", "cors", "PutBucketCors", cors.put_bucket_cors),
    ("GET", "bucket", "cors", "GetBucketCors", cors.get_bucket_cors),
    ("DELETE", "bucket", "cors", "DeleteBucketCors", cors.delete_bucket_cors),
    ("OPTIONS", "object", None, "OptionObject", cors.preflight),
    ("OPTIONS", "bucket", None, "OptionObject", cors.preflight),
    ("PUT", "bucket", "referer", "PutBucketReferer", bucket_config.put_referer),
    ("GET", "bucket", "referer", "GetBucketReferer", bucket_config.get_referer),
    ("PUT", "bucket", "policy", "PutBucketPolicy", bucket_config.put_policy),
    ("GET", "bucket", "policy", "GetBucketPolicy", bucket_config.get_policy),
    ("DELETE", "bucket", "policy", "DeleteBucketPolicy", bucket_config.delete_policy),
    ("GET", "bucket", "policyStatus", "GetBucketPolicyStatus", bucket_config.get_policy_status),
    ("PUT", "bucket", "logging", "PutBucketLogging", bucket_config.put_logging),
    ("GET", "bucket", "logging", "GetBucketLogging", bucket_config.get_logging),
    ("DELETE", "bucket", "logging", "DeleteBucketLogging", bucket_config.delete_logging),
    ("PUT", "bucket", "website", "PutBucketWebsite", bucket_config.put_website),
    ("GET", "bucket", "website", "GetBucketWebsite", bucket_config.get_website),
    ("DELETE", "bucket", "website", "DeleteBucketWebsite", bucket_config.delete_website),
    ("PUT", "bucket", "encryption", "PutBucketEncryption", bucket_config.put_encryption),
    ("GET", "bucket", "encryption", "GetBucketEncryption", bucket_config.get_encryption),
    ("DELETE", "bucket", "encryption", "DeleteBucketEncryption", bucket_config.delete_encryption),
    ("PUT", "bucket", "publicAccessBlock", "PutBucketPublicAccessBlock", bucket_config.put_bucket_block),
    ("GET", "bucket", "publicAccessBlock", "GetBucketPublicAccessBlock", bucket_config.get_bucket_block),
    ("DELETE", "bucket", "publicAccessBlock", "DeleteBucketPublicAccessBlock",
     bucket_config.delete_bucket_block),
    ("PUT", "service", "publicAccessBlock", "PutPublicAccessBlock", bucket_config.put_account_block),
    ("GET", "service", "publicAccessBlock", "GetPublicAccessBlock", bucket_config.get_account_block),
    ("DELETE", "service", "publicAccessBlock", "DeletePublicAccessBlock",
     bucket_config.delete_account_block),
    ("GET", "service", "regions", "DescribeRegions", bucket_config.describe_regions),
    # Versioning, lifecycle, archives, appends, symlinks (their own modules).
    ("PUT", "bucket", "versioning", "PutBucketVersioning", versioning.put_bucket_versioning),
    ("GET", "bucket", "versioning", "GetBucketVersioning", versioning.get_bucket_versioning),
    ("GET", "bucket", "versions", "ListObjectVersions", versioning.list_object_versions),
    ("PUT", "bucket", "lifecycle", "PutBucketLifecycle", lifecycle.put_bucket_lifecycle),
    ("GET", "bucket", "lifecycle", "GetBucketLifecycle", lifecycle.get_bucket_lifecycle),
    ("DELETE", "bucket", "lifecycle", "DeleteBucketLifecycle", lifecycle.delete_bucket_lifecycle),
    ("POST", "object", "restore", "RestoreObject", restore.restore_object),
    ("POST", "object", "append", "AppendObject", append.append_object),
    ("PUT", "object", "symlink", "PutSymlink", symlink.put_symlink),
    ("GET", "object", "symlink", "GetSymlink", symlink.get_symlink),
]
SERVED = frozenset(sub for _, _, sub, _, _ in TABLE if sub)
_BY_REQUEST = {(method, level, sub): name for method, level, sub, name, _ in TABLE}
ROUTES: dict[str, Handler] = {name: handler for *_, name, handler in TABLE}
ROUTES.update(CopyObject=copy_object, ListObjectsV2=list_objects, ListStyle=processing.get_style)


def operation(method: str, level: str, query: dict[str, str], headers: dict[str, str]) -> str | None:
    """The OSS operation a request asks for, from the route table."""
    sub = next((s for s in OPERATIONS if s in query), None)
    name = _BY_REQUEST.get((method, level, sub))
    if name == "PostObject" and not headers.get("content-type", "").startswith("multipart/form-data"):
        return None
    if name == "PutObject" and "x-oss-copy-source" in headers:
        return "CopyObject"
    if name == "ListObjects" and query.get("list-type") == "2":
        return "ListObjectsV2"
    if name == "GetStyle" and "styleName" not in query:
        return "ListStyle"
    return name


def build_oss(runtime: Runtime, publisher: Publisher | None = None) -> Service[OssModel]:
    model = OssModel(runtime)
    processor = model.async_processor = async_process.AsyncProcessor(runtime, model, publisher)
    expiry = lifecycle.LifecycleRunner(model)

    async def startup() -> None:
        await processor.resume()
        await expiry.start()

    async def shutdown() -> None:
        await expiry.close()
        await processor.close()

    def reset(namespace: str | None) -> None:
        processor.cancel(namespace)
        model.drop_namespace_blobs(namespace)

    runtime.faults.register_match_fields("oss", ("bucket", "task_type"))  # task_type: of an async task
    seed.register(runtime, model)
    throttled = errors.throttled()

    def info() -> dict[str, Any]:
        return {"status": "running", "signatures": ["V1", "V2", "V4"],
                "verify_signatures": runtime.config.verify_signatures}

    async def callback_public_key(request: Request) -> Response:
        # What an upload callback's x-oss-pub-key-url names (open: callback servers fetch it).
        pem = await runtime.pool.run(callback.public_key_pem, runtime.data_dir)
        return Response(pem, media_type="application/x-pem-file")

    return Service(
        "oss", model, parse=parse, admit=admit, routes=ROUTES, render_error=render_error, finish=finish,
        reset=reset, info=info, media_type=wire.XML_TYPE,
        billing=lambda namespace: processing.billing(runtime, namespace),
        startup=startup, shutdown=shutdown, tasks=processor.tasks,
        throttle=(throttled.status, throttled.code, throttled.message, None),
        admin_files={callback.PUBLIC_KEY_PATH: callback_public_key})
