"""Bucket versioning on the wire: Put/GetBucketVersioning and ListObjectVersions (the state
rules are in versions.py)."""

from __future__ import annotations

from starlette.responses import Response

from emulator.core.accounts import DEFAULT_NAMESPACE
from emulator.core.pipeline import RequestContext
from emulator.core.timefmt import iso_whole_seconds
from emulator.core.xml import document, parse, text
from emulator.core.xml import element as el
from emulator.services.oss import errors, versions
from emulator.services.oss.bodies import read_small_body
from emulator.services.oss.documents import ObjectMeta
from emulator.services.oss.model import OssModel
from emulator.services.oss.wire import XML_TYPE
from emulator.services.oss.wire import _enc as enc
from emulator.services.oss.wire import _owner as owner

Ctx = RequestContext[OssModel]


async def put_bucket_versioning(ctx: Ctx) -> Response:
    root = parse(await read_small_body(ctx), errors.malformed_xml)
    status = text(root, "Status") if root.tag == "VersioningConfiguration" else None
    if status is None:
        raise errors.malformed_xml()
    if status not in versions.STATUSES:
        raise errors.invalid_argument("Invalid versioning status.", "Status", status)
    ctx.model.set_versioning(ctx.ns, ctx.bucket, status)
    return Response(status_code=200)


async def get_bucket_versioning(ctx: Ctx) -> Response:
    status = ctx.model.versioning(ctx.ns, ctx.bucket)
    return Response(document("VersioningConfiguration", el("Status", status) if status else None),
                    media_type=XML_TYPE)


def version_param(ctx: Ctx) -> str | None:
    """The version an object operation addresses (`?versionId=`); None for the current one."""
    version_id = ctx.query.get("versionId")
    if version_id == "":
        raise errors.invalid_version_id(version_id)
    return version_id


def version_header(meta: ObjectMeta) -> dict[str, str]:
    """x-oss-version-id of an answer about one version (none in a never-versioned bucket)."""
    return {"x-oss-version-id": meta.version_id} if meta.version_id else {}


def _int(ctx: Ctx, name: str, default: int, low: int, high: int) -> int:
    raw = ctx.query.get(name, "")
    if raw == "":
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise errors.integer_argument(name, raw, low, high)
    return int(raw)


async def list_object_versions(ctx: Ctx) -> Response:
    q = ctx.query
    prefix, delimiter = q.get("prefix", ""), q.get("delimiter", "")
    key_marker, version_marker = q.get("key-marker", ""), q.get("version-id-marker", "")
    max_keys = _int(ctx, "max-keys", 100, 1, 1000)
    url = q.get("encoding-type") == "url"
    if q.get("encoding-type", "url") not in ("url", ""):
        raise errors.invalid_argument("The encoding-type must be url.", "encoding-type", q["encoding-type"])
    if version_marker and not key_marker:
        raise errors.invalid_argument("A version-id marker cannot be specified without a key marker.",
                                      "version-id-marker", version_marker)
    ctx.model.get_bucket(ctx.ns, ctx.bucket)
    items: list[str] = []
    prefixes: list[str] = []
    last: tuple[str, str] = ("", "")
    truncated = False
    passed_marker = False  # within the marker key: the marker version was listed before
    for doc, latest in versions.entries(ctx.runtime.docs, ctx.ns, ctx.bucket, prefix, key_marker):
        key, version_id = doc["key"], versions.version_of(doc)
        if key == key_marker and not passed_marker:
            passed_marker = bool(version_marker) and version_id == version_marker
            continue
        common = None
        if delimiter:
            idx = key.find(delimiter, len(prefix))
            if idx >= 0:
                common = key[: idx + len(delimiter)]
                if common in prefixes or common <= key_marker:
                    continue
        if len(items) + len(prefixes) >= max_keys:
            truncated = True
            break
        if common is not None:
            prefixes.append(common)
            last = (common, "")
            continue
        items.append(_entry(ctx, doc, latest, url))
        last = (key, version_id)
    head = [el("Name", ctx.bucket), el("Prefix", enc(prefix, url)), el("KeyMarker", enc(key_marker, url)),
            el("VersionIdMarker", version_marker), el("MaxKeys", max_keys),
            el("Delimiter", enc(delimiter, url)), el("IsTruncated", str(truncated).lower())]
    if truncated:
        head += [el("NextKeyMarker", enc(last[0], url)), el("NextVersionIdMarker", last[1])]
    if url:
        head.append(el("EncodingType", "url"))
    body = document("ListVersionsResult", *head, *items,
                    *[el("CommonPrefixes", el("Prefix", enc(p, url))) for p in prefixes])
    return Response(body, media_type=XML_TYPE)


def _entry(ctx: Ctx, doc: dict, latest: bool, url: bool) -> str:
    common = [el("Key", enc(doc["key"], url)), el("VersionId", versions.version_of(doc)),
              el("IsLatest", str(latest).lower()),
              el("LastModified", iso_whole_seconds(doc["last_modified"]))]
    owner_id = ctx.runtime.config.account_id if ctx.ns == DEFAULT_NAMESPACE else ctx.ns
    if doc.get("delete_marker"):
        return el("DeleteMarker", *common, owner(owner_id))
    return el("Version", *common, el("ETag", doc["etag"]), el("Type", doc["object_type"]),
              el("Size", doc["size"]), el("StorageClass", doc["storage_class"]), owner(owner_id))
