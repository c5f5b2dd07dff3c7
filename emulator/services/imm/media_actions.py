"""IMM's synchronous DetectMediaMeta: the documented media facts of an object in OSS."""

from __future__ import annotations

import asyncio
from typing import Any

from emulator.core.errors import ServiceError
from emulator.core.ports import ObjectStore
from emulator.media.ffmpeg import MediaError
from emulator.media.meta import media_meta
from emulator.services.imm.convert import parse_oss_uri
from emulator.services.imm.errors import invalid, not_found
from emulator.services.imm.model import ImmModel
from emulator.services.imm.wire import Params


async def detect_media_meta(model: ImmModel, oss: ObjectStore, ns: str, params: Params) -> dict[str, Any]:
    project = params.str("ProjectName", required=True)
    model.get_project(ns, project)
    uri = params.str("SourceURI", required=True)
    bucket, key = parse_oss_uri(uri, "SourceURI")
    params.json("CredentialConfig", dict)
    try:
        size = oss.head_object(ns, bucket, key).size
        path = oss.object_path(ns, bucket, key)
    except ServiceError:
        raise not_found("Object") from None
    try:
        # A header read: its own thread, not the worker pool, so that a synchronous call
        # never queues behind long conversions.
        body = await asyncio.to_thread(media_meta, path, size)
    except MediaError as exc:
        raise invalid("SourceURI", f"is not an audio or video file that can be read: {exc}.") from None
    model.record_usage(ns, project, "DetectMediaMeta", 1)
    return body
