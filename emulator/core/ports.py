"""What services ask of each other, as typed ports: IMM and DashScope keep their files in OSS
through `ObjectStore` and publish notifications to MNS through `Publisher`. The OSS and MNS models
satisfy these protocols; no service imports another."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol


class StoredObject(Protocol):
    @property
    def size(self) -> int: ...
    @property
    def last_modified(self) -> float: ...


class StoredBucket(Protocol):
    @property
    def acl(self) -> str: ...


class ObjectStore(Protocol):
    def create_bucket(self, ns: str, name: str, acl: str = "private",
                      storage_class: str = "Standard") -> bool: ...
    def get_bucket(self, ns: str, name: str) -> StoredBucket: ...
    def head_object(self, ns: str, bucket: str, key: str) -> StoredObject: ...
    def object_path(self, ns: str, bucket: str, key: str) -> Path: ...
    def put_file(self, ns: str, bucket: str, key: str, path: Path,
                 content_type: str | None = None) -> StoredObject: ...


class Publisher(Protocol):
    def publish_message(self, ns: str, topic_name: str, body: str, tag: str | None = None) -> str:
        """The MessageId; raises ServiceError when the topic does not exist."""
        ...
