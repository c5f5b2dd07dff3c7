"""Who may do what without signing: object ACLs over bucket ACLs, Block Public Access, and the
bucket's referer (hotlink) rules. Plus PutObjectAcl / GetObjectAcl.

An object's ACL `default` inherits its bucket's. Anonymous reads (GET/HEAD of objects) need an
effective public-read or public-read-write ACL; anonymous writes need public-read-write. Block Public
Access (bucket or account) makes public ACLs count for nothing. Referer rules apply to browser-style
access (anonymous or signed in the URL), never to requests signed in the Authorization header.
"""

from __future__ import annotations

import re
from xml.etree.ElementTree import Element

from starlette.responses import Response

from emulator.core.accounts import DEFAULT_NAMESPACE
from emulator.core.errors import ServiceError
from emulator.core.pipeline import RequestContext
from emulator.core.xml import children, parse, text
from emulator.services.oss import bucket_config, errors, wire
from emulator.services.oss.model import OssModel
from emulator.services.oss.versioning import version_header, version_param

Ctx = RequestContext[OssModel]
BUCKET_ACLS = ("private", "public-read", "public-read-write")
OBJECT_ACLS = BUCKET_ACLS + ("default",)
# Object operations only a signed caller may perform, whatever the ACL.
OWNER_ONLY = frozenset({"PutObjectAcl", "GetObjectAcl", "PutObjectTagging", "GetObjectTagging",
                        "DeleteObjectTagging"})


def check_object_acl(acl: str | None) -> None:
    if acl is not None and acl not in OBJECT_ACLS:
        raise errors.invalid_argument("no such object access control exists", "x-oss-object-acl", acl)


def check_public_grant(ctx: Ctx, acl: str | None) -> None:
    """Block Public Access (bucket or account) also refuses to grant new public access."""
    if acl in ("public-read", "public-read-write") and bucket_config.public_access_blocked(
            ctx.model, ctx.ns, ctx.bucket):
        raise errors.access_denied("Public access is blocked: a public ACL cannot be set while Block "
                                   "Public Access is enabled.")


def effective_acl(model: OssModel, ns: str, bucket: str, key: str, version_id: str | None = None) -> str:
    bucket_acl = model.get_bucket(ns, bucket).acl
    if not key:
        return bucket_acl
    try:
        acl = model.head_object(ns, bucket, key, version_id).acl
    except ServiceError:
        return bucket_acl  # a new object: the bucket decides
    return bucket_acl if acl == "default" else acl


def anonymous_allowed(ctx: Ctx, method: str, level: str) -> bool:
    """May an unsigned caller do `method` here (object level only)?"""
    ns, bucket = DEFAULT_NAMESPACE, ctx.bucket
    if level != "object" or not bucket or ctx.operation in OWNER_ONLY \
            or not ctx.model.bucket_exists(ns, bucket):
        return False
    if bucket_config.public_access_blocked(ctx.model, ns, bucket):
        return False
    acl = effective_acl(ctx.model, ns, bucket, ctx.key, ctx.query.get("versionId") or None)
    if method in ("GET", "HEAD"):
        return acl in ("public-read", "public-read-write")
    return acl == "public-read-write"


# ---- referer --------------------------------------------------------------------------------


def _wildcard(pattern: str) -> re.Pattern[str]:
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.IGNORECASE)


def _referers(root: Element, tag: str) -> list[str]:
    return [(r.text or "").strip() for found in children(root, tag) for r in found]


def referer_allowed(config_xml: str | None, referer: str) -> bool:
    if config_xml is None:
        return True
    root = parse(config_xml.encode(), errors.malformed_xml)
    def flag(tag: str, default: str) -> bool:
        return (text(root, tag) or default).strip().lower() == "true"

    if not referer:
        return flag("AllowEmptyReferer", "true")
    if flag("AllowTruncateQueryString", "true"):
        referer = referer.split("?", 1)[0]
    candidates = [referer]
    if flag("TruncatePath", "false"):
        scheme, sep, rest = referer.partition("://")
        candidates.append(scheme + sep + rest.split("/", 1)[0])

    def listed(tag: str) -> bool:
        return any(_wildcard(p).fullmatch(c) for p in _referers(root, tag) for c in candidates)

    if listed("RefererBlacklist"):
        return False
    allow = _referers(root, "RefererList")
    return not allow or listed("RefererList")


def check_referer(ctx: Ctx, ns: str) -> None:
    """Referer rules for a request not signed in the Authorization header."""
    if not ctx.key or "authorization" in ctx.headers or not ctx.model.bucket_exists(ns, ctx.bucket):
        return
    config = bucket_config.get_stored(ctx.model, ns, ctx.bucket, "referer")
    if not referer_allowed(config, ctx.headers.get("referer", "")):
        raise errors.access_denied("You are denied by bucket referer policy.")


# ---- handlers -------------------------------------------------------------------------------


async def put_object_acl(ctx: Ctx) -> Response:
    acl = ctx.headers.get("x-oss-object-acl")
    if acl is None:
        raise errors.missing_argument("x-oss-object-acl")
    check_object_acl(acl)
    version_id = version_param(ctx)
    ctx.model.head_object(ctx.ns, ctx.bucket, ctx.key, version_id)
    check_public_grant(ctx, acl)
    meta = ctx.model.set_object_fields(ctx.ns, ctx.bucket, ctx.key, version_id, acl=acl)
    return Response(status_code=200, headers=version_header(meta))


async def get_object_acl(ctx: Ctx) -> Response:
    meta = ctx.model.head_object(ctx.ns, ctx.bucket, ctx.key, version_param(ctx))
    return Response(wire.acl_xml(meta.acl, _owner(ctx)), 200, media_type=wire.XML_TYPE,
                    headers=version_header(meta))


def _owner(ctx: Ctx) -> str:
    return ctx.runtime.config.account_id if ctx.ns == DEFAULT_NAMESPACE else ctx.ns
