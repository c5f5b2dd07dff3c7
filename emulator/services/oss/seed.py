"""Scenario-file section OSS owns: buckets with their objects (see core/scenario.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, model_validator

from emulator.core.runtime import Runtime
from emulator.core.scenario import SectionItem
from emulator.core.validation import Document, InvalidDocument, NonEmptyString, fail
from emulator.services.oss.model import OssModel


def _text(value: Any) -> Any:
    """A scalar content (YAML reads `content: 42` as a number) is stored as its text."""
    return str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value


class ObjectItem(Document):
    key: NonEmptyString
    file: str = None  # relative to the scenario file
    content: Annotated[str, BeforeValidator(_text)] = None
    content_type: str = None

    @model_validator(mode="after")
    def _has_data(self) -> ObjectItem:
        if self.file is None and self.content is None:
            raise fail("data", "needs a file or content")
        return self


class BucketItem(SectionItem):
    name: str
    acl: str = "private"
    objects: list[ObjectItem] = []


def register(runtime: Runtime, oss: OssModel) -> None:
    def seed_bucket(ns: str, bucket: BucketItem, base_dir: Path) -> None:
        oss.create_bucket(ns, bucket.name, bucket.acl)  # kept when it exists
        for index, obj in enumerate(bucket.objects):
            _seed_object(oss, ns, bucket.name, obj, base_dir, f"objects[{index}]")

    runtime.scenario.register("buckets", BucketItem, seed_bucket)


def _seed_object(oss: OssModel, ns: str, bucket: str, obj: ObjectItem, base_dir: Path, where: str) -> None:
    if obj.file is not None:
        path = (base_dir / obj.file).resolve()
        if not path.is_file():
            raise InvalidDocument(f"{where}.file", f"no such file: {path}")
        oss.put_file(ns, bucket, obj.key, path, obj.content_type)
    else:
        oss.put_bytes(ns, bucket, obj.key, obj.content.encode(), obj.content_type)
