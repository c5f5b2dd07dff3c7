"""RestoreObject: Archive, ColdArchive and DeepColdArchive objects are readable only while a
restored copy exists. A restore finishes on the emulator's clock (the durations below, OSS's
upper bounds), so advancing the clock completes it; the copy then stays readable for `Days`."""

from __future__ import annotations

from starlette.responses import Response

from emulator.core.pipeline import RequestContext
from emulator.core.timefmt import http_date
from emulator.core.xml import parse, text
from emulator.services.oss import errors
from emulator.services.oss.bodies import read_small_body
from emulator.services.oss.documents import ObjectMeta
from emulator.services.oss.model import OssModel
from emulator.services.oss.storage import ARCHIVED

DAY = 86400
# Seconds until a restored copy is readable, by storage class and tier.
DURATIONS = {
    "Archive": {"": 60},
    "ColdArchive": {"Expedited": 3600, "Standard": 5 * 3600, "Bulk": 12 * 3600},
    "DeepColdArchive": {"Expedited": 12 * 3600, "Standard": 48 * 3600},
}
MAX_DAYS = {"Archive": 7, "ColdArchive": 365, "DeepColdArchive": 365}


def state(meta: ObjectMeta, now: float) -> str:
    """none (archived and not restored) | ongoing | restored; `restored` for unarchived classes."""
    if meta.storage_class not in ARCHIVED:
        return "restored"
    restore = meta.restore
    if restore is None or now >= restore["expires_at"]:
        return "none"
    return "ongoing" if now < restore["ready_at"] else "restored"


def header(meta: ObjectMeta, now: float) -> dict[str, str]:
    """x-oss-restore for HEAD/GET: while restoring, and while the restored copy lasts."""
    current = state(meta, now) if meta.storage_class in ARCHIVED else "none"
    if current == "ongoing":
        return {"x-oss-restore": 'ongoing-request="true"'}
    if current == "restored" and meta.restore is not None:
        expiry = http_date(meta.restore["expires_at"])
        return {"x-oss-restore": f'ongoing-request="false", expiry-date="{expiry}"'}
    return {}


def check_readable(meta: ObjectMeta, now: float) -> None:
    """GET and copy of an archived object need a finished restore."""
    if state(meta, now) != "restored":
        raise errors.invalid_object_state()


def _parse_request(body: bytes, storage_class: str) -> tuple[int, str]:
    """(days, tier) of an optional <RestoreRequest>."""
    days, tier = 1, "" if storage_class == "Archive" else "Standard"
    if body.strip():
        root = parse(body, errors.malformed_xml)
        if root.tag != "RestoreRequest":
            raise errors.malformed_xml()
        raw_days = text(root, "Days")
        if raw_days is not None:
            if not raw_days.strip().isdigit() or not 1 <= int(raw_days) <= MAX_DAYS[storage_class]:
                raise errors.invalid_argument(f"The Days must be between 1 and {MAX_DAYS[storage_class]}.",
                                              "Days", raw_days)
            days = int(raw_days)
        job = root.find("JobParameters")
        if job is not None and storage_class != "Archive":
            tier = (text(job, "Tier") or "").strip()
            if tier not in DURATIONS[storage_class]:
                raise errors.invalid_argument("Invalid restore tier.", "Tier", tier)
    return days, tier


async def restore_object(ctx: RequestContext[OssModel]) -> Response:
    version_id = ctx.query.get("versionId")
    body = await read_small_body(ctx)
    meta = ctx.model.head_object(ctx.ns, ctx.bucket, ctx.key, version_id)
    if meta.storage_class not in ARCHIVED:
        raise errors.operation_not_supported("The operation is not supported for this resource")
    days, tier = _parse_request(body, meta.storage_class)
    now = ctx.runtime.clock.now()
    current = state(meta, now)
    if current == "ongoing":
        raise errors.restore_in_progress()
    headers = {"x-oss-version-id": meta.version_id} if meta.version_id else {}
    if tier:
        headers["x-oss-object-restore-priority"] = tier
    if current == "restored":  # a restored copy lasts `days` more from now
        meta.restore = {**(meta.restore or {}), "expires_at": now + days * DAY}
        ctx.model.update_object(ctx.ns, meta)
        return Response(status_code=200, headers=headers)
    ready_at = now + DURATIONS[meta.storage_class][tier]
    meta.restore = {"ready_at": ready_at, "expires_at": ready_at + days * DAY, "tier": tier}
    ctx.model.update_object(ctx.ns, meta)
    return Response(status_code=202, headers=headers)
