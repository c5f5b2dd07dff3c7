"""A bucket's default server-side encryption (PutBucketEncryption) given to every object written
without `x-oss-server-side-encryption`, as OSS gives it: the object then answers the rule's
algorithm (and KMS key id, SM4 data encryption) on Put, Copy, Initiate, Complete, Get and Head.
The emulator stores the bytes as sent either way."""

from __future__ import annotations

from emulator.core.documents import Documents
from emulator.core.xml import parse, text
from emulator.services.oss import errors
from emulator.services.oss.documents import CONFIG_KIND

ALGORITHM = "x-oss-server-side-encryption"


def bucket_default(docs: Documents, ns: str, bucket: str) -> dict[str, str]:
    """The encryption headers the bucket's rule gives a new object ({} without a rule)."""
    stored = docs.get(CONFIG_KIND, ns, f"{bucket}/encryption")  # where bucket_config.py keeps it
    if stored is None:
        return {}
    rule = parse(stored["value"].encode(), errors.malformed_xml)[0]
    algorithm = text(rule, "SSEAlgorithm") or ""
    headers = {ALGORITHM: algorithm}
    if algorithm == "KMS":
        if key_id := text(rule, "KMSMasterKeyID"):
            headers["x-oss-server-side-encryption-key-id"] = key_id
        if text(rule, "KMSDataEncryption") == "SM4":
            headers["x-oss-server-side-data-encryption"] = "SM4"
    return headers


def applied(docs: Documents, ns: str, bucket: str, headers: dict[str, str]) -> dict[str, str]:
    """`headers` of a new object or upload, with the bucket's default encryption when they name none."""
    if ALGORITHM in headers:
        return headers
    return {**headers, **bucket_default(docs, ns, bucket)}
