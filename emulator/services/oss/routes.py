"""OSS routes: which handler serves a request, decided by (method, level, sub-resource).

Level is "service" (no bucket), "bucket" (no key) or "object". The route table at the bottom is
the whole API; each handler is thin glue between wire.py (formats) and model.py (state).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import mimetypes
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import unquote

from starlette.datastructures import UploadFile
from starlette.requests import ClientDisconnect, Request
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
from emulator.core.runtime import Runtime
from emulator.core.service import Built, ServiceHandle
from emulator.services.oss import async_process, processing, wire
from emulator.services.oss.model import ObjectMeta, OssModel, check_bucket_name

log = logging.getLogger("emulator.oss")

# Sub-resources that select an operation, in the order they are looked for.
OPERATIONS = ("uploads", "uploadId", "delete", "acl", "bucketInfo", "location", "objectMeta",
              "x-oss-process", "style", "x-oss-async-process")
# Real OSS sub-resources this emulator does not serve: answered with NotImplemented, not ignored.
UNSUPPORTED = frozenset("""cors lifecycle website logging referer policy tagging versioning versions
 encryption replication inventory worm symlink restore append stat qos requestPayment
 transferAcceleration cname metaQuery""".split())
STORED_HEADERS = ("cache-control", "content-disposition", "content-encoding", "content-language", "expires")
ACLS = ("private", "public-read", "public-read-write")
OBJECT_ACLS = ACLS + ("default",)


@dataclass
class Call:
    request: Request
    method: str
    bucket: str
    key: str
    raw_query: str
    query: dict[str, str]
    headers: dict[str, str]
    request_id: str
    ns: str = DEFAULT_NAMESPACE
    creds: Credentials | None = None

    @property
    def url_encoded(self) -> bool:
        return self.query.get("encoding-type") == "url"

    @property
    def base_url(self) -> str:
        return f"{self.request.url.scheme}://{self.request.headers.get('host', '')}"

    @property
    def level(self) -> str:
        return "object" if self.key else ("bucket" if self.bucket else "service")


Handler = Callable[["OssService", Call], Awaitable[Response]]


def _xml(body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(body, status, headers=headers, media_type=wire.XML_TYPE)


def _user_meta(headers: dict[str, str]) -> dict[str, str]:
    return {k[len("x-oss-meta-"):]: v for k, v in headers.items() if k.startswith("x-oss-meta-")}


def _stored_headers(headers: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k in STORED_HEADERS}


def _content_type(headers: dict[str, str], key: str) -> str:
    return headers.get("content-type") or mimetypes.guess_type(key)[0] or "application/octet-stream"


def _check_acl(acl: str | None, allowed: tuple[str, ...]) -> None:
    if acl is not None and acl not in allowed:
        raise ServiceError(400, "InvalidArgument", "no such bucket access control exists",
                           ArgumentName="x-oss-acl", ArgumentValue=acl)


def _object_headers(meta: ObjectMeta) -> dict[str, str]:
    headers = {
        "ETag": meta.etag, "Last-Modified": wire.http_date(meta.last_modified),
        "x-oss-object-type": meta.object_type, "x-oss-storage-class": meta.storage_class,
        "x-oss-hash-crc64ecma": str(meta.crc64), "Accept-Ranges": "bytes",
        "Content-Type": meta.content_type,
    }
    headers.update({f"x-oss-meta-{k}": v for k, v in meta.user_meta.items()})
    headers.update({k.title(): v for k, v in meta.headers.items()})
    return headers


def _parse_http_time(value: str) -> float | None:
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None


def _check_conditions(headers: dict[str, str], meta: ObjectMeta) -> None:
    etag = meta.etag.strip('"').upper()
    if "if-match" in headers and headers["if-match"].strip().strip('"').upper() != etag:
        raise ServiceError(412, "PreconditionFailed", "At least one of the pre-conditions you specified "
                           "did not hold.", Condition="If-Match")
    since = _parse_http_time(headers.get("if-unmodified-since", ""))
    if since is not None and int(meta.last_modified) > since:
        raise ServiceError(412, "PreconditionFailed", "At least one of the pre-conditions you specified "
                           "did not hold.", Condition="If-Unmodified-Since")
    if "if-none-match" in headers and headers["if-none-match"].strip().strip('"').upper() == etag:
        raise ServiceError(304, "NotModified", "Not Modified")
    since = _parse_http_time(headers.get("if-modified-since", ""))
    if since is not None and int(meta.last_modified) <= since:
        raise ServiceError(304, "NotModified", "Not Modified")


class OssService:
    def __init__(self, runtime: Runtime, model: OssModel, mns_model: Any = None) -> None:
        self.rt = runtime
        self.model = model
        self.async_processor = async_process.AsyncProcessor(runtime, model, mns_model)

    # ---- entry point --------------------------------------------------------------------

    async def __call__(self, scope, receive, send) -> None:
        request = Request(scope, receive)
        request_id = self.rt.ids.request_id()
        call: Call | None = None
        try:
            call = self._call(request, request_id)
            handler = self._route(call)
            if handler is not OssService.post_object:
                self._authenticate(call)
            response = await handler(self, call)
        except ServiceError as err:
            response = self._error(err, call, request, request_id)
        except ClientDisconnect:
            return
        except Exception:
            log.exception("OSS request failed")
            err = ServiceError(500, "InternalError", "We encountered an internal error. Please try again.")
            response = self._error(err, call, request, request_id)
        response.headers["x-oss-request-id"] = request_id
        response.headers["Date"] = wire.http_date(self.rt.clock.now())
        response.headers["Server"] = "AliyunOSS"
        await response(scope, receive, send)

    def _call(self, request: Request, request_id: str) -> Call:
        raw_path = request.scope.get("raw_path") or request.scope["path"].encode()
        bucket, key = wire.split_target(raw_path.decode("latin-1"), request.headers.get("host", ""))
        try:
            key.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ServiceError(400, "InvalidObjectName", "The specified object is not valid.") from exc
        raw_query = request.scope.get("query_string", b"").decode("latin-1")
        query: dict[str, str] = {}
        for k, v in query_pairs(raw_query):
            query.setdefault(k, v)
        headers = {k.lower(): v for k, v in request.headers.items()}
        return Call(request, request.method, bucket, key, raw_query, query, headers, request_id)

    def _route(self, call: Call) -> Handler:
        if call.bucket:
            check_bucket_name(call.bucket)
        unsupported = UNSUPPORTED.intersection(call.query)
        if unsupported:
            raise ServiceError(501, "NotImplemented", f"The emulator does not serve the "
                               f"{sorted(unsupported)[0]!r} sub-resource.")
        found = operation(call.method, call.level, call.query, call.headers)
        if found is None:
            raise ServiceError(405, "MethodNotAllowed", "The specified method is not allowed against "
                               "this resource.", Method=call.method, ResourceType=call.level.title())
        return found[1]

    def _authenticate(self, call: Call) -> None:
        signed = SignedRequest(call.method, call.raw_query, call.headers, call.bucket, call.key)
        try:
            claim = parse_claim(signed)
        except AuthError as err:
            raise ServiceError(403 if err.code != "InvalidArgument" else 400, err.code, err.message,
                               **err.details) from err
        verify = self.rt.config.verify_signatures
        if claim is None:
            if verify and not self._anonymous_allowed(call):
                raise ServiceError(403, "AccessDenied", "You have no right to access this object because "
                                   "of bucket acl.")
            return
        creds = self.rt.accounts.by_access_key(claim.access_key_id)
        if creds is None:
            if verify:
                raise ServiceError(403, "InvalidAccessKeyId", "The OSS Access Key Id you provided does "
                                   "not exist in our records.", OSSAccessKeyId=claim.access_key_id)
            return
        if verify:
            if not claim.verify(creds.access_key_secret):
                raise ServiceError(403, "SignatureDoesNotMatch", "The request signature we calculated "
                                   "does not match the signature you provided. Check your key and signing "
                                   "method.", OSSAccessKeyId=claim.access_key_id)
            if claim.expires_at is not None and claim.expires_at < self.rt.clock.now():
                raise ServiceError(403, "AccessDenied", "Request has expired.",
                                   Expires=wire.iso8601(claim.expires_at),
                                   ServerTime=wire.iso8601(self.rt.clock.now()))
            skew = self.rt.config.max_clock_skew_seconds
            if claim.signed_at is not None and skew and abs(claim.signed_at - time.time()) > skew:
                raise ServiceError(403, "RequestTimeTooSkewed", "The difference between the request "
                                   "time and the current time is too large.")
        call.ns, call.creds = creds.namespace, creds

    def _anonymous_allowed(self, call: Call) -> bool:
        if not call.bucket or not self.model.bucket_exists(DEFAULT_NAMESPACE, call.bucket):
            return False
        acl = self.model.get_bucket(DEFAULT_NAMESPACE, call.bucket).acl
        if call.method in ("GET", "HEAD") and call.level == "object":
            return acl in ("public-read", "public-read-write")
        return acl == "public-read-write" and call.level == "object"

    def _error(self, err: ServiceError, call: Call | None, request: Request, request_id: str) -> Response:
        host = request.headers.get("host", "")
        details = dict(err.details)
        if call and call.bucket and err.code == "NoSuchBucket":
            details.setdefault("BucketName", call.bucket)
        rendered = ServiceError(err.status, err.code, err.message, **details)
        body = wire.error_xml(rendered, request_id, host)
        if err.status == 304:
            return Response(status_code=304)
        if request.method == "HEAD":
            return Response(status_code=err.status, headers={"x-oss-err": wire.error_header(body)})
        return _xml(body, err.status)

    # ---- body helpers -------------------------------------------------------------------

    async def _read_small_body(self, call: Call, limit: int = 10 * 1024 * 1024) -> bytes:
        body = b""
        async for chunk in call.request.stream():
            body += chunk
            if len(body) > limit:
                raise ServiceError(400, "InvalidArgument", "The request body is too large.")
        self._check_md5(call, hashlib.md5(body).hexdigest())
        return body

    def _check_md5(self, call: Call, md5_hex: str) -> None:
        given = call.headers.get("content-md5")
        if given is not None and given != base64.b64encode(bytes.fromhex(md5_hex)).decode():
            raise ServiceError(400, "InvalidDigest", "The Content-MD5 you specified was invalid.")

    async def _receive_blob(self, call: Call) -> Blob:
        """Stream the request body into a blob, enforcing Content-Length, size and Content-MD5."""
        length = call.headers.get("content-length")
        chunked = "chunked" in call.headers.get("transfer-encoding", "").lower()
        if length is None and not chunked:
            raise ServiceError(411, "MissingContentLength", "You must provide the Content-Length HTTP "
                               "header.")
        limit = self.rt.config.oss_max_object_size
        if length is not None and (not length.isdigit() or int(length) > limit):
            raise ServiceError(400, "EntityTooLarge" if length.isdigit() else "InvalidArgument",
                               "Your proposed upload exceeds the maximum allowed object size.")
        with self.rt.blobs.writer(max_size=limit) as writer:
            try:
                async for chunk in call.request.stream():
                    writer.write(chunk)
            except OverflowError as exc:
                raise ServiceError(400, "EntityTooLarge", "Your proposed upload exceeds the maximum "
                                   "allowed object size.") from exc
            if length is not None and writer.size != int(length):
                raise ServiceError(400, "IncompleteBody", "The request body is shorter than "
                                   "Content-Length.")
            blob = writer.commit()
        try:
            self._check_md5(call, blob.md5_hex)
        except ServiceError:
            self.rt.blobs.delete(blob.id)
            raise
        return blob

    # ---- service ------------------------------------------------------------------------

    async def list_buckets(self, call: Call) -> Response:
        if call.creds is None and self.rt.config.verify_signatures:
            raise ServiceError(403, "AccessDenied", "AccessDenied")
        prefix, marker = call.query.get("prefix", ""), call.query.get("marker", "")
        max_keys = self._int_param(call, "max-keys", 100, 1, 1000)
        buckets, truncated = self.model.list_buckets(call.ns, prefix, marker, max_keys)
        return _xml(wire.list_buckets_xml(buckets, self._owner(call), prefix, marker, max_keys, truncated))

    def _owner(self, call: Call) -> str:
        return self.rt.config.account_id if call.ns == DEFAULT_NAMESPACE else call.ns

    def _int_param(self, call: Call, name: str, default: int, low: int, high: int) -> int:
        raw = call.query.get(name, "")
        if raw == "":
            return default
        if not raw.isdigit() or not low <= int(raw) <= high:
            raise ServiceError(400, "InvalidArgument", f"Argument {name} must be an integer between "
                               f"{low} and {high}.", ArgumentName=name, ArgumentValue=raw)
        return int(raw)

    # ---- buckets ------------------------------------------------------------------------

    async def put_bucket(self, call: Call) -> Response:
        acl = call.headers.get("x-oss-acl")
        _check_acl(acl, ACLS)
        storage = wire.parse_create_bucket(await self._read_small_body(call))
        created = self.model.create_bucket(call.ns, call.bucket, acl or "private", storage)
        if not created and acl:
            self.model.set_bucket_acl(call.ns, call.bucket, acl)
        return Response(status_code=200, headers={"Location": f"/{call.bucket}"})

    async def put_bucket_acl(self, call: Call) -> Response:
        acl = call.headers.get("x-oss-acl", "")
        _check_acl(acl, ACLS)
        self.model.set_bucket_acl(call.ns, call.bucket, acl)
        return Response(status_code=200)

    async def get_bucket_acl(self, call: Call) -> Response:
        return _xml(wire.acl_xml(self.model.get_bucket(call.ns, call.bucket).acl, self._owner(call)))

    async def get_bucket_info(self, call: Call) -> Response:
        return _xml(wire.bucket_info_xml(self.model.get_bucket(call.ns, call.bucket), self._owner(call)))

    async def head_bucket(self, call: Call) -> Response:
        self.model.get_bucket(call.ns, call.bucket)
        return Response(status_code=200)

    async def get_bucket_location(self, call: Call) -> Response:
        return _xml(wire.location_xml(self.model.get_bucket(call.ns, call.bucket).region))

    async def delete_bucket(self, call: Call) -> Response:
        self.model.delete_bucket(call.ns, call.bucket)
        return Response(status_code=204)

    async def list_objects(self, call: Call) -> Response:
        q = call.query
        prefix, delimiter = q.get("prefix", ""), q.get("delimiter", "")
        max_keys = self._int_param(call, "max-keys", 100, 0, 1000)
        if q.get("encoding-type", "url") not in ("url", ""):
            raise ServiceError(400, "InvalidArgument", "The encoding-type must be url.",
                               ArgumentName="encoding-type", ArgumentValue=q["encoding-type"])
        if q.get("list-type") == "2":
            token = q.get("continuation-token", "")
            start_after = q.get("start-after", "")
            after = start_after
            if token:
                try:
                    after = base64.urlsafe_b64decode(token.encode()).decode()
                except (ValueError, UnicodeDecodeError) as exc:
                    raise ServiceError(400, "InvalidArgument", "The continuation token provided is "
                                       "incorrect.", ArgumentName="continuation-token",
                                       ArgumentValue=token) from exc
            result = self.model.list_objects(call.ns, call.bucket, prefix, delimiter, after, max_keys)
            next_token = base64.urlsafe_b64encode(result.next_marker.encode()).decode() \
                if result.truncated else ""
            return _xml(wire.list_objects_xml(
                call.bucket, result, prefix, delimiter, max_keys, call.url_encoded, self._owner(call),
                v2=True, token=token, next_token=next_token, start_after=start_after,
                fetch_owner=q.get("fetch-owner") == "true"))
        marker = q.get("marker", "")
        result = self.model.list_objects(call.ns, call.bucket, prefix, delimiter, marker, max_keys)
        return _xml(wire.list_objects_xml(call.bucket, result, prefix, delimiter, max_keys,
                                          call.url_encoded, self._owner(call), v2=False, marker=marker))

    async def delete_multiple(self, call: Call) -> Response:
        if "content-md5" not in call.headers:
            raise ServiceError(400, "MissingArgument", "Missing Some Required Arguments.",
                               ArgumentName="Content-MD5")
        quiet, keys = wire.parse_delete(await self._read_small_body(call), call.url_encoded)
        self.model.get_bucket(call.ns, call.bucket)
        for key in keys:
            self.model.delete_object(call.ns, call.bucket, key)
        return _xml(wire.delete_result_xml([] if quiet else keys, call.url_encoded))

    async def list_uploads(self, call: Call) -> Response:
        uploads = self.model.list_uploads(call.ns, call.bucket)
        return _xml(wire.list_uploads_xml(call.bucket, uploads, call.url_encoded))

    # ---- objects ------------------------------------------------------------------------

    async def put_object(self, call: Call) -> Response:
        if "x-oss-copy-source" in call.headers:
            return await self.copy_object(call)
        _check_acl(call.headers.get("x-oss-object-acl"), OBJECT_ACLS)
        self.model.get_bucket(call.ns, call.bucket)
        blob = await self._receive_blob(call)
        meta = self.model.put_object(
            call.ns, call.bucket, call.key, blob, _content_type(call.headers, call.key),
            _user_meta(call.headers), _stored_headers(call.headers),
            forbid_overwrite=call.headers.get("x-oss-forbid-overwrite", "").lower() == "true")
        return Response(status_code=200, headers={
            "ETag": meta.etag, "x-oss-hash-crc64ecma": str(meta.crc64),
            "Content-MD5": base64.b64encode(bytes.fromhex(blob.md5_hex)).decode()})

    async def copy_object(self, call: Call) -> Response:
        source = call.headers["x-oss-copy-source"].split("?", 1)[0]
        src_bucket, _, src_key = source.lstrip("/").partition("/")
        src_bucket, src_key = unquote(src_bucket), unquote(src_key)
        if not src_bucket or not src_key:
            raise ServiceError(400, "InvalidArgument", "Copy Source must mention the source bucket and "
                               "key: /sourcebucket/sourcekey.", ArgumentName="x-oss-copy-source",
                               ArgumentValue=call.headers["x-oss-copy-source"])
        directive = call.headers.get("x-oss-metadata-directive", "COPY").upper()
        if directive not in ("COPY", "REPLACE"):
            raise ServiceError(400, "InvalidArgument", "Unknown metadata directive.",
                               ArgumentName="x-oss-metadata-directive", ArgumentValue=directive)
        src = self.model.head_object(call.ns, src_bucket, src_key)
        _check_conditions({k.replace("x-oss-copy-source-", ""): v for k, v in call.headers.items()
                           if k.startswith("x-oss-copy-source-if-")}, src)
        async for _ in call.request.stream():
            pass
        meta = self.model.copy_object(
            call.ns, src_bucket, src_key, call.bucket, call.key, directive == "REPLACE",
            call.headers.get("content-type"), _user_meta(call.headers), _stored_headers(call.headers))
        return _xml(wire.copy_result_xml(meta), headers={
            "ETag": meta.etag, "x-oss-hash-crc64ecma": str(meta.crc64)})

    async def get_object(self, call: Call) -> Response:
        meta = self.model.head_object(call.ns, call.bucket, call.key)
        _check_conditions(call.headers, meta)
        headers = _object_headers(meta)
        for param, header in (("response-content-type", "Content-Type"),
                              ("response-content-disposition", "Content-Disposition"),
                              ("response-cache-control", "Cache-Control"),
                              ("response-content-encoding", "Content-Encoding"),
                              ("response-content-language", "Content-Language"),
                              ("response-expires", "Expires")):
            if param in call.query:
                headers[header] = call.query[param]
        start, end, status = 0, meta.size - 1, 200
        if "range" in call.headers:
            try:
                span = wire.parse_range(call.headers["range"], meta.size)
            except ValueError:
                if call.headers.get("x-oss-range-behavior") == "standard":
                    raise ServiceError(416, "InvalidRange", "The requested range cannot be satisfied.",
                                       RangeRequested=call.headers["range"],
                                       ActualObjectSize=str(meta.size)) from None
                span = None
            if span is not None:
                (start, end), status = span, 206
                headers["Content-Range"] = f"bytes {start}-{end}/{meta.size}"
        headers["Content-Length"] = str(max(0, end - start + 1))
        path = self.rt.blobs.path(meta.blob_id)
        media_type = headers.pop("Content-Type")
        return StreamingResponse(_file_range(path, start, end), status, headers=headers,
                                 media_type=media_type)

    async def head_object(self, call: Call) -> Response:
        meta = self.model.head_object(call.ns, call.bucket, call.key)
        _check_conditions(call.headers, meta)
        headers = _object_headers(meta)
        headers["Content-Length"] = str(meta.size)
        return Response(status_code=200, headers=headers)

    async def get_object_meta(self, call: Call) -> Response:
        meta = self.model.head_object(call.ns, call.bucket, call.key)
        return Response(status_code=200, headers={
            "ETag": meta.etag, "Content-Length": str(meta.size), "x-oss-hash-crc64ecma": str(meta.crc64),
            "Last-Modified": wire.http_date(meta.last_modified),
            "x-oss-last-access-time": wire.http_date(meta.last_modified)})

    async def delete_object(self, call: Call) -> Response:
        self.model.delete_object(call.ns, call.bucket, call.key)
        return Response(status_code=204)

    async def get_object_acl(self, call: Call) -> Response:
        self.model.head_object(call.ns, call.bucket, call.key)
        return _xml(wire.acl_xml("default", self._owner(call)))

    # ---- multipart ----------------------------------------------------------------------

    async def initiate_upload(self, call: Call) -> Response:
        await self._read_small_body(call)
        upload_id = self.model.initiate_upload(call.ns, call.bucket, call.key,
                                               _content_type(call.headers, call.key),
                                               _user_meta(call.headers), _stored_headers(call.headers))
        return _xml(wire.initiate_xml(call.bucket, call.key, upload_id, call.url_encoded))

    def _part_number(self, call: Call) -> int:
        raw = call.query.get("partNumber", "")
        if not raw.isdigit() or not 1 <= int(raw) <= 10000:
            raise ServiceError(400, "InvalidArgument", "Part number must be an integer between 1 and "
                               "10000, inclusive.", ArgumentName="partNumber", ArgumentValue=raw)
        return int(raw)

    async def upload_part(self, call: Call) -> Response:
        number = self._part_number(call)
        upload_id = call.query["uploadId"]
        self.model.get_upload(call.ns, call.bucket, call.key, upload_id)
        blob = await self._receive_blob(call)
        part = self.model.upload_part(call.ns, call.bucket, call.key, upload_id, number, blob)
        return Response(status_code=200, headers={"ETag": part["etag"],
                                                  "x-oss-hash-crc64ecma": str(part["crc64"])})

    async def list_parts(self, call: Call) -> Response:
        upload_id = call.query["uploadId"]
        marker = self._int_param(call, "part-number-marker", 0, 0, 10000)
        max_parts = self._int_param(call, "max-parts", 1000, 1, 1000)
        parts = [p for p in self.model.list_parts(call.ns, call.bucket, call.key, upload_id)
                 if p["number"] > marker]
        truncated = len(parts) > max_parts
        return _xml(wire.list_parts_xml(call.bucket, call.key, upload_id, parts[:max_parts], marker,
                                        max_parts, truncated, call.url_encoded))

    async def complete_upload(self, call: Call) -> Response:
        upload_id = call.query["uploadId"]
        body = await self._read_small_body(call)
        complete_all = call.headers.get("x-oss-complete-all", "").lower() == "yes"
        if complete_all and body.strip():
            raise ServiceError(400, "InvalidArgument", "Should not specify both complete all header and "
                               "body.", ArgumentName="x-oss-complete-all", ArgumentValue="yes")
        self.model.get_upload(call.ns, call.bucket, call.key, upload_id)
        parts = None if complete_all else wire.parse_complete(body)
        meta = self.model.complete_upload(call.ns, call.bucket, call.key, upload_id, parts)
        return _xml(wire.complete_xml(call.base_url, meta, call.url_encoded),
                    headers={"ETag": meta.etag, "x-oss-hash-crc64ecma": str(meta.crc64)})

    async def abort_upload(self, call: Call) -> Response:
        self.model.abort_upload(call.ns, call.bucket, call.key, call.query["uploadId"])
        return Response(status_code=204)

    # ---- PostObject (browser / DashScope uploads) ---------------------------------------

    async def post_object(self, call: Call) -> Response:
        try:
            form_data = await call.request.form(max_files=1, max_fields=100)
        except Exception as exc:  # python-multipart raises several kinds on a broken body
            raise ServiceError(400, "MalformedPOSTRequest", "The body of your POST request is not "
                               "well-formed multipart/form-data.") from exc
        try:
            items = list(form_data.multi_items())
            upload = next((v for k, v in items if k.lower() == "file"), None)
            if not isinstance(upload, UploadFile):
                raise ServiceError(400, "InvalidArgument", "Bucket POST must contain a field named "
                                   "'file'.", ArgumentName="file")
            if items[-1][0].lower() != "file":
                raise ServiceError(400, "InvalidArgument", "The file field must be the last field in "
                                   "the form.", ArgumentName="file")
            form = {k.lower(): v for k, v in items if isinstance(v, str)}
            for name, value in form.items():
                if len(value.encode()) > 8192:
                    raise ServiceError(400, "FieldItemTooLong", "Your proposed upload exceeds the maximum "
                                       "field length.", ArgumentName=name)
            key = form.get("key", "").replace("${filename}", upload.filename or "")
            if not key:
                raise ServiceError(400, "InvalidArgument", "Bucket POST must contain a field named "
                                   "'key'.", ArgumentName="key")
            creds, length_range = self._authenticate_post(call, form, key)
            call.ns = creds.namespace if creds else DEFAULT_NAMESPACE
            self.model.get_bucket(call.ns, call.bucket)
            status = form.get("success_action_status", "204")
            if status not in ("200", "201", "204"):
                status = "204"
            forbid = form.get("x-oss-forbid-overwrite", "false").lower()
            if forbid not in ("true", "false"):
                raise ServiceError(400, "InvalidArgument", "Invalid x-oss-forbid-overwrite.",
                                   ArgumentName="x-oss-forbid-overwrite", ArgumentValue=forbid)
            limit = self.rt.config.oss_max_object_size
            with self.rt.blobs.writer(max_size=limit) as writer:
                try:
                    while chunk := await upload.read(1024 * 1024):
                        writer.write(chunk)
                except OverflowError as exc:
                    raise ServiceError(400, "EntityTooLarge", "Your proposed upload exceeds the maximum "
                                       "allowed object size.") from exc
                if length_range is not None:
                    _check_length_range(length_range, writer.size)
                blob = writer.commit()
        finally:
            await form_data.close()
        content_type = (form.get("content-type") or form.get("x-oss-content-type")
                        or (upload.headers.get("content-type") if upload.headers else None)
                        or mimetypes.guess_type(key)[0])
        meta = self.model.put_object(call.ns, call.bucket, key, blob, content_type, _user_meta(form),
                                     _stored_headers(form), forbid_overwrite=forbid == "true")
        headers = {"ETag": meta.etag, "x-oss-hash-crc64ecma": str(meta.crc64)}
        if status == "201":
            location = f"{call.base_url}/{call.bucket}/{key}"
            return _xml(wire.post_response_xml(meta, location), 201, headers)
        return Response(status_code=int(status), headers=headers)

    def _authenticate_post(self, call: Call, form: dict[str, str],
                           key: str) -> tuple[Credentials | None, tuple[int, int] | None]:
        """Who posts, and the policy's content-length-range (None: no limit, or nothing checked)."""
        ak = post_access_key_id(form)
        verify = self.rt.config.verify_signatures
        if ak is None:
            if verify and not self._anonymous_allowed(Call(call.request, "PUT", call.bucket, key, "", {},
                                                           {}, call.request_id)):
                raise ServiceError(403, "AccessDenied", "You have no right to access this object because "
                                   "of bucket acl.")
            return None, None
        creds = self.rt.accounts.by_access_key(ak)
        if not verify:
            return creds, None
        if creds is None:
            raise ServiceError(403, "InvalidAccessKeyId", "The OSS Access Key Id you provided does not "
                               "exist in our records.", OSSAccessKeyId=ak)
        if "policy" not in form:
            raise ServiceError(400, "InvalidArgument", "Bucket POST must contain a field named 'policy'.",
                               ArgumentName="policy")
        if not verify_post_signature(form, creds.access_key_secret):
            raise ServiceError(403, "SignatureDoesNotMatch", "The request signature we calculated does "
                               "not match the signature you provided.", OSSAccessKeyId=ak)
        return creds, self._check_policy(form, call.bucket, key)

    def _check_policy(self, form: dict[str, str], bucket: str, key: str) -> tuple[int, int] | None:
        """Expiry and every condition but the size; the content-length-range, checked once the
        file has arrived."""
        try:
            policy = json.loads(base64.b64decode(form["policy"], validate=True))
            expiration = datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
            conditions = policy.get("conditions", [])
            if not isinstance(conditions, list):
                raise TypeError(conditions)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ServiceError(400, "InvalidPolicyDocument", "Invalid Policy: Invalid JSON.") from exc
        if expiration.tzinfo is None:
            expiration = expiration.replace(tzinfo=timezone.utc)
        if expiration.timestamp() < self.rt.clock.now():
            raise ServiceError(403, "AccessDenied", "Invalid according to Policy: Policy expired.")
        values = {**form, "key": key, "bucket": bucket}
        length_range = None
        for condition in conditions:
            if isinstance(condition, dict):
                checks = [("eq", "$" + k, v) for k, v in condition.items()]
            elif isinstance(condition, list) and len(condition) == 3:
                checks = [tuple(condition)]
            else:
                raise ServiceError(400, "InvalidPolicyDocument", "Invalid Policy: Invalid Simple-Condition.")
            for op, field, expected in checks:
                op = str(op).lower()
                if op == "content-length-range":
                    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (field, expected)):
                        raise ServiceError(400, "InvalidPolicyDocument", "Invalid Policy: Invalid "
                                           "content-length-range.")
                    length_range = (field, expected)
                    continue
                actual = values.get(str(field).lstrip("$").lower(), "")
                ok = (actual == expected if op == "eq" else
                      actual.startswith(str(expected)) if op == "starts-with" else
                      actual in expected if op == "in" and isinstance(expected, list) else
                      actual not in expected if op == "not-in" and isinstance(expected, list) else None)
                if ok is None:
                    raise ServiceError(400, "InvalidPolicyDocument", f"Invalid Policy: Invalid "
                                       f"condition {op!r}.")
                if not ok:
                    raise ServiceError(403, "AccessDenied", "Invalid according to Policy: Policy "
                                       f"Condition failed: [\"{op}\", \"{field}\", \"{expected}\"]")
        return length_range


def _check_length_range(length_range: tuple[int, int], size: int) -> None:
    low, high = length_range
    if not low <= size <= high:
        code = "EntityTooSmall" if size < low else "EntityTooLarge"
        raise ServiceError(400, code, "Your proposed upload size is out of the allowed "
                           "content-length-range.", MinSizeAllowed=str(low),
                           MaxSizeAllowed=str(high), ProposedSize=str(size))


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


ROUTES: dict[tuple[str, str, str | None], tuple[str, Handler]] = {
    ("GET", "service", None): ("ListBuckets", OssService.list_buckets),
    ("PUT", "bucket", None): ("PutBucket", OssService.put_bucket),
    ("PUT", "bucket", "acl"): ("PutBucketAcl", OssService.put_bucket_acl),
    ("GET", "bucket", "acl"): ("GetBucketAcl", OssService.get_bucket_acl),
    ("GET", "bucket", "bucketInfo"): ("GetBucketInfo", OssService.get_bucket_info),
    ("GET", "bucket", "location"): ("GetBucketLocation", OssService.get_bucket_location),
    ("HEAD", "bucket", None): ("HeadBucket", OssService.head_bucket),
    ("GET", "bucket", None): ("ListObjects", OssService.list_objects),
    ("DELETE", "bucket", None): ("DeleteBucket", OssService.delete_bucket),
    ("POST", "bucket", "delete"): ("DeleteMultipleObjects", OssService.delete_multiple),
    ("GET", "bucket", "uploads"): ("ListMultipartUploads", OssService.list_uploads),
    ("PUT", "object", None): ("PutObject", OssService.put_object),
    ("GET", "object", None): ("GetObject", OssService.get_object),
    ("HEAD", "object", None): ("HeadObject", OssService.head_object),
    ("HEAD", "object", "objectMeta"): ("GetObjectMeta", OssService.get_object_meta),
    ("GET", "object", "objectMeta"): ("GetObjectMeta", OssService.get_object_meta),
    ("GET", "object", "acl"): ("GetObjectAcl", OssService.get_object_acl),
    ("DELETE", "object", None): ("DeleteObject", OssService.delete_object),
    ("POST", "object", "uploads"): ("InitiateMultipartUpload", OssService.initiate_upload),
    ("PUT", "object", "uploadId"): ("UploadPart", OssService.upload_part),
    ("GET", "object", "uploadId"): ("ListParts", OssService.list_parts),
    ("POST", "object", "uploadId"): ("CompleteMultipartUpload", OssService.complete_upload),
    ("DELETE", "object", "uploadId"): ("AbortMultipartUpload", OssService.abort_upload),
    # Data processing (processing.py).
    ("GET", "object", "x-oss-process"): ("GetObject", processing.get_processed),
    ("HEAD", "object", "x-oss-process"): ("HeadObject", OssService.head_object),
    ("POST", "object", "x-oss-process"): ("ProcessObject", processing.process_object),
    ("PUT", "bucket", "style"): ("PutStyle", processing.put_style),
    ("GET", "bucket", "style"): ("GetStyle", processing.get_style),
    ("DELETE", "bucket", "style"): ("DeleteStyle", processing.delete_style),
    ("POST", "object", "x-oss-async-process"): ("AsyncProcessObject", async_process.async_process_object),
}


def operation(method: str, level: str, query: dict[str, str],
              headers: dict[str, str]) -> tuple[str, Handler] | None:
    """The OSS action name and handler of a request, from the route table."""
    sub = next((s for s in OPERATIONS if s in query), None)
    if (method == "POST" and level == "bucket" and sub is None
            and headers.get("content-type", "").startswith("multipart/form-data")):
        return "PostObject", OssService.post_object
    found = ROUTES.get((method, level, sub))
    if found and found[0] == "PutObject" and "x-oss-copy-source" in headers:
        return "CopyObject", found[1]
    if found and found[0] == "ListObjects" and query.get("list-type") == "2":
        return "ListObjectsV2", found[1]
    if found and found[0] == "GetStyle" and "styleName" not in query:
        return "ListStyle", found[1]
    return found


def build_oss(runtime: Runtime, mns_model: Any = None) -> Built:
    model = OssModel(runtime)
    service = OssService(runtime, model, mns_model)

    def reset(namespace: str | None) -> None:
        service.async_processor.cancel(namespace)
        model.drop_namespace_blobs(namespace)

    def describe(scope, body: bytes | None) -> dict[str, Any]:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        raw_path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
        bucket, key = wire.split_target(raw_path, headers.get("host", ""))
        query = dict(query_pairs(scope.get("query_string", b"").decode("latin-1")))
        level = "object" if key else ("bucket" if bucket else "service")
        found = operation(scope["method"], level, query, headers)
        creds = runtime.accounts.by_access_key(claimed_access_key(headers, query) or "")
        return {"action": found[0] if found else None, "bucket": bucket or None, "key": key or None,
                "namespace": creds.namespace if creds else DEFAULT_NAMESPACE}

    def render_error(err: ServiceError, scope) -> Response:
        request = Request(scope)
        request_id = runtime.ids.request_id()
        response = service._error(err, None, request, request_id)
        response.headers["x-oss-request-id"] = request_id
        response.headers["Date"] = wire.http_date(runtime.clock.now())
        return response

    def info() -> dict[str, Any]:
        return {"status": "running", "signatures": ["V1", "V4"],
                "verify_signatures": runtime.config.verify_signatures}

    return Built(model, ServiceHandle(
        "oss", service, reset=reset, info=info, describe=describe,
        billing=lambda namespace: processing.billing(runtime, namespace),
        startup=service.async_processor.resume, shutdown=service.async_processor.close,
        tasks=service.async_processor.tasks,
        render_error=render_error, media_type=wire.XML_TYPE,
        throttle=(503, "ServiceUnavailable", "Please reduce your request rate.", None)))
