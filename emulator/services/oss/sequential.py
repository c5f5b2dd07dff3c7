"""Sequential multipart uploads (`?sequential` on InitiateMultipartUpload): parts must arrive, and
be completed, in order 1, 2, 3...; in exchange OSS knows the whole object's MD5 and gives it back
as `Content-MD5` on GET and HEAD (a plain multipart object has none). The ETag stays the
multipart one. As the SDKs' own integration tests show (oss2 test_upload_sequenial, v2
test_uploader_with_sequential)."""

from __future__ import annotations

import base64
from collections.abc import Iterable
from typing import Any

from emulator.core.blobs import Blob
from emulator.services.oss import errors

QUERY = "sequential"


def check_part(upload: dict[str, Any], uploaded: Iterable[int], number: int) -> None:
    """A part of a sequential upload is the next one, or the last one again."""
    if not upload.get(QUERY):
        return
    last = max(uploaded, default=0)
    if number not in (last, last + 1) or number == 0:
        raise errors.part_not_sequential()


def check_complete(upload: dict[str, Any], numbers: list[int]) -> None:
    """A sequential upload completes with parts 1..n, none left out."""
    if upload.get(QUERY) and numbers != list(range(1, len(numbers) + 1)):
        raise errors.part_not_sequential()


def object_headers(upload: dict[str, Any], blob: Blob) -> dict[str, str]:
    """Headers the completed object keeps: its Content-MD5 when the upload was sequential."""
    if not upload.get(QUERY):
        return {}
    return {"content-md5": base64.b64encode(bytes.fromhex(blob.md5_hex)).decode()}
