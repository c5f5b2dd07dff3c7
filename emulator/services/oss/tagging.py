"""Object and bucket tagging: the `<Tagging>` document, the `x-oss-tagging` header, OSS's limits.

Object tags: at most 10, unique keys, key 1-128 characters, value 0-256, letters, digits, spaces
and `+ - = . _ : /` (OSS's PutObjectTagging page; EC pages 0010-00000209/216/217/219).
Bucket tags: at most 20, key 1-64 bytes not starting with http://, https://, Aliyun or acs
(any case), value 0-128 bytes, any UTF-8 (EC pages 0010-00000002/207/219).
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from starlette.responses import Response

from emulator.core.errors import ServiceError
from emulator.core.pipeline import RequestContext
from emulator.core.xml import children, document, parse, text
from emulator.core.xml import element as el
from emulator.services.oss import bucket_config, errors
from emulator.services.oss.bodies import read_small_body
from emulator.services.oss.model import OssModel
from emulator.services.oss.versioning import version_header, version_param

Tags = dict[str, str]
Ctx = RequestContext[OssModel]

MAX_OBJECT_TAGS, MAX_BUCKET_TAGS = 10, 20
_OBJECT_PUNCTUATION = frozenset(" +-=._:/")
_RESERVED_BUCKET_PREFIXES = ("http://", "https://", "aliyun", "acs")


def invalid_tag(message: str, ec: str) -> ServiceError:
    return ServiceError(400, "InvalidTag", message, EC=ec)


def _object_chars_ok(value: str) -> bool:
    return all(c.isalnum() or c in _OBJECT_PUNCTUATION for c in value)


def check_object_tags(pairs: list[tuple[str, str]]) -> Tags:
    if len(pairs) > MAX_OBJECT_TAGS:
        raise invalid_tag(f"Object tags cannot be greater than {MAX_OBJECT_TAGS}.", "0010-00000217")
    tags: Tags = {}
    for key, value in pairs:
        if not key or len(key) > 128:
            raise invalid_tag("The TagKey you have provided is invalid.", "0010-00000209")
        if len(value) > 256 or not _object_chars_ok(key) or not _object_chars_ok(value):
            raise invalid_tag("The TagValue you have provided is invalid.", "0010-00000217")
        if key in tags:
            raise invalid_tag("Cannot provide multiple Tags with the same key.", "0010-00000217")
        tags[key] = value
    return tags


def check_bucket_tags(pairs: list[tuple[str, str]]) -> Tags:
    if len(pairs) > MAX_BUCKET_TAGS:
        raise invalid_tag(f"Bucket tags cannot be greater than {MAX_BUCKET_TAGS}.", "0010-00000217")
    tags: Tags = {}
    for key, value in pairs:
        if key.lower().startswith(_RESERVED_BUCKET_PREFIXES):
            raise invalid_tag("The TagKey you have provided is invalid.", "0010-00000207")
        if not key or len(key.encode()) > 64 or len(value.encode()) > 128:
            raise invalid_tag("The TagKey or TagValue you have provided is invalid.", "0010-00000219")
        if key in tags:
            raise invalid_tag("Cannot provide multiple Tags with the same key.", "0010-00000217")
        tags[key] = value
    return tags


def parse_tagging_xml(body: bytes) -> list[tuple[str, str]]:
    """(key, value) pairs of a `<Tagging><TagSet><Tag>...` document, in order; Key is required."""
    root = parse(body, errors.malformed_xml)
    tag_sets = children(root, "TagSet")
    if root.tag != "Tagging" or len(tag_sets) != 1:
        raise errors.malformed_xml()
    pairs = []
    for tag in tag_sets[0]:
        key, value = text(tag, "Key"), text(tag, "Value")
        if tag.tag != "Tag" or key is None:
            raise errors.malformed_xml()
        pairs.append((key, value or ""))
    return pairs


def parse_tagging_header(header: str) -> list[tuple[str, str]]:
    """`k1=v1&k2` (URL-encoded keys and values) as pairs; `aa=bb=cc` is refused (EC 0010-00000219)."""
    pairs = []
    for item in header.split("&") if header else []:
        if item.count("=") > 1 or item.startswith("="):
            raise invalid_tag("The x-oss-tagging header is not in key or key=value format.",
                              "0010-00000219")
        key, _, value = item.partition("=")
        try:
            pairs.append((unquote_to_bytes(key).decode(), unquote_to_bytes(value).decode()))
        except UnicodeDecodeError:
            raise invalid_tag("The tag is not UTF-8 encoded.", "0010-00000216") from None
    return pairs


def header_tags(ctx: Ctx) -> Tags | None:
    """The tags `x-oss-tagging` asks for, checked; None when the header is absent."""
    header = ctx.headers.get("x-oss-tagging")
    return None if header is None else check_object_tags(parse_tagging_header(header))


def tagging_xml(tags: Tags) -> bytes:
    return document("Tagging", el("TagSet", *(el("Tag", el("Key", k), el("Value", v))
                                             for k, v in tags.items())))


# ---- handlers -------------------------------------------------------------------------------


# The object operations act on the version `?versionId=` names, else on the current one.


async def put_object_tagging(ctx: Ctx) -> Response:
    version_id = version_param(ctx)
    tags = check_object_tags(parse_tagging_xml(await read_small_body(ctx)))
    meta = ctx.model.set_object_fields(ctx.ns, ctx.bucket, ctx.key, version_id, tags=tags)
    return Response(status_code=200, headers=version_header(meta))


async def get_object_tagging(ctx: Ctx) -> Response:
    meta = ctx.model.head_object(ctx.ns, ctx.bucket, ctx.key, version_param(ctx))
    return Response(tagging_xml(meta.tags), 200, media_type="application/xml",
                    headers=version_header(meta))


async def delete_object_tagging(ctx: Ctx) -> Response:
    meta = ctx.model.set_object_fields(ctx.ns, ctx.bucket, ctx.key, version_param(ctx), tags={})
    return Response(status_code=204, headers=version_header(meta))


async def put_bucket_tags(ctx: Ctx) -> Response:
    tags = check_bucket_tags(parse_tagging_xml(await read_small_body(ctx)))
    bucket_config.put(ctx, "tagging", tags)
    return Response(status_code=200)


async def get_bucket_tags(ctx: Ctx) -> Response:
    return Response(tagging_xml(bucket_config.get(ctx, "tagging") or {}), 200,
                    media_type="application/xml")


async def delete_bucket_tags(ctx: Ctx) -> Response:
    """Every tag, or only the keys `?tagging=k1,k2` names."""
    only = [k for k in ctx.query.get("tagging", "").split(",") if k]
    tags = bucket_config.get(ctx, "tagging") or {}
    kept = {k: v for k, v in tags.items() if only and k not in only}
    if kept:
        bucket_config.put(ctx, "tagging", kept)
    else:
        bucket_config.delete(ctx, "tagging")
    return Response(status_code=204)
