"""Typed ports between services: what IMM and DashScope may ask of OSS and MNS.

Services reach each other only through these protocols, so dependencies point down (services ->
core) and a service can be tested with a fake. `OssModel` and `MnsModel` satisfy them
structurally; nothing registers or inherits. Failures come back as `ServiceError` in the called
service's own vocabulary (NoSuchBucket, NoSuchKey, TopicNotExist...), for the caller to translate.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol


class StoredObject(Protocol):
    """What a caller reads of an object's metadata."""

    @property
    def size(self) -> int: ...

    @property
    def last_modified(self) -> float: ...


class StoredBucket(Protocol):
    """What a caller reads of a bucket."""

    @property
    def acl(self) -> str: ...


class ObjectStore(Protocol):
    """OSS as other services use it: read objects as local files, write result files."""

    def create_bucket(self, ns: str, name: str) -> bool:
        """True when created; an existing bucket of the same account is kept."""
        ...

    def get_bucket(self, ns: str, name: str) -> StoredBucket:
        """Raises ServiceError NoSuchBucket."""
        ...

    def head_object(self, ns: str, bucket: str, key: str) -> StoredObject:
        """Raises ServiceError NoSuchBucket or NoSuchKey."""
        ...

    def object_path(self, ns: str, bucket: str, key: str) -> Path:
        """The file holding an object's bytes, read-only (for ffmpeg and other readers)."""
        ...

    def delete_object(self, ns: str, bucket: str, key: str) -> bool:
        """True when there was an object to delete; raises ServiceError NoSuchBucket."""
        ...

    def put_file(self, ns: str, bucket: str, key: str, path: Path,
                 content_type: str | None = None) -> StoredObject:
        """Store a local file as an object. Blocking (copy, hashing, fsync): call it in a worker."""
        ...


class Publisher(Protocol):
    """MNS as IMM's task notifications use it."""

    def publish_message(self, ns: str, topic_name: str, body: str, tag: str | None = None) -> str:
        """The MessageId; raises ServiceError TopicNotExist (or a bad body's error)."""
        ...
