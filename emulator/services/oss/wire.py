"""OSS wire format: where bucket and key are in a request, XML bodies in and out, error XML,
headers and dates as the SDKs parse them. No state here."""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from email.utils import formatdate
from typing import Any
from urllib.parse import quote, unquote
from xml.sax.saxutils import escape

from emulator.core.errors import ServiceError
from emulator.services.oss.model import BucketInfo, ListResult, ObjectMeta

XML_TYPE = "application/xml"
_VIRTUAL_HOST = re.compile(r"^(?P<bucket>[a-z0-9][a-z0-9-]{1,61}[a-z0-9])\."
                           r"(?:localhost|oss-[a-z0-9-]+\.aliyuncs\.com|oss\.[a-z0-9.-]+)$")


# ---- addressing ------------------------------------------------------------------------------

def split_target(raw_path: str, host: str) -> tuple[str, str]:
    """(bucket, key) of a request. Virtual-hosted (`<bucket>.localhost`, `<bucket>.oss-<region>.
    aliyuncs.com`) takes the bucket from Host; otherwise path style, where the bucket is the first
    raw segment and the key is the percent-decoded rest (oss2 sends `/` in keys as %2F)."""
    hostname = host.rsplit("@", 1)[-1]
    hostname = re.sub(r":\d+$", "", hostname.split("://", 1)[-1]).lower()
    path = raw_path.split("?", 1)[0]
    match = _VIRTUAL_HOST.match(hostname)
    if match:
        return match.group("bucket"), unquote(path[1:])
    first, _, rest = path[1:].partition("/")
    return unquote(first), unquote(rest)


# ---- times ----------------------------------------------------------------------------------

def http_date(ts: float) -> str:
    return formatdate(ts, usegmt=True)


def iso8601(ts: float) -> str:
    """XML timestamps; oss2 insists on a literal `.000Z`."""
    return datetime.fromtimestamp(int(ts), tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


# ---- XML out --------------------------------------------------------------------------------

def _el(tag: str, *children: Any) -> str:
    inner = "".join(c if isinstance(c, str) and c.startswith("<") else escape(str(c)) for c in children
                    if c is not None)
    return f"<{tag}>{inner}</{tag}>"


def document(root: str, *children: Any) -> bytes:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + _el(root, *children)).encode()


def _enc(value: str, url: bool) -> str:
    return quote(value, safe="") if url else value


def error_xml(err: ServiceError, request_id: str, host_id: str) -> bytes:
    extra = [_el(k, v) for k, v in err.details.items()]
    return document("Error", _el("Code", err.code), _el("Message", err.message),
                    _el("RequestId", request_id), _el("HostId", host_id), *extra)


def error_header(body: bytes) -> str:
    """x-oss-err: the error XML of a HEAD response, which has no body."""
    return base64.b64encode(body).decode()


def _owner(owner_id: str) -> str:
    return _el("Owner", _el("ID", owner_id), _el("DisplayName", owner_id))


def list_buckets_xml(buckets: list[BucketInfo], owner_id: str, prefix: str, marker: str,
                     max_keys: int, truncated: bool) -> bytes:
    items = [_el("Bucket", _el("CreationDate", iso8601(b.created)),
                 _el("ExtranetEndpoint", f"oss-{b.region}.aliyuncs.com"),
                 _el("IntranetEndpoint", f"oss-{b.region}-internal.aliyuncs.com"),
                 _el("Location", f"oss-{b.region}"), _el("Name", b.name), _el("Region", b.region),
                 _el("StorageClass", b.storage_class)) for b in buckets]
    paging = [_el("Prefix", prefix), _el("Marker", marker), _el("MaxKeys", max_keys),
              _el("IsTruncated", str(truncated).lower())]
    if truncated and buckets:
        paging.append(_el("NextMarker", buckets[-1].name))
    return document("ListAllMyBucketsResult", *paging, _owner(owner_id), _el("Buckets", *items))


def bucket_info_xml(b: BucketInfo, owner_id: str) -> bytes:
    return document("BucketInfo", _el(
        "Bucket", _el("AccessMonitor", "Disabled"), _el("CreationDate", iso8601(b.created)),
        _el("ExtranetEndpoint", f"oss-{b.region}.aliyuncs.com"),
        _el("IntranetEndpoint", f"oss-{b.region}-internal.aliyuncs.com"),
        _el("Location", f"oss-{b.region}"), _el("StorageClass", b.storage_class),
        _el("TransferAcceleration", "Disabled"), _el("CrossRegionReplication", "Disabled"),
        _el("Name", b.name), _el("ResourceGroupId", "rg-default"), _el("Region", b.region),
        _owner(owner_id), _el("AccessControlList", _el("Grant", b.acl)),
        _el("ServerSideEncryptionRule", _el("SSEAlgorithm", "None")),
        _el("BucketPolicy", _el("LogBucket", ""), _el("LogPrefix", ""))))


def acl_xml(acl: str, owner_id: str) -> bytes:
    return document("AccessControlPolicy", _owner(owner_id), _el("AccessControlList", _el("Grant", acl)))


def location_xml(region: str) -> bytes:
    return document("LocationConstraint", f"oss-{region}")


def _contents(o: ObjectMeta, url: bool, owner_id: str | None) -> str:
    return _el("Contents", _el("Key", _enc(o.key, url)), _el("LastModified", iso8601(o.last_modified)),
               _el("ETag", o.etag), _el("Type", o.object_type), _el("Size", o.size),
               _el("StorageClass", o.storage_class), _owner(owner_id) if owner_id else None)


def list_objects_xml(bucket: str, result: ListResult, prefix: str, delimiter: str, max_keys: int,
                     url: bool, owner_id: str, v2: bool, marker: str = "", token: str = "",
                     next_token: str = "", start_after: str = "", fetch_owner: bool = False) -> bytes:
    head = [_el("Name", bucket), _el("Prefix", _enc(prefix, url))]
    if v2:
        if token:
            head.append(_el("ContinuationToken", token))
        if start_after:
            head.append(_el("StartAfter", _enc(start_after, url)))
    else:
        head.append(_el("Marker", _enc(marker, url)))
    head += [_el("MaxKeys", max_keys), _el("Delimiter", _enc(delimiter, url))]
    if url:
        head.append(_el("EncodingType", "url"))
    head.append(_el("IsTruncated", str(result.truncated).lower()))
    if result.truncated:
        head.append(_el("NextContinuationToken", next_token) if v2
                    else _el("NextMarker", _enc(result.next_marker, url)))
    if v2:
        head.append(_el("KeyCount", len(result.objects) + len(result.common_prefixes)))
    show_owner = owner_id if (fetch_owner or not v2) else None
    body = [_contents(o, url, show_owner) for o in result.objects]
    body += [_el("CommonPrefixes", _el("Prefix", _enc(p, url))) for p in result.common_prefixes]
    return document("ListBucketResult", *head, *body)


def initiate_xml(bucket: str, key: str, upload_id: str, url: bool) -> bytes:
    return document("InitiateMultipartUploadResult", _el("Bucket", bucket), _el("Key", _enc(key, url)),
                    _el("UploadId", upload_id), _el("EncodingType", "url") if url else None)


def list_parts_xml(bucket: str, key: str, upload_id: str, parts: list[dict], marker: int,
                   max_parts: int, truncated: bool, url: bool) -> bytes:
    items = [_el("Part", _el("PartNumber", p["number"]), _el("LastModified", iso8601(p["last_modified"])),
                 _el("ETag", p["etag"]), _el("HashCrc64ecma", p["crc64"]), _el("Size", p["size"]))
             for p in parts]
    next_marker = parts[-1]["number"] if parts else marker
    return document("ListPartsResult", _el("Bucket", bucket), _el("Key", _enc(key, url)),
                    _el("UploadId", upload_id), _el("PartNumberMarker", marker),
                    _el("NextPartNumberMarker", next_marker), _el("MaxParts", max_parts),
                    _el("IsTruncated", str(truncated).lower()),
                    _el("EncodingType", "url") if url else None, *items)


def list_uploads_xml(bucket: str, uploads: list[dict], url: bool) -> bytes:
    items = [_el("Upload", _el("Key", _enc(u["key"], url)), _el("UploadId", u["upload_id"]),
                 _el("Initiated", iso8601(u["initiated"]))) for u in uploads]
    return document("ListMultipartUploadsResult", _el("Bucket", bucket), _el("KeyMarker", ""),
                    _el("UploadIdMarker", ""), _el("NextKeyMarker", ""), _el("NextUploadIdMarker", ""),
                    _el("Delimiter", ""), _el("Prefix", ""), _el("MaxUploads", 1000),
                    _el("IsTruncated", "false"), _el("EncodingType", "url") if url else None, *items)


def complete_xml(base_url: str, meta: ObjectMeta, url: bool) -> bytes:
    return document("CompleteMultipartUploadResult", _el("EncodingType", "url") if url else None,
                    _el("Location", f"{base_url}/{meta.bucket}/{quote(meta.key)}"),
                    _el("Bucket", meta.bucket), _el("Key", _enc(meta.key, url)), _el("ETag", meta.etag))


def copy_result_xml(meta: ObjectMeta) -> bytes:
    return document("CopyObjectResult", _el("ETag", meta.etag),
                    _el("LastModified", iso8601(meta.last_modified)))


def delete_result_xml(deleted: list[str], url: bool) -> bytes:
    return document("DeleteResult", _el("EncodingType", "url") if url else None,
                    *[_el("Deleted", _el("Key", _enc(k, url))) for k in deleted])


def post_response_xml(meta: ObjectMeta, location: str) -> bytes:
    return document("PostResponse", _el("Bucket", meta.bucket), _el("Location", location),
                    _el("Key", meta.key), _el("ETag", meta.etag))


# ---- XML in ---------------------------------------------------------------------------------

def _malformed() -> ServiceError:
    return ServiceError(400, "MalformedXML", "The XML you provided was not well-formed or did not "
                        "validate against our published schema.")


def _parse(body: bytes, root: str) -> ET.Element:
    try:
        element = ET.fromstring(body)
    except ET.ParseError as exc:
        raise _malformed() from exc
    if element.tag.rsplit("}", 1)[-1] != root:
        raise _malformed()
    return element


def _children(element: ET.Element, tag: str) -> list[ET.Element]:
    return [c for c in element if c.tag.rsplit("}", 1)[-1] == tag]


def _text(element: ET.Element, tag: str) -> str | None:
    found = _children(element, tag)
    return (found[0].text or "") if found else None


def parse_complete(body: bytes) -> list[tuple[int, str]]:
    root = _parse(body, "CompleteMultipartUpload")
    parts = []
    for part in _children(root, "Part"):
        number, etag = _text(part, "PartNumber"), _text(part, "ETag")
        if number is None or etag is None or not number.strip().isdigit():
            raise _malformed()
        parts.append((int(number), etag))
    return parts


def parse_delete(body: bytes, url: bool) -> tuple[bool, list[str]]:
    root = _parse(body, "Delete")
    quiet = (_text(root, "Quiet") or "false").strip().lower() == "true"
    keys = []
    for obj in _children(root, "Object"):
        key = _text(obj, "Key")
        if not key:
            raise _malformed()
        keys.append(unquote(key) if url else key)
    if not keys or len(keys) > 1000:
        raise _malformed()
    return quiet, keys


def parse_create_bucket(body: bytes) -> str:
    if not body.strip():
        return "Standard"
    root = _parse(body, "CreateBucketConfiguration")
    storage = (_text(root, "StorageClass") or "Standard").strip()
    if storage not in ("Standard", "IA", "Archive", "ColdArchive", "DeepColdArchive"):
        raise ServiceError(400, "InvalidArgument", "Invalid storage class.",
                           ArgumentName="StorageClass", ArgumentValue=storage)
    return storage


# ---- ranges ---------------------------------------------------------------------------------

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """Inclusive (start, end), or None when the header is absent. Raises ValueError when it is
    malformed or unsatisfiable (OSS then sends the whole object unless the client asked for the
    standard behaviour)."""
    match = _RANGE.match(header.strip().replace(" ", ""))
    if not match or (not match.group(1) and not match.group(2)):
        raise ValueError(header)
    first, last = match.group(1), match.group(2)
    if not first:
        length = int(last)
        if length == 0 or size == 0:
            raise ValueError(header)
        return max(0, size - length), size - 1
    start = int(first)
    end = int(last) if last else size - 1
    if start > end or start >= size:
        raise ValueError(header)
    return start, min(end, size - 1)


# ---- image styles ---------------------------------------------------------------------------

def parse_style(body: bytes) -> str:
    """PutStyle's `<Style><Content>image/...</Content></Style>`."""
    content = _text(_parse(body, "Style"), "Content")
    if not content:
        raise _malformed()
    return content


def _style(name: str, content: str, created: float, modified: float, category: str) -> str:
    return _el("Style", _el("Name", name), _el("Content", content), _el("CreateTime", http_date(created)),
               _el("LastModifyTime", http_date(modified)), _el("Category", category))


def style_xml(name: str, content: str, created: float, modified: float, category: str) -> bytes:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            + _style(name, content, created, modified, category)).encode()


def style_list_xml(items: list[tuple[str, str, float, float, str]]) -> bytes:
    return document("StyleList", *[_style(*item) for item in items])
