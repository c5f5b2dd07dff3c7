"""OSS request signatures: V1 (HMAC-SHA1), V2 (`OSS2`, HMAC-SHA256) and V4 (OSS4-HMAC-SHA256),
header and presigned forms,
and the POST-policy signatures of PostObject. Reproduces what oss2 and alibabacloud-oss-v2 sign
(see reference/oss-mns-protocols.md §2, validated against captured traffic)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote

from emulator.core.timefmt import parse_compact_utc, parse_http_date

# oss2's sub-resource set (oss2/auth.py) and alibabacloud-oss-v2's (signer/v1.py): a V1 signature
# is accepted when it matches under either.
SUBRESOURCES_OSS2 = frozenset("""response-content-type response-content-language response-cache-control
 logging response-content-encoding acl uploadId uploads partNumber group link delete website location
 objectInfo objectMeta response-expires response-content-disposition cors lifecycle restore qos referer
 stat bucketInfo append position security-token live comp status vod startTime endTime x-oss-process
 symlink callback callback-var tagging encryption versions versioning versionId policy requestPayment
 x-oss-traffic-limit qosInfo asyncFetch x-oss-request-payer sequential inventory inventoryId
 continuation-token worm wormId wormExtend replication replicationLocation replicationProgress
 transferAcceleration cname metaQuery x-oss-ac-source-ip x-oss-ac-subnet-mask x-oss-ac-vpc-id
 x-oss-ac-forward-allow resourceGroup style styleName x-oss-async-process regionList
 x-oss-write-get-object-response bucketArchiveDirectRead httpsConfig redundancyTransition
 x-oss-target-redundancy-type x-oss-redundancy-transition-taskid accessPoint accessPointPolicy
 publicAccessBlock x-oss-access-point-name requesterQosInfo qosRequester resourcePoolInfo resourcePool
 resourcePoolBuckets""".split())
SUBRESOURCES_V2 = frozenset("""acl bucketInfo location stat delete append tagging objectMeta uploads
 uploadId partNumber security-token position response-content-type response-content-language
 response-expires response-cache-control response-content-disposition response-content-encoding restore
 callback callback-var versions versioning versionId sequential continuation-token regionList cloudboxes
 symlink resourceGroup""".split()) | frozenset(
    # Signed by v2 through an operation's op_metadata['sub-resource'], and not in oss2's set.
    """policyStatus cleanRestoredObject seal dataPipeline legalHold retention objectWorm overwriteConfig
 metadataConfiguration metadataInventoryTable metadataJournalTable quota rtc userDefinedLogFieldsConfig
 MetaQuery""".split())

V4_ALGORITHM = "OSS4-HMAC-SHA256"
V2_VERSION = "OSS2"


class AuthError(Exception):
    """A request that does not authenticate; `code` is the OSS error code (status 403)."""

    def __init__(self, code: str, message: str, **details: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details


@dataclass(frozen=True)
class SignedRequest:
    method: str
    raw_query: str  # exactly as received, not decoded
    headers: dict[str, str]  # lower-case names
    bucket: str  # "" for service-level requests
    key: str  # decoded object name, "" for bucket-level requests


@dataclass(frozen=True)
class Claim:
    """Who a request says it is, and the check that proves it once the secret is known."""

    access_key_id: str
    verify: Callable[[str], bool]
    expires_at: float | None = None  # presigned URLs (epoch seconds, emulator clock)
    signed_at: float | None = None  # header signatures (epoch seconds, client wall clock)


def sign_v1(secret: str, string_to_sign: str) -> str:
    digest = hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def presign_v1_get(base_url: str, access_key_id: str, secret: str, bucket: str, key: str,
                   expires: int) -> str:
    """A V1 presigned GET URL (path style) valid until the epoch second `expires`, exactly what
    oss2's `bucket.sign_url('GET', key, ...)` would produce."""
    signature = sign_v1(secret, f"GET\n\n\n{expires}\n/{bucket}/{key}")
    return (f"{base_url.rstrip('/')}/{bucket}/{quote(key, safe='/')}?OSSAccessKeyId={quote(access_key_id)}"
            f"&Expires={expires}&Signature={quote(signature, safe='')}")


def query_pairs(raw_query: str) -> list[tuple[str, str]]:
    return parse_qsl(raw_query, keep_blank_values=True)


def _utf8(value: str) -> str:
    """A header value as the client wrote it: HTTP carries the UTF-8 bytes oss2 signs (a non-ASCII
    x-oss-meta-* value), the server reads them as latin-1."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


def v1_string_to_sign(req: SignedRequest, subresources: frozenset[str], date: str) -> str:
    resource = "/" + (req.bucket + "/" + req.key if req.bucket else "")
    sub = sorted((k, v) for k, v in query_pairs(req.raw_query) if k in subresources)
    if sub:
        resource += "?" + "&".join(f"{k}={v}" if v else k for k, v in sub)
    canon = "".join(f"{k}:{_utf8(v)}\n" for k, v in sorted(req.headers.items()) if k.startswith("x-oss-"))
    return "\n".join([req.method, req.headers.get("content-md5", ""), req.headers.get("content-type", ""),
                      date, canon + resource])


def _v1_verifier(req: SignedRequest, signature: str, date: str) -> Callable[[str], bool]:
    def verify(secret: str) -> bool:
        return any(hmac.compare_digest(sign_v1(secret, v1_string_to_sign(req, subres, date)), signature)
                   for subres in (SUBRESOURCES_OSS2, SUBRESOURCES_V2))
    return verify


def v2_encode(text: str) -> str:
    """RFC 3986 over the UTF-8 bytes, `/` included (oss2 `v2_uri_encode`)."""
    return quote(text.encode("utf-8", "surrogatepass"), safe="-_.~")


def v2_string_to_sign(req: SignedRequest, additional: list[str], date: str, presigned: bool) -> str:
    """oss2 `ProviderAuthV2`: like V1, but HMAC-SHA256, every query parameter signed, the resource
    RFC 3986-encoded, and the AdditionalHeaders list signed too (reference/oss-more.md §12.3)."""
    resource = v2_encode("/" + (req.bucket + "/" + req.key if req.bucket else ""))
    pairs = [(k, v) for k, v in query_pairs(req.raw_query) if not (presigned and k == "x-oss-signature")]
    encoded = sorted((v2_encode(k), v2_encode(v)) for k, v in pairs)
    if encoded:
        resource += "?" + "&".join(f"{k}={v}" if v else k for k, v in encoded)
    names = sorted(set(additional))
    canon = "".join(f"{k}:{_utf8(v)}\n" for k, v in sorted(req.headers.items())
                    if k.startswith("x-oss-") or k in names)
    return "\n".join([req.method, req.headers.get("content-md5", ""), req.headers.get("content-type", ""),
                      date, canon + ";".join(names), resource])


def sign_v2(secret: str, string_to_sign: str) -> str:
    digest = hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _v2_verifier(req: SignedRequest, signature: str, additional: list[str], date: str,
                 presigned: bool) -> Callable[[str], bool]:
    def verify(secret: str) -> bool:
        expected = sign_v2(secret, v2_string_to_sign(req, additional, date, presigned))
        return hmac.compare_digest(expected, signature)
    return verify


def _v2_header_fields(value: str) -> dict[str, str]:
    """`AccessKeyId:ak,AdditionalHeaders:a;b,Signature:sig` as a dict."""
    fields = {}
    for part in value.split(","):
        name, sep, field_value = part.strip().partition(":")
        if not sep:
            raise AuthError("InvalidArgument", "Authorization header is invalid.")
        fields[name] = field_value.strip()
    if not fields.get("AccessKeyId") or "Signature" not in fields:
        raise AuthError("InvalidArgument", "Authorization header is invalid.")
    return fields


def _header_list(value: str) -> list[str]:
    return [a.strip().lower() for a in value.split(";") if a.strip()]


def v4_signing_key(secret: str, date8: str, region: str, product: str) -> bytes:
    key = hmac.new(("aliyun_v4" + secret).encode(), date8.encode(), hashlib.sha256).digest()
    for part in (region, product, "aliyun_v4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def v4_canonical_request(req: SignedRequest, additional: list[str], presigned: bool) -> str:
    uri = quote("/" + (req.bucket + "/" if req.bucket else "") + req.key, safe="/")
    pairs = [(k, v) for k, v in query_pairs(req.raw_query) if not (presigned and k == "x-oss-signature")]
    encoded = sorted((quote(k, safe=""), quote(v, safe="")) for k, v in pairs)
    query = "&".join(f"{k}={v}" if v else k for k, v in encoded)
    signed = {k: v for k, v in req.headers.items()
              if k.startswith("x-oss-") or k in ("content-type", "content-md5") or k in additional}
    headers = "".join(f"{k}:{_utf8(v).strip()}\n" for k, v in sorted(signed.items()))
    payload = "UNSIGNED-PAYLOAD" if presigned else req.headers.get("x-oss-content-sha256", "UNSIGNED-PAYLOAD")
    return "\n".join([req.method, uri, query, headers, ";".join(sorted(additional)), payload])


def _v4_verifier(req: SignedRequest, credential: str, signature: str, timestamp: str,
                 additional: list[str], presigned: bool) -> tuple[str, Callable[[str], bool]]:
    parts = credential.split("/")
    if len(parts) != 5 or parts[4] != "aliyun_v4_request":
        raise AuthError("InvalidArgument", "Invalid credential in Authorization header.")
    access_key_id, date8, region, product, _ = parts
    if timestamp[:8] != date8:
        raise AuthError("SignatureDoesNotMatch", "The date of the credential scope does not match "
                        "x-oss-date.")

    def verify(secret: str) -> bool:
        canonical = v4_canonical_request(req, additional, presigned)
        string_to_sign = "\n".join([V4_ALGORITHM, timestamp, f"{date8}/{region}/{product}/aliyun_v4_request",
                                    hashlib.sha256(canonical.encode()).hexdigest()])
        key = v4_signing_key(secret, date8, region, product)
        expected = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, signature)
    return access_key_id, verify


def _v4_time(timestamp: str) -> float:
    try:
        return parse_compact_utc(timestamp)
    except ValueError as exc:
        raise AuthError("InvalidArgument", f"Invalid x-oss-date {timestamp!r}.") from exc


def parse_claim(req: SignedRequest) -> Claim | None:
    """The credential a request claims (header or presigned URL), or None for an anonymous one."""
    query = dict(query_pairs(req.raw_query))
    auth = req.headers.get("authorization", "")
    if "OSSAccessKeyId" in query and "Signature" in query:
        if "Expires" not in query or not query["Expires"].isdigit():
            raise AuthError("AccessDenied", "Expires is required and must be an integer.")
        return Claim(query["OSSAccessKeyId"], _v1_verifier(req, query["Signature"], query["Expires"]),
                     expires_at=float(query["Expires"]))
    if query.get("x-oss-signature-version") == V4_ALGORITHM:
        try:
            credential, signature = query["x-oss-credential"], query["x-oss-signature"]
            timestamp, expires = query["x-oss-date"], int(query["x-oss-expires"])
        except (KeyError, ValueError) as exc:
            raise AuthError("AccessDenied", "Invalid presigned URL: a required parameter is missing "
                            "or malformed.") from exc
        additional = [a for a in query.get("x-oss-additional-headers", "").split(";") if a]
        ak, verify = _v4_verifier(req, credential, signature, timestamp, additional, presigned=True)
        return Claim(ak, verify, expires_at=_v4_time(timestamp) + expires)
    if query.get("x-oss-signature-version") == V2_VERSION:
        try:
            ak, signature, expires = (query["x-oss-access-key-id"], query["x-oss-signature"],
                                      int(query["x-oss-expires"]))
        except (KeyError, ValueError) as exc:
            raise AuthError("AccessDenied", "Invalid presigned URL: a required parameter is missing "
                            "or malformed.") from exc
        additional = _header_list(query.get("x-oss-additional-headers", ""))
        return Claim(ak, _v2_verifier(req, signature, additional, query["x-oss-expires"], presigned=True),
                     expires_at=float(expires))
    if auth.startswith(V2_VERSION + " "):
        fields = _v2_header_fields(auth[len(V2_VERSION) + 1:])
        date = req.headers.get("date", "")  # oss2's AuthV2 signs the Date header, never x-oss-date
        additional = _header_list(fields.get("AdditionalHeaders", ""))
        return Claim(fields["AccessKeyId"], _v2_verifier(req, fields["Signature"], additional, date, False),
                     signed_at=parse_http_date(date))
    if auth.startswith("OSS "):
        ak, sep, signature = auth[4:].partition(":")
        if not sep:
            raise AuthError("InvalidArgument", "Authorization header is invalid.")
        date = req.headers.get("x-oss-date") or req.headers.get("date", "")
        return Claim(ak.strip(), _v1_verifier(req, signature.strip(), date),
                     signed_at=parse_http_date(date))
    if auth.startswith(V4_ALGORITHM + " "):
        try:
            fields = dict(p.strip().split("=", 1) for p in auth[len(V4_ALGORITHM) + 1:].split(","))
            credential, signature = fields["Credential"], fields["Signature"]
        except (KeyError, ValueError) as exc:
            raise AuthError("InvalidArgument", "Authorization header is invalid.") from exc
        timestamp = req.headers.get("x-oss-date", "")
        if not timestamp:
            raise AuthError("AccessDenied", "x-oss-date is required for V4 signatures.")
        additional = [a.strip().lower() for a in fields.get("AdditionalHeaders", "").split(";") if a.strip()]
        ak, verify = _v4_verifier(req, credential, signature, timestamp, additional, presigned=False)
        return Claim(ak, verify, signed_at=_v4_time(timestamp))
    if auth:
        raise AuthError("InvalidArgument", "Authorization header is invalid.")
    return None


# ---- PostObject ----------------------------------------------------------------------------

def verify_post_signature(form: dict[str, str], secret: str) -> bool:
    """V1: base64(HMAC-SHA1(secret, policy)); V4: hex(HMAC-SHA256(signing key, policy))."""
    policy = form.get("policy", "")
    if form.get("x-oss-signature-version") == V4_ALGORITHM:
        parts = form.get("x-oss-credential", "").split("/")
        if len(parts) != 5:
            return False
        key = v4_signing_key(secret, parts[1], parts[2], parts[3])
        expected = hmac.new(key, policy.encode(), hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, form.get("x-oss-signature", ""))
    return hmac.compare_digest(sign_v1(secret, policy), form.get("signature", ""))


def post_access_key_id(form: dict[str, str]) -> str | None:
    if form.get("x-oss-signature-version") == V4_ALGORITHM:
        return form.get("x-oss-credential", "").split("/")[0] or None
    return form.get("ossaccesskeyid")


def claimed_access_key(headers: dict[str, str], query: dict[str, str]) -> str | None:
    """The AccessKeyId a request names, without verifying anything (journal, fault matching)."""
    if "OSSAccessKeyId" in query:
        return query["OSSAccessKeyId"]
    if "x-oss-credential" in query:
        return query["x-oss-credential"].split("/")[0]
    if "x-oss-access-key-id" in query:
        return query["x-oss-access-key-id"]
    auth = headers.get("authorization", "")
    if auth.startswith(V2_VERSION + " ") and "AccessKeyId:" in auth:
        return auth.split("AccessKeyId:", 1)[1].split(",", 1)[0].strip()
    if auth.startswith("OSS "):
        return auth[4:].split(":", 1)[0].strip()
    if auth.startswith(V4_ALGORITHM + " ") and "Credential=" in auth:
        return auth.split("Credential=", 1)[1].split("/", 1)[0].strip()
    return None
