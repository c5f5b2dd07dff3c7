"""Bucket configurations kept as documents: referer, policy, logging, website, encryption, public
access block (bucket and account level), tags and CORS (their own modules parse them).

Each is one document ("oss-bucket-config", `<bucket>/<name>`) holding the validated configuration
as OSS returns it: XML documents are kept re-serialized from the parsed tree, the policy as the JSON
text sent. A refused PUT changes nothing; DeleteBucket drops them all (model.delete_bucket).
"""

from __future__ import annotations

import json
from typing import Any
from xml.etree.ElementTree import Element, tostring

from starlette.responses import Response

from emulator.core.errors import ServiceError
from emulator.core.pipeline import RequestContext
from emulator.core.xml import DECLARATION, children, document, parse, text
from emulator.core.xml import element as el
from emulator.services.oss import errors
from emulator.services.oss.bodies import read_small_body
from emulator.services.oss.documents import CONFIG_KIND
from emulator.services.oss.model import OssModel

Ctx = RequestContext[OssModel]
ACCOUNT = ""  # the account-level public access block lives under the empty bucket name
XML_TYPE = "application/xml"


# ---- storage --------------------------------------------------------------------------------


def get_stored(model: OssModel, ns: str, bucket: str, name: str) -> Any:
    doc = model.rt.docs.get(CONFIG_KIND, ns, f"{bucket}/{name}")
    return None if doc is None else doc["value"]


def get(ctx: Ctx, name: str) -> Any:
    """A bucket's configuration `name` (None: never set); NoSuchBucket for a missing bucket."""
    ctx.model.get_bucket(ctx.ns, ctx.bucket)
    return get_stored(ctx.model, ctx.ns, ctx.bucket, name)


def required(ctx: Ctx, name: str, code: str, message: str) -> Any:
    """A bucket's configuration `name`; 404 `code` when it was never set."""
    value = get(ctx, name)
    if value is None:
        raise ServiceError(404, code, message)
    return value


def put(ctx: Ctx, name: str, value: Any) -> None:
    ctx.model.get_bucket(ctx.ns, ctx.bucket)
    ctx.model.rt.docs.put(CONFIG_KIND, ctx.ns, f"{ctx.bucket}/{name}", {"value": value})


def delete(ctx: Ctx, name: str) -> None:
    ctx.model.get_bucket(ctx.ns, ctx.bucket)
    ctx.model.rt.docs.delete(CONFIG_KIND, ctx.ns, f"{ctx.bucket}/{name}")


def _xml(body: str | bytes, status: int = 200) -> Response:
    return Response(body, status, media_type=XML_TYPE)


def _stored_xml(root: Element) -> str:
    return DECLARATION + tostring(root, encoding="unicode")


def _root(body: bytes, tag: str) -> Element:
    root = parse(body, errors.malformed_xml)
    if root.tag != tag:
        raise errors.malformed_xml()
    return root


def _bool(parent: Element, tag: str, required: bool = False) -> bool | None:
    """A boolean element; OSS takes any case (oss2 writes Python's `True`)."""
    value = text(parent, tag)
    if value is None and not required:
        return None
    if value is None or value.strip().lower() not in ("true", "false"):
        raise errors.malformed_xml()
    return value.strip().lower() == "true"


def _not_found(code: str, message: str) -> ServiceError:
    return ServiceError(404, code, message)


def info_fields(ctx: Ctx) -> dict[str, Any]:
    """What GetBucketInfo shows of the configurations: default encryption, logging, BPA."""
    fields: dict[str, Any] = {"block_public_access": bool(get(ctx, "publicAccessBlock"))}
    encryption, logging = get(ctx, "encryption"), get(ctx, "logging")
    if encryption is not None:
        rule = parse(encryption.encode(), errors.malformed_xml)[0]
        fields["sse"] = (text(rule, "SSEAlgorithm") or "None", text(rule, "KMSMasterKeyID") or "")
    if logging is not None:
        enabled = children(parse(logging.encode(), errors.malformed_xml), "LoggingEnabled")
        if enabled:
            fields["log"] = (text(enabled[0], "TargetBucket") or "", text(enabled[0], "TargetPrefix") or "")
    return fields


# ---- referer --------------------------------------------------------------------------------


def default_referer() -> str:
    return document("RefererConfiguration", el("AllowEmptyReferer", "true"), el("RefererList")).decode()


async def put_referer(ctx: Ctx) -> Response:
    root = _root(await read_small_body(ctx), "RefererConfiguration")
    _bool(root, "AllowEmptyReferer", required=True)
    _bool(root, "AllowTruncateQueryString")
    _bool(root, "TruncatePath")
    for list_tag in ("RefererList", "RefererBlacklist"):
        for found in children(root, list_tag):
            if any(c.tag != "Referer" for c in found):
                raise errors.malformed_xml()
    put(ctx, "referer", _stored_xml(root))
    return Response(status_code=200)


async def get_referer(ctx: Ctx) -> Response:
    return _xml(get(ctx, "referer") or default_referer())


# ---- policy ---------------------------------------------------------------------------------


def invalid_policy(message: str) -> ServiceError:
    return ServiceError(400, "InvalidPolicyDocument", message)


async def put_policy(ctx: Ctx) -> Response:
    body = await read_small_body(ctx, 16 * 1024)
    try:
        policy = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise invalid_policy("Invalid policy document: not valid JSON.") from None
    statements = policy.get("Statement") if isinstance(policy, dict) else None
    if not isinstance(statements, list) or not statements or "Version" not in policy:
        raise invalid_policy("Invalid policy document: Version and Statement are required.")
    for statement in statements:
        if not isinstance(statement, dict) or statement.get("Effect") not in ("Allow", "Deny") \
                or "Action" not in statement:
            raise invalid_policy("Invalid policy document: each Statement needs Effect and Action.")
    ctx.model.get_bucket(ctx.ns, ctx.bucket)
    if policy_is_public(body.decode()) and public_access_blocked(ctx.model, ctx.ns, ctx.bucket):
        raise errors.access_denied("Public access is blocked: a public bucket policy cannot be set "
                                   "while Block Public Access is enabled.")
    put(ctx, "policy", body.decode())
    return Response(status_code=200)


async def get_policy(ctx: Ctx) -> Response:
    policy = required(ctx, "policy", "NoSuchBucketPolicy", "The bucket policy does not exist.")
    return Response(policy, 200, media_type="application/json")


async def delete_policy(ctx: Ctx) -> Response:
    delete(ctx, "policy")
    return Response(status_code=204)


def policy_is_public(policy: str | None) -> bool:
    """An Allow statement for every principal ("*") and no source condition makes a bucket public."""
    statements = json.loads(policy)["Statement"] if policy else []
    return any(s.get("Effect") == "Allow" and s.get("Principal") in ("*", ["*"]) and not s.get("Condition")
               for s in statements)


async def get_policy_status(ctx: Ctx) -> Response:
    public = policy_is_public(get(ctx, "policy"))
    return _xml(document("PolicyStatus", el("IsPublic", str(public).lower())))


# ---- logging --------------------------------------------------------------------------------


async def put_logging(ctx: Ctx) -> Response:
    root = _root(await read_small_body(ctx), "BucketLoggingStatus")
    for enabled in children(root, "LoggingEnabled"):
        target = text(enabled, "TargetBucket")
        if not target:
            raise errors.malformed_xml()
        if not ctx.model.bucket_exists(ctx.ns, target):
            raise ServiceError(400, "InvalidTargetBucketForLogging", "The target bucket for logging "
                               "does not exist, is not owned by you, or is in another region.",
                               TargetBucket=target)
    put(ctx, "logging", _stored_xml(root))
    return Response(status_code=200)


async def get_logging(ctx: Ctx) -> Response:
    return _xml(get(ctx, "logging") or document("BucketLoggingStatus"))


async def delete_logging(ctx: Ctx) -> Response:
    delete(ctx, "logging")
    return Response(status_code=204)


# ---- website --------------------------------------------------------------------------------


async def put_website(ctx: Ctx) -> Response:
    root = _root(await read_small_body(ctx), "WebsiteConfiguration")
    index = children(root, "IndexDocument")
    error = children(root, "ErrorDocument")
    if not index and not error and not children(root, "RoutingRules"):
        raise errors.malformed_xml()
    if index and not text(index[0], "Suffix"):
        raise errors.malformed_xml()
    if error and not text(error[0], "Key"):
        raise errors.malformed_xml()
    status = text(error[0], "HttpStatus") if error else None
    if status not in (None, "200", "404"):
        raise errors.invalid_argument("ErrorDocument HttpStatus must be 200 or 404.",
                                      "HttpStatus", status)
    put(ctx, "website", _stored_xml(root))
    return Response(status_code=200)


async def get_website(ctx: Ctx) -> Response:
    return _xml(required(ctx, "website", "NoSuchWebsiteConfiguration",
                         "The specified bucket does not have a website configuration."))


async def delete_website(ctx: Ctx) -> Response:
    delete(ctx, "website")
    return Response(status_code=204)


# ---- encryption -----------------------------------------------------------------------------


async def put_encryption(ctx: Ctx) -> Response:
    root = _root(await read_small_body(ctx), "ServerSideEncryptionRule")
    rule = children(root, "ApplyServerSideEncryptionByDefault")
    if len(rule) != 1:
        raise errors.malformed_xml()
    algorithm = text(rule[0], "SSEAlgorithm")
    if algorithm not in ("AES256", "KMS", "SM4"):
        raise ServiceError(400, "InvalidEncryptionAlgorithmError", "The Encryption request you "
                           "specified is not valid. Supported value: AES256/KMS/SM4.")
    if algorithm != "KMS" and (text(rule[0], "KMSMasterKeyID") or text(rule[0], "KMSDataEncryption")):
        raise errors.invalid_argument("KMSMasterKeyID is not applicable if the default sse algorithm "
                                      "is not KMS.", "KMSMasterKeyID")
    if text(rule[0], "KMSDataEncryption") not in (None, "", "SM4"):
        raise errors.invalid_argument("KMSDataEncryption must be SM4.", "KMSDataEncryption")
    put(ctx, "encryption", _stored_xml(root))
    return Response(status_code=200)


async def get_encryption(ctx: Ctx) -> Response:
    return _xml(required(ctx, "encryption", "NoSuchServerSideEncryptionRule",
                         "The server side encryption configuration was not found."))


async def delete_encryption(ctx: Ctx) -> Response:
    delete(ctx, "encryption")
    return Response(status_code=204)


# ---- public access block --------------------------------------------------------------------


def _block_xml(blocked: bool) -> bytes:
    return document("PublicAccessBlockConfiguration", el("BlockPublicAccess", str(blocked).lower()))


async def _parse_block(ctx: Ctx) -> bool:
    root = _root(await read_small_body(ctx), "PublicAccessBlockConfiguration")
    blocked = _bool(root, "BlockPublicAccess", required=True)
    return bool(blocked)


def public_access_blocked(model: OssModel, ns: str, bucket: str) -> bool:
    """Block Public Access on the bucket or on its account: public ACLs and policies are ignored."""
    return bool(get_stored(model, ns, bucket, "publicAccessBlock")
                or get_stored(model, ns, ACCOUNT, "publicAccessBlock"))


async def put_bucket_block(ctx: Ctx) -> Response:
    put(ctx, "publicAccessBlock", await _parse_block(ctx))
    return Response(status_code=200)


async def get_bucket_block(ctx: Ctx) -> Response:
    return _xml(_block_xml(bool(get(ctx, "publicAccessBlock"))))


async def delete_bucket_block(ctx: Ctx) -> Response:
    delete(ctx, "publicAccessBlock")
    return Response(status_code=204)


async def put_account_block(ctx: Ctx) -> Response:
    blocked = await _parse_block(ctx)
    ctx.model.rt.docs.put(CONFIG_KIND, ctx.ns, f"{ACCOUNT}/publicAccessBlock", {"value": blocked})
    return Response(status_code=200)


async def get_account_block(ctx: Ctx) -> Response:
    return _xml(_block_xml(bool(get_stored(ctx.model, ctx.ns, ACCOUNT, "publicAccessBlock"))))


async def delete_account_block(ctx: Ctx) -> Response:
    ctx.model.rt.docs.delete(CONFIG_KIND, ctx.ns, f"{ACCOUNT}/publicAccessBlock")
    return Response(status_code=204)


# ---- DescribeRegions ------------------------------------------------------------------------

# OSS's public regions (the region list of the OSS endpoints page); the emulator's own region is
# added when it is not one of them.
REGIONS = tuple("""cn-hangzhou cn-shanghai cn-nanjing cn-fuzhou cn-wuhan-lr cn-qingdao cn-beijing
 cn-zhangjiakou cn-huhehaote cn-wulanchabu cn-shenzhen cn-heyuan cn-guangzhou cn-chengdu cn-hongkong
 ap-northeast-1 ap-northeast-2 ap-southeast-1 ap-southeast-3 ap-southeast-5 ap-southeast-6
 ap-southeast-7 eu-central-1 eu-west-1 us-west-1 us-east-1 na-south-1 me-east-1 me-central-1""".split())


def _region_info(region: str) -> str:
    return el("RegionInfo", el("Region", f"oss-{region}"),
              el("InternetEndpoint", f"oss-{region}.aliyuncs.com"),
              el("InternalEndpoint", f"oss-{region}-internal.aliyuncs.com"),
              el("AccelerateEndpoint", "oss-accelerate.aliyuncs.com"))


async def describe_regions(ctx: Ctx) -> Response:
    regions = REGIONS if ctx.runtime.config.region in REGIONS else (*REGIONS, ctx.runtime.config.region)
    wanted = ctx.query.get("regions", "")
    if wanted:
        region = wanted.removeprefix("oss-")
        if region not in regions:
            raise _not_found("NoSuchRegion", f"{wanted} is not a valid OSS region.")
        regions = (region,)
    return _xml(document("RegionInfoList", *(_region_info(r) for r in regions)))
