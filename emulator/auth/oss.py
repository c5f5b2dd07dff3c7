"""OSS request signatures: V1 (HMAC-SHA1) and V4 (OSS4-HMAC-SHA256), header and presigned forms."""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import quote


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
