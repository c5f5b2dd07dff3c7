"""The tags and ACL a request gives the object it writes (`x-oss-tagging`, `x-oss-object-acl` on
PutObject, CopyObject, InitiateMultipartUpload, AppendObject, PutSymlink, or the fields of a
PostObject form): checked before anything is stored, given to the version just written."""

from __future__ import annotations

from typing import Any

from emulator.core.pipeline import RequestContext
from emulator.services.oss import access, tagging
from emulator.services.oss.documents import ObjectMeta
from emulator.services.oss.model import OssModel

Ctx = RequestContext[OssModel]


def requested(ctx: Ctx, form: dict[str, str] | None = None) -> dict[str, Any]:
    """The ObjectMeta fields (`tags`, `acl`) the request's headers (or form) ask for, checked."""
    source = ctx.headers if form is None else form
    access.check_object_acl(source.get("x-oss-object-acl"))
    access.check_public_grant(ctx, source.get("x-oss-object-acl"))
    tags = (tagging.check_object_tags(tagging.parse_tagging_header(source["x-oss-tagging"]))
            if "x-oss-tagging" in source else None)
    return {k: v for k, v in (("tags", tags), ("acl", source.get("x-oss-object-acl"))) if v}


def give(ctx: Ctx, meta: ObjectMeta, attributes: dict[str, Any]) -> ObjectMeta:
    """Give the version just written its tags and ACL (that version, even if another write has
    replaced it meanwhile)."""
    if attributes:
        for name, value in attributes.items():
            setattr(meta, name, value)
        ctx.model.update_object(ctx.ns, meta)
    return meta
