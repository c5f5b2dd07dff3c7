"""What OSS stores about buckets and objects, as plain data: the model keeps them, wire renders
them, other services read them through the ObjectStore port."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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
    object_type: str = "Normal"  # Normal | Multipart
    storage_class: str = "Standard"
    user_meta: dict[str, str] = field(default_factory=dict)
    # Headers stored with the object and given back on GET (Cache-Control, Content-Disposition...).
    headers: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)  # x-oss-tagging, PutObjectTagging
    acl: str = "default"  # x-oss-object-acl, PutObjectAcl; "default" inherits the bucket's

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> ObjectMeta:
        return cls(**doc)


@dataclass
class BucketInfo:
    name: str
    created: float
    acl: str = "private"
    storage_class: str = "Standard"
    region: str = "cn-hangzhou"


@dataclass
class ListResult:
    objects: list[ObjectMeta]
    common_prefixes: list[str]
    truncated: bool
    next_marker: str  # last key or common prefix returned, when truncated
