"""What OSS stores about buckets and objects, as plain data: the model keeps them, wire renders
them, other services read them through the ObjectStore port."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Document kinds (core/documents.py) OSS keeps its state in.
BUCKET_KIND = "oss-bucket"
OBJECT_KIND = "oss-object"  # a key's current object: `bucket/key`
VERSION_KIND = "oss-version"  # older versions and delete markers: `bucket/key\0<inverted seq>`
UPLOAD_KIND = "oss-upload"
PART_KIND = "oss-part"
CONFIG_KIND = "oss-bucket-config"  # bucket_config.py: CORS, tags, referer, policy, website...


@dataclass
class ObjectMeta:
    bucket: str
    key: str
    size: int
    etag: str  # quoted, upper-case hex as OSS sends it
    crc64: int
    content_type: str
    last_modified: float
    blob_id: str
    object_type: str = "Normal"  # Normal | Multipart | Appendable | Symlink
    storage_class: str = "Standard"
    user_meta: dict[str, str] = field(default_factory=dict)
    # Headers stored with the object and given back on GET (Cache-Control, Content-Disposition,
    # x-oss-server-side-encryption...).
    headers: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)  # x-oss-tagging, PutObjectTagging
    acl: str = "default"  # x-oss-object-acl, PutObjectAcl; "default" inherits the bucket's
    # Versioning (versions.py): None in a bucket that never had versioning, "null" for a version
    # written while it was suspended; `seq` orders the versions of a key (newer is larger).
    version_id: str | None = None
    seq: int = 0
    # RestoreObject of an Archive/ColdArchive object (restore.py): {"ready_at", "expires_at", "tier"}.
    restore: dict[str, Any] | None = None
    symlink_target: str | None = None  # a Symlink object's target key (symlink.py)

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> ObjectMeta:
        return cls(**doc)


@dataclass
class DeleteMarker:
    """A versioned bucket's record that a key was deleted (versions.py)."""

    bucket: str
    key: str
    version_id: str
    seq: int
    last_modified: float
    delete_marker: bool = True


@dataclass
class BucketInfo:
    name: str
    created: float
    acl: str = "private"
    storage_class: str = "Standard"
    region: str = "cn-hangzhou"
    versioning: str | None = None  # None (never enabled) | Enabled | Suspended


@dataclass
class ListResult:
    objects: list[ObjectMeta]
    common_prefixes: list[str]
    truncated: bool
    next_marker: str  # last key or common prefix returned, when truncated
