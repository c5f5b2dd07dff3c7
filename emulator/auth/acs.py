"""Alibaba Cloud POP (RPC-style API) request signatures: ACS3-HMAC-SHA256 (V3, the SDK default)
and the legacy RPC V2 HMAC-SHA1 signature (`Config(signature_algorithm='v2')`).

Verification works on the request exactly as received: the Host header the client signed may be
anything (the IMM SDK signs `http://127.0.0.1:PORT` when the endpoint carries a scheme), so the
canonical headers come from the wire, never from a rebuilt value.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import quote

from emulator.core.errors import ServiceError

ACS3_ALGORITHM = "ACS3-HMAC-SHA256"


@dataclass(frozen=True)
class SignedRequest:
    method: str
    path: str
    params: list[tuple[str, str]]  # decoded query parameters (form semantics), in wire order
    headers: list[tuple[str, str]]  # as received; names in any case
    body: bytes


def _rfc3986(value: str) -> str:
    return quote(value, safe="~", encoding="utf-8")


def _header_values(headers: list[tuple[str, str]]) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for name, value in headers:
        values.setdefault(name.lower(), []).append(value.strip())
    return values


def _incomplete(message: str) -> ServiceError:
    return ServiceError(400, "IncompleteSignature", message)


def _mismatch() -> ServiceError:
    return ServiceError(400, "SignatureDoesNotMatch",
                        "Specified signature is not matched with our calculation.")


def _unknown_key(access_key_id: str) -> ServiceError:
    return ServiceError(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.",
                        AccessKeyId=access_key_id)


def _check_timestamp(raw: str, field: str, max_skew: int) -> None:
    try:
        when = datetime.strptime(raw, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        raise ServiceError(400, "InvalidTimeStamp.Format",
                           f"Specified {field} is not valid.") from None
    # Clients sign with their wall clock, so the skew is checked against the wall clock too.
    if max_skew and abs(when.timestamp() - time.time()) > max_skew:
        raise ServiceError(400, "InvalidTimeStamp.Expired",
                           f"Specified time stamp or date value is expired. {field}: {raw}")


def acs3_signature(request: SignedRequest, signed_headers: list[str], secret: str) -> str:
    """Hex signature of a V3 request over the given (lower-case) header names."""
    values = _header_values(request.headers)
    query = "&".join(f"{k}={_rfc3986(v)}" for k, v in sorted(request.params, key=lambda kv: kv[0]))
    canonical_headers = "".join(f"{n}:{','.join(sorted(values.get(n, [])))}\n" for n in signed_headers)
    canonical_request = "\n".join([
        request.method, request.path or "/", query, canonical_headers, ";".join(signed_headers),
        hashlib.sha256(request.body).hexdigest()])
    string_to_sign = f"{ACS3_ALGORITHM}\n{hashlib.sha256(canonical_request.encode()).hexdigest()}"
    return hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()


def rpc_v2_signature(method: str, params: list[tuple[str, str]], secret: str) -> str:
    """Base64 HMAC-SHA1 over every parameter but Signature (RPC signature version 1.0)."""
    pairs = sorted((k, v) for k, v in params if k != "Signature")
    canonical = "&".join(f"{_rfc3986(k)}={_rfc3986(v)}" for k, v in pairs)
    string_to_sign = f"{method}&%2F&{_rfc3986(canonical)}"
    digest = hmac.new((secret + "&").encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def verify_acs3(request: SignedRequest, authorization: str,
                secret_for: Callable[[str], str | None], max_skew: int) -> str:
    """The AccessKeyId of a correctly signed V3 request; ServiceError otherwise."""
    algorithm, _, rest = authorization.partition(" ")
    if algorithm != ACS3_ALGORITHM:
        raise ServiceError(400, "InvalidSignatureMethod",
                           f"Specified signature method {algorithm} is not supported.")
    try:
        parts = dict(p.strip().split("=", 1) for p in rest.split(","))
        access_key_id, signed, signature = (parts["Credential"], parts["SignedHeaders"],
                                            parts["Signature"])
    except (ValueError, KeyError):
        raise _incomplete("The Authorization header is not in the ACS3 format "
                          "'ACS3-HMAC-SHA256 Credential=...,SignedHeaders=...,Signature=...'.") from None
    values = _header_values(request.headers)
    signed_headers = [h for h in signed.split(";") if h]
    for required in ("host", "x-acs-date", "x-acs-signature-nonce", "x-acs-content-sha256"):
        if required not in signed_headers or required not in values:
            raise _incomplete(f"The header {required} must be present and signed.")
    _check_timestamp(values["x-acs-date"][0], "x-acs-date", max_skew)
    if values["x-acs-content-sha256"][0] != hashlib.sha256(request.body).hexdigest():
        raise ServiceError(400, "ContentSHA256NotMatched",
                           "The x-acs-content-sha256 header does not match the request body.")
    secret = secret_for(access_key_id)
    if secret is None:
        raise _unknown_key(access_key_id)
    if not hmac.compare_digest(acs3_signature(request, signed_headers, secret), signature):
        raise _mismatch()
    return access_key_id


def verify_rpc_v2(request: SignedRequest, secret_for: Callable[[str], str | None],
                  max_skew: int) -> str:
    """The AccessKeyId of a correctly signed V2 (HMAC-SHA1) request; ServiceError otherwise."""
    params = dict(request.params)
    for name in ("AccessKeyId", "Signature", "SignatureMethod", "SignatureNonce", "Timestamp"):
        if not params.get(name):
            raise ServiceError(400, f"Missing{name}", f"{name} is mandatory for this action.")
    if params["SignatureMethod"] != "HMAC-SHA1":
        raise ServiceError(400, "InvalidSignatureMethod",
                           f"Specified signature method {params['SignatureMethod']} is not supported.")
    _check_timestamp(params["Timestamp"], "Timestamp", max_skew)
    secret = secret_for(params["AccessKeyId"])
    if secret is None:
        raise _unknown_key(params["AccessKeyId"])
    expected = rpc_v2_signature(request.method, request.params, secret)
    if not hmac.compare_digest(expected, params["Signature"]):
        raise _mismatch()
    return params["AccessKeyId"]


def verify_pop_request(request: SignedRequest, secret_for: Callable[[str], str | None],
                       max_skew: int) -> str:
    """V3 when an ACS3 Authorization header is present, else V2 when the query is signed."""
    authorization = next((v for k, v in request.headers if k.lower() == "authorization"), None)
    if authorization:
        return verify_acs3(request, authorization, secret_for, max_skew)
    if any(k == "Signature" for k, _ in request.params):
        return verify_rpc_v2(request, secret_for, max_skew)
    raise ServiceError(400, "MissingAuthorization", "The request is not signed: neither an "
                       "ACS3 Authorization header nor a Signature parameter was found.")


def access_key_of(request: SignedRequest) -> str | None:
    """The AccessKeyId a request claims, without checking it (for --no-verify-signatures)."""
    authorization = next((v for k, v in request.headers if k.lower() == "authorization"), "")
    for part in authorization.partition(" ")[2].split(","):
        name, _, value = part.strip().partition("=")
        if name == "Credential":
            return value
    return dict(request.params).get("AccessKeyId")
