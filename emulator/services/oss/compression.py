"""GetObject with `Accept-Encoding: gzip`: OSS compresses web text (the Content-Types below) of at
least 1 KB, and then answers without ETag, Content-Length and Accept-Ranges."""

from __future__ import annotations

import gzip
from pathlib import Path

from starlette.responses import Response

from emulator.core.runtime import Runtime
from emulator.services.oss.documents import ObjectMeta

MIN_SIZE = 1024
COMPRESSED_TYPES = frozenset("""text/cache-manifest text/xml text/css text/html text/plain
 application/javascript application/x-javascript application/rss+xml application/json text/json""".split())


def wanted(headers: dict[str, str], meta: ObjectMeta) -> bool:
    accepted = {part.split(";", 1)[0].strip().lower()
                for part in headers.get("accept-encoding", "").split(",")}
    media_type = meta.content_type.split(";", 1)[0].strip().lower()
    return ("gzip" in accepted and meta.size >= MIN_SIZE and media_type in COMPRESSED_TYPES
            and "content-encoding" not in meta.headers and "range" not in headers)


def _compress(path: Path) -> bytes:
    return gzip.compress(path.read_bytes())


async def gzipped(runtime: Runtime, path: Path, headers: dict[str, str]) -> Response:
    body = await runtime.pool.run(_compress, path)
    kept = {k: v for k, v in headers.items() if k.lower() not in ("etag", "content-length", "accept-ranges")}
    return Response(body, 200, headers={**kept, "Content-Encoding": "gzip", "Vary": "Accept-Encoding"})
