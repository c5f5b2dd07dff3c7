"""Small request bodies (XML documents, forms of processing requests) with OSS's checks."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from emulator.core.pipeline import RequestContext
from emulator.services.oss import errors

SMALL_BODY_LIMIT = 10 * 1024 * 1024


async def read_small_body(ctx: RequestContext[Any], limit: int = SMALL_BODY_LIMIT) -> bytes:
    """The whole body, at most `limit` bytes, matching its Content-MD5 when one is given."""
    body = await ctx.read_body(limit, errors.body_too_large)
    check_md5(ctx, hashlib.md5(body).hexdigest())
    return body


def check_md5(ctx: RequestContext[Any], md5_hex: str) -> None:
    given = ctx.headers.get("content-md5")
    if given is not None and given != base64.b64encode(bytes.fromhex(md5_hex)).decode():
        raise errors.invalid_digest()
