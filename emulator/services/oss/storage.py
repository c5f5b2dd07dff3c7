"""Storage classes and server-side encryption headers as a request names them (PutObject,
CopyObject, InitiateMultipartUpload, AppendObject, PutSymlink)."""

from __future__ import annotations

from emulator.core.errors import ServiceError
from emulator.services.oss import errors

STORAGE_CLASSES = ("Standard", "IA", "Archive", "ColdArchive", "DeepColdArchive")
ARCHIVED = ("Archive", "ColdArchive", "DeepColdArchive")
SSE_HEADERS = ("x-oss-server-side-encryption", "x-oss-server-side-data-encryption",
               "x-oss-server-side-encryption-key-id")
_ALGORITHMS = ("AES256", "KMS", "SM4")


def storage_class(headers: dict[str, str]) -> str | None:
    """x-oss-storage-class, checked; None when absent (the bucket's class applies)."""
    value = headers.get("x-oss-storage-class")
    if value is None:
        return None
    if value not in STORAGE_CLASSES:
        raise errors.invalid_argument("Invalid storage class.", "x-oss-storage-class", value)
    return value


def encryption(headers: dict[str, str]) -> dict[str, str]:
    """The server-side encryption headers, checked as OSS does; stored with the object and
    echoed on every response about it (the emulator keeps the bytes as they are)."""
    found = {k: headers[k] for k in SSE_HEADERS if k in headers}
    algorithm = found.get("x-oss-server-side-encryption")
    if algorithm is None:
        if found:
            raise _sse_error("x-oss-server-side-encryption must be given with "
                             f"{next(iter(found))}.", next(iter(found)))
        return found
    if algorithm not in _ALGORITHMS:
        raise ServiceError(400, "InvalidEncryptionAlgorithmError", "The encryption request you specified "
                           "is not supported.", ArgumentName="x-oss-server-side-encryption",
                           ArgumentValue=algorithm)
    if algorithm != "KMS":
        for name in SSE_HEADERS[1:]:
            if name in found:
                raise _sse_error(f"{name} is only valid with KMS.", name)
    elif found.get("x-oss-server-side-data-encryption", "SM4") != "SM4":
        raise _sse_error("The data encryption algorithm must be SM4.", "x-oss-server-side-data-encryption")
    return found


def _sse_error(message: str, name: str) -> ServiceError:
    return errors.invalid_argument(message, name)
