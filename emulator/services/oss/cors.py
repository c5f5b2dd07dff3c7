"""Bucket CORS: the `<CORSConfiguration>` document, the OPTIONS preflight and the CORS headers of
ordinary responses, so a browser page on another origin can upload to and read from a bucket.

Rules are tried in order; the first whose AllowedOrigin (one `*` wildcard), AllowedMethod and
AllowedHeader (every requested header, case-insensitive, one `*` wildcard) all match wins. A
preflight nothing matches is refused 403 AccessForbidden, as OSS does; an ordinary request nothing
matches is answered without CORS headers.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from starlette.responses import Response

from emulator.core.accounts import DEFAULT_NAMESPACE
from emulator.core.errors import ServiceError
from emulator.core.pipeline import RequestContext
from emulator.core.xml import children, document, parse, text
from emulator.core.xml import element as el
from emulator.services.oss import bucket_config, errors
from emulator.services.oss.bodies import read_small_body
from emulator.services.oss.model import OssModel

Ctx = RequestContext[OssModel]
Rule = dict[str, Any]
MAX_RULES = 10
MAX_BODY = 16 * 1024
METHODS = ("GET", "PUT", "POST", "DELETE", "HEAD")
_REFUSED = ("CORSResponse: This CORS request is not allowed. This is usually because the evalution of "
            "Origin, request method / Access-Control-Request-Method or Access-Control-Requet-Headers "
            "are not whitelisted by the resource's CORS spec.")


def access_forbidden(message: str = _REFUSED) -> ServiceError:
    return ServiceError(403, "AccessForbidden", message)


def _invalid(message: str, name: str, value: str) -> ServiceError:
    return errors.invalid_argument(message, name, value)


def parse_cors_xml(body: bytes) -> dict[str, Any]:
    """The configuration as {"rules": [...], "vary": bool}, checked as OSS checks it."""
    if len(body) > MAX_BODY:
        raise errors.invalid_argument("The CORS configuration is larger than 16 KB.")
    root = parse(body, errors.malformed_xml)
    rule_nodes = children(root, "CORSRule")
    if root.tag != "CORSConfiguration" or not rule_nodes:
        raise errors.malformed_xml()
    if len(rule_nodes) > MAX_RULES:
        raise _invalid(f"Too many CORS rules: at most {MAX_RULES}.", "CORSRule", str(len(rule_nodes)))
    rules = []
    for node in rule_nodes:
        if any(c.tag not in ("AllowedOrigin", "AllowedMethod", "AllowedHeader", "ExposeHeader",
                             "MaxAgeSeconds") for c in node):
            raise errors.malformed_xml()
        rule: Rule = {name: [(c.text or "").strip() for c in children(node, tag)]
                      for name, tag in (("origins", "AllowedOrigin"), ("methods", "AllowedMethod"),
                                        ("headers", "AllowedHeader"), ("expose", "ExposeHeader"))}
        if not rule["origins"] or not rule["methods"]:
            raise errors.malformed_xml()
        for origin in rule["origins"]:
            if origin.count("*") > 1 or not origin:
                raise _invalid("AllowedOrigin can contain at most one * wildcard.", "AllowedOrigin", origin)
        for method in rule["methods"]:
            if method not in METHODS:
                raise _invalid(f"Found unsupported HTTP method in CORS config. Unsupported method is "
                               f"{method}", "AllowedMethod", method)
        for header in rule["headers"]:
            if header.count("*") > 1:
                raise _invalid("AllowedHeader can contain at most one * wildcard.", "AllowedHeader", header)
        for header in rule["expose"]:
            if "*" in header:
                raise _invalid("ExposeHeader cannot contain a wildcard.", "ExposeHeader", header)
        max_age = text(node, "MaxAgeSeconds")
        if max_age is not None:
            if not max_age.strip().isdigit():
                raise _invalid("MaxAgeSeconds must be a non-negative integer.", "MaxAgeSeconds", max_age)
            rule["max_age"] = int(max_age)
        rules.append(rule)
    vary = text(root, "ResponseVary")
    if vary not in (None, "true", "false"):
        raise errors.malformed_xml()
    return {"rules": rules, "vary": vary == "true"}


def cors_xml(config: dict[str, Any]) -> bytes:
    rules = [el("CORSRule", *(el("AllowedOrigin", o) for o in r["origins"]),
                *(el("AllowedMethod", m) for m in r["methods"]),
                *(el("AllowedHeader", h) for h in r["headers"]),
                *(el("ExposeHeader", h) for h in r["expose"]),
                el("MaxAgeSeconds", r["max_age"]) if "max_age" in r else None)
             for r in config["rules"]]
    return document("CORSConfiguration", *rules, el("ResponseVary", str(config["vary"]).lower()))


@lru_cache(maxsize=256)
def _pattern(wildcard: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in wildcard.split("*")), re.IGNORECASE)


def _matches(patterns: list[str], value: str) -> bool:
    return any(_pattern(p).fullmatch(value) for p in patterns)


def matching_rule(config: dict[str, Any] | None, origin: str, method: str,
                  request_headers: list[str]) -> Rule | None:
    for rule in (config or {}).get("rules", []):
        if (_matches(rule["origins"], origin) and method in rule["methods"]
                and all(_matches(rule["headers"], h) for h in request_headers)):
            return rule
    return None


def _allow_headers(origin: str, rule: Rule, vary: bool) -> dict[str, str]:
    headers = {"Access-Control-Allow-Origin": origin,
               "Access-Control-Allow-Methods": ", ".join(rule["methods"])}
    if rule["expose"]:
        headers["Access-Control-Expose-Headers"] = ", ".join(rule["expose"])
    if "max_age" in rule:
        headers["Access-Control-Max-Age"] = str(rule["max_age"])
    if vary:
        headers["Vary"] = "Origin"
    return headers


# ---- handlers -------------------------------------------------------------------------------


async def put_bucket_cors(ctx: Ctx) -> Response:
    config = parse_cors_xml(await read_small_body(ctx, MAX_BODY + 1))
    bucket_config.put(ctx, "cors", config)
    return Response(status_code=200)


async def get_bucket_cors(ctx: Ctx) -> Response:
    config = bucket_config.required(ctx, "cors", "NoSuchCORSConfiguration",
                                    "The CORS configuration does not exist.")
    return Response(cors_xml(config), 200, media_type="application/xml")


async def delete_bucket_cors(ctx: Ctx) -> Response:
    bucket_config.delete(ctx, "cors")
    return Response(status_code=204)


async def preflight(ctx: Ctx) -> Response:
    """OPTIONS: unsigned, answered from the bucket's rules."""
    origin = ctx.headers.get("origin")
    method = ctx.headers.get("access-control-request-method")
    if not origin or not method:
        raise access_forbidden("CORSResponse: Insufficient information. Origin request header and "
                               "Access-Control-Request-Method are needed.")
    config = bucket_config.get(ctx, "cors")
    if config is None:
        raise access_forbidden("CORSResponse: CORS is not enabled for this bucket.")
    requested = [h.strip() for h in ctx.headers.get("access-control-request-headers", "").split(",")
                 if h.strip()]
    rule = matching_rule(config, origin, method, requested)
    if rule is None:
        raise access_forbidden()
    headers = _allow_headers(origin, rule, config["vary"])
    if requested:
        headers["Access-Control-Allow-Headers"] = ", ".join(requested)
    return Response(status_code=200, headers=headers)


def decorate(ctx: Ctx, response: Response) -> None:
    """CORS headers on an ordinary response (errors too) when the bucket's rules allow its Origin."""
    origin = ctx.headers.get("origin")
    if not origin or not ctx.bucket or ctx.operation == "OptionObject":
        return
    config = bucket_config.get_stored(ctx.model, ctx.namespace or DEFAULT_NAMESPACE, ctx.bucket, "cors")
    rule = matching_rule(config, origin, ctx.method, [])
    if rule is not None:
        response.headers.update(_allow_headers(origin, rule, config["vary"]))
