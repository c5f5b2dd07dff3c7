"""MNS request signatures: `Authorization: MNS <AccessKeyId>:<base64 HMAC-SHA1>`.

String to sign: METHOD, Content-MD5, Content-Type, Date (or x-mns-date), the x-mns-* headers
(lowercased, sorted, `name:value\\n` each) and the raw request target exactly as received.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable, Mapping

from emulator.auth.oss import sign_v1 as sign
from emulator.core.errors import ServiceError
from emulator.core.timefmt import parse_http_date

__all__ = ["sign", "string_to_sign", "verify", "content_md5_ok"]


def string_to_sign(method: str, target: str, headers: Mapping[str, str]) -> str:
    """`headers` with lowercase names."""
    canonical = "".join(f"{k}:{v}\n" for k, v in sorted(headers.items()) if k.startswith("x-mns-"))
    date = headers.get("x-mns-date") or headers.get("date", "")
    return (f"{method}\n{headers.get('content-md5', '')}\n{headers.get('content-type', '')}\n"
            f"{date}\n{canonical}{target}")


def content_md5_ok(value: str, body: bytes) -> bool:
    """The SDK sends base64 of the *hex* MD5; RFC 1864 clients send base64 of the raw digest."""
    digest = hashlib.md5(body)
    return value in (base64.b64encode(digest.hexdigest().encode()).decode(),
                     base64.b64encode(digest.digest()).decode())


def verify(method: str, target: str, headers: Mapping[str, str],
           secret_of: Callable[[str], str | None], max_skew_seconds: int) -> str:
    """The AccessKeyId of a correctly signed request; ServiceError (MNS codes) otherwise.

    `secret_of(access_key_id)` gives the key's secret or None when the key is unknown. The Date is
    compared with the wall clock (the client's), not the emulator's movable clock."""
    authorization = headers.get("authorization")
    if not authorization:
        raise ServiceError(400, "MissingAuthorizationHeader", "Authorization header is required.")
    scheme, _, credential = authorization.partition(" ")
    access_key_id, _, signature = credential.partition(":")
    if scheme != "MNS" or not access_key_id or not signature:
        raise ServiceError(400, "InvalidAuthorizationHeader", "The Authorization header format is invalid.")
    date = headers.get("x-mns-date") or headers.get("date")
    if not date:
        raise ServiceError(400, "MissingDateHeader", "Date header is required.")
    sent = parse_http_date(date)
    if sent is None:
        raise ServiceError(400, "InvalidDateHeader", "The Date header format is invalid.")
    if max_skew_seconds and abs(time.time() - sent) > max_skew_seconds:
        raise ServiceError(408, "TimeExpired", "The http request you sent is expired.")
    secret = secret_of(access_key_id)
    if secret is None:
        raise ServiceError(403, "InvalidAccessKeyId", "The AccessKey Id you provided is not exist.")
    expected = sign(secret, string_to_sign(method, target, headers))
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise ServiceError(403, "SignatureDoesNotMatch",
                           "The request signature we calculated does not match the signature you "
                           "provided. Check your key and signing method.")
    return access_key_id
