"""IMM's synchronous media actions: DetectMediaMeta (and GenerateVideoPlaylist). Plain handlers
`(namespace, params, request_id) -> body`, built over the IMM model and the OSS model."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from emulator.core.errors import ServiceError
from emulator.media.ffmpeg import MediaError
from emulator.media.meta import media_meta
from emulator.services.imm.convert import parse_oss_uri
from emulator.services.imm.model import ImmModel
from emulator.services.imm.playlists import LivePlaylists
from emulator.services.imm.wire import Params, invalid, not_found


def media_actions(runtime: Any, model: ImmModel, oss: Any) -> dict[str, Callable[..., Any]]:
    playlists = LivePlaylists(runtime, model, oss)

    async def detect_media_meta(ns: str, params: Params, request_id: str) -> dict[str, Any]:
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

    return {"DetectMediaMeta": detect_media_meta, "GenerateVideoPlaylist": playlists.generate}
