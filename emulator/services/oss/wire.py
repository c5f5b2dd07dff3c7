"""OSS wire format: where bucket and key are in a request, XML bodies in and out, error XML,
headers and dates as the SDKs parse them. No state here."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from urllib.parse import quote, unquote
from xml.etree.ElementTree import Element

from emulator.core.errors import ServiceError
from emulator.core.timefmt import http_date, iso_whole_seconds
from emulator.core.xml import children, document, local, parse, text
from emulator.core.xml import element as el
from emulator.services.oss.documents import BucketInfo, ListResult, ObjectMeta
from emulator.services.oss.errors import ec_for, invalid_argument, malformed_xml

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


# ---- XML out --------------------------------------------------------------------------------

def _enc(value: str, url: bool) -> str:
    return quote(value, safe="") if url else value


def error_xml(err: ServiceError, request_id: str, host_id: str, ec: str) -> bytes:
    """OSS's `<Error>`; `ec` (also sent as x-oss-ec) and its RecommendDoc come last, as OSS sends them."""
    extra = [el(k, v) for k, v in err.details.items() if k != "EC"]
    return document("Error", el("Code", err.code), el("Message", err.message),
                    el("RequestId", request_id), el("HostId", host_id), *extra, el("EC", ec),
                    el("RecommendDoc", f"https://api.aliyun.com/troubleshoot?q={ec}"))


def error_code_ec(err: ServiceError) -> str:
    """The EC of an error: the one it names, else the usual one for its Code."""
    return err.details.get("EC") or ec_for(err.status, err.code)


def error_header(body: bytes) -> str:
    """x-oss-err: the error XML of a HEAD response, which has no body."""
    return base64.b64encode(body).decode()


def _owner(owner_id: str) -> str:
    return el("Owner", el("ID", owner_id), el("DisplayName", owner_id))


def list_buckets_xml(buckets: list[BucketInfo], owner_id: str, prefix: str, marker: str,
                     max_keys: int, truncated: bool) -> bytes:
    items = [el("Bucket", el("CreationDate", iso_whole_seconds(b.created)),
                 el("ExtranetEndpoint", f"oss-{b.region}.aliyuncs.com"),
                 el("IntranetEndpoint", f"oss-{b.region}-internal.aliyuncs.com"),
                 el("Location", f"oss-{b.region}"), el("Name", b.name), el("Region", b.region),
                 el("StorageClass", b.storage_class), el("ResourceGroupId", RESOURCE_GROUP),
                 el("Comment", "")) for b in buckets]
    paging = [el("Prefix", prefix), el("Marker", marker), el("MaxKeys", max_keys),
              el("IsTruncated", str(truncated).lower())]
    if truncated and buckets:
        paging.append(el("NextMarker", buckets[-1].name))
    return document("ListAllMyBucketsResult", *paging, _owner(owner_id), el("Buckets", *items))


RESOURCE_GROUP = "rg-default"


def bucket_info_xml(b: BucketInfo, owner_id: str, sse: tuple[str, str] = ("None", ""),
                    log: tuple[str, str] = ("", ""), block_public_access: bool = False) -> bytes:
    """GetBucketInfo. `sse`: the bucket's default (SSEAlgorithm, KMSMasterKeyID); `log`: its
    logging (TargetBucket, TargetPrefix)."""
    algorithm, key_id = sse
    return document("BucketInfo", el(
        "Bucket", el("AccessMonitor", "Disabled"), el("CreationDate", iso_whole_seconds(b.created)),
        el("ExtranetEndpoint", f"oss-{b.region}.aliyuncs.com"),
        el("IntranetEndpoint", f"oss-{b.region}-internal.aliyuncs.com"),
        el("Location", f"oss-{b.region}"), el("StorageClass", b.storage_class),
        el("DataRedundancyType", "LRS"),
        el("TransferAcceleration", "Disabled"), el("CrossRegionReplication", "Disabled"),
        el("Name", b.name), el("ResourceGroupId", RESOURCE_GROUP), el("Region", b.region),
        el("Comment", ""), el("BlockPublicAccess", str(block_public_access).lower()),
        _owner(owner_id), el("AccessControlList", el("Grant", b.acl)),
        el("ServerSideEncryptionRule", el("SSEAlgorithm", algorithm),
           el("KMSMasterKeyID", key_id) if key_id else None),
        el("BucketPolicy", el("LogBucket", log[0]), el("LogPrefix", log[1]))))


def acl_xml(acl: str, owner_id: str) -> bytes:
    return document("AccessControlPolicy", _owner(owner_id), el("AccessControlList", el("Grant", acl)))


def location_xml(region: str) -> bytes:
    return document("LocationConstraint", f"oss-{region}")


def _contents(o: ObjectMeta, url: bool, owner_id: str | None) -> str:
    return el("Contents", el("Key", _enc(o.key, url)), el("LastModified", iso_whole_seconds(o.last_modified)),
               el("ETag", o.etag), el("Type", o.object_type), el("Size", o.size),
               el("StorageClass", o.storage_class), _owner(owner_id) if owner_id else None)


def list_objects_xml(bucket: str, result: ListResult, prefix: str, delimiter: str, max_keys: int,
                     url: bool, owner_id: str, v2: bool, marker: str = "", token: str = "",
                     next_token: str = "", start_after: str = "", fetch_owner: bool = False) -> bytes:
    head = [el("Name", bucket), el("Prefix", _enc(prefix, url))]
    if v2:
        if token:
            head.append(el("ContinuationToken", token))
        if start_after:
            head.append(el("StartAfter", _enc(start_after, url)))
    else:
        head.append(el("Marker", _enc(marker, url)))
    head += [el("MaxKeys", max_keys), el("Delimiter", _enc(delimiter, url))]
    if url:
        head.append(el("EncodingType", "url"))
    head.append(el("IsTruncated", str(result.truncated).lower()))
    if result.truncated:
        head.append(el("NextContinuationToken", next_token) if v2
                    else el("NextMarker", _enc(result.next_marker, url)))
    if v2:
        head.append(el("KeyCount", len(result.objects) + len(result.common_prefixes)))
    show_owner = owner_id if (fetch_owner or not v2) else None
    body = [_contents(o, url, show_owner) for o in result.objects]
    body += [el("CommonPrefixes", el("Prefix", _enc(p, url))) for p in result.common_prefixes]
    return document("ListBucketResult", *head, *body)


def initiate_xml(bucket: str, key: str, upload_id: str, url: bool) -> bytes:
    return document("InitiateMultipartUploadResult", el("Bucket", bucket), el("Key", _enc(key, url)),
                    el("UploadId", upload_id), el("EncodingType", "url") if url else None)


def list_parts_xml(bucket: str, key: str, upload_id: str, parts: list[dict], marker: int,
                   max_parts: int, truncated: bool, url: bool) -> bytes:
    items = [el("Part", el("PartNumber", p["number"]),
                el("LastModified", iso_whole_seconds(p["last_modified"])), el("ETag", p["etag"]),
                el("HashCrc64ecma", p["crc64"]), el("Size", p["size"]))
             for p in parts]
    next_marker = parts[-1]["number"] if parts else marker
    return document("ListPartsResult", el("Bucket", bucket), el("Key", _enc(key, url)),
                    el("UploadId", upload_id), el("PartNumberMarker", marker),
                    el("NextPartNumberMarker", next_marker), el("MaxParts", max_parts),
                    el("IsTruncated", str(truncated).lower()),
                    el("EncodingType", "url") if url else None, *items)


def list_uploads_xml(bucket: str, uploads: list[dict], prefixes: list[str], truncated: bool, prefix: str,
                     delimiter: str, key_marker: str, upload_id_marker: str, max_uploads: int,
                     url: bool) -> bytes:
    items = [el("Upload", el("Key", _enc(u["key"], url)), el("UploadId", u["upload_id"]),
                el("Initiated", iso_whole_seconds(u["initiated"]))) for u in uploads]
    last_key = max([u["key"] for u in uploads] + prefixes, default="")
    last_upload = uploads[-1]["upload_id"] if uploads and uploads[-1]["key"] == last_key else ""
    return document("ListMultipartUploadsResult", el("Bucket", bucket),
                    el("KeyMarker", _enc(key_marker, url)), el("UploadIdMarker", upload_id_marker),
                    el("NextKeyMarker", _enc(last_key if truncated else "", url)),
                    el("NextUploadIdMarker", last_upload if truncated else ""),
                    el("Delimiter", _enc(delimiter, url)), el("Prefix", _enc(prefix, url)),
                    el("MaxUploads", max_uploads), el("IsTruncated", str(truncated).lower()),
                    el("EncodingType", "url") if url else None, *items,
                    *[el("CommonPrefixes", el("Prefix", _enc(p, url))) for p in prefixes])


def complete_xml(base_url: str, meta: ObjectMeta, url: bool) -> bytes:
    return document("CompleteMultipartUploadResult", el("EncodingType", "url") if url else None,
                    el("Location", f"{base_url}/{meta.bucket}/{quote(meta.key)}"),
                    el("Bucket", meta.bucket), el("Key", _enc(meta.key, url)), el("ETag", meta.etag))


def copy_part_xml(etag: str, last_modified: float) -> bytes:
    return document("CopyPartResult", el("LastModified", iso_whole_seconds(last_modified)), el("ETag", etag))


def copy_result_xml(meta: ObjectMeta) -> bytes:
    return document("CopyObjectResult", el("ETag", meta.etag),
                    el("LastModified", iso_whole_seconds(meta.last_modified)))


@dataclass
class Deleted:
    """One entry of DeleteMultipleObjects' answer."""

    key: str
    version_id: str | None  # as asked
    delete_marker: bool
    marker_version_id: str | None  # of the marker made or removed


def delete_result_xml(deleted: list[Deleted], url: bool) -> bytes:
    return document("DeleteResult", el("EncodingType", "url") if url else None,
                    *[el("Deleted", el("Key", _enc(d.key, url)),
                         el("VersionId", d.version_id) if d.version_id else None,
                         el("DeleteMarker", "true") if d.delete_marker else None,
                         el("DeleteMarkerVersionId", d.marker_version_id) if d.marker_version_id else None)
                      for d in deleted])


def post_response_xml(meta: ObjectMeta, location: str) -> bytes:
    return document("PostResponse", el("Bucket", meta.bucket), el("Location", location),
                    el("Key", meta.key), el("ETag", meta.etag))


# ---- XML in ---------------------------------------------------------------------------------

def _root(body: bytes, tag: str) -> Element:
    root = parse(body, malformed_xml)
    if local(root.tag) != tag:
        raise malformed_xml()
    return root


def parse_complete(body: bytes) -> list[tuple[int, str]]:
    root = _root(body, "CompleteMultipartUpload")
    parts = []
    for part in children(root, "Part"):
        number, etag = text(part, "PartNumber"), text(part, "ETag")
        if number is None or etag is None or not number.strip().isdigit():
            raise malformed_xml()
        parts.append((int(number), etag))
    return parts


# Control characters XML 1.0 forbids, which keys may hold and the SDKs send in <Key> as they are
# (raw or as character references): parsed as private-use stand-ins, then put back.
_CONTROL = re.compile(rb"[\x01-\x08\x0b\x0c\x0e-\x1f]")
_CONTROL_REF = re.compile(rb"&#(?:x0*([0-9a-fA-F]{1,2})|0*([0-9]{1,2}));")
_STAND_IN = 0xF700


def _control_as_stand_ins(body: bytes) -> bytes:
    def stand_in(code: int, original: bytes) -> bytes:
        return chr(_STAND_IN + code).encode() if _CONTROL.match(bytes([code])) else original

    body = _CONTROL_REF.sub(lambda m: stand_in(int(m.group(1), 16) if m.group(1) else int(m.group(2)),
                                               m.group(0)), body)
    return _CONTROL.sub(lambda m: stand_in(m.group(0)[0], m.group(0)), body)


def _stand_ins_as_control(value: str) -> str:
    return "".join(chr(ord(c) - _STAND_IN) if _STAND_IN < ord(c) < _STAND_IN + 32 else c for c in value)


def parse_delete(body: bytes, url: bool) -> tuple[bool, list[tuple[str, str | None]]]:
    """(quiet, [(key, version id or None)])."""
    root = _root(_control_as_stand_ins(body), "Delete")
    quiet = (text(root, "Quiet") or "false").strip().lower() == "true"
    keys = []
    for obj in children(root, "Object"):
        key = _stand_ins_as_control(text(obj, "Key") or "")
        version_id = text(obj, "VersionId")
        if not key or version_id == "":
            raise malformed_xml()
        keys.append((unquote(key) if url else key, version_id))
    if not keys or len(keys) > 1000:
        raise malformed_xml()
    return quiet, keys


def parse_create_bucket(body: bytes) -> str:
    if not body.strip():
        return "Standard"
    root = _root(body, "CreateBucketConfiguration")
    storage = (text(root, "StorageClass") or "Standard").strip()
    if storage not in ("Standard", "IA", "Archive", "ColdArchive", "DeepColdArchive"):
        raise invalid_argument("Invalid storage class.", "StorageClass", storage)
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
    content = text(_root(body, "Style"), "Content")
    if not content:
        raise malformed_xml()
    return content


def _style(name: str, content: str, created: float, modified: float, category: str) -> str:
    return el("Style", el("Name", name), el("Content", content), el("CreateTime", http_date(created)),
               el("LastModifyTime", http_date(modified)), el("Category", category))


def style_xml(name: str, content: str, created: float, modified: float, category: str) -> bytes:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            + _style(name, content, created, modified, category)).encode()


def style_list_xml(items: list[tuple[str, str, float, float, str]]) -> bytes:
    return document("StyleList", *[_style(*item) for item in items])
