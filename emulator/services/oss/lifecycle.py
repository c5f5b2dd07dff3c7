"""Bucket lifecycle: Put/Get/DeleteBucketLifecycle, and the rules carried out on the emulator's
clock.

OSS counts `Days` from an object's last modification rounded up to the next midnight UTC, and
carries out due rules once a day; the emulator acts as soon as a rule is due, whenever its clock
moves (`POST /_emulator/clock`) and once a minute as time passes. Rules act on current objects
(Expiration, Transition), older versions (NoncurrentVersionExpiration / -Transition), lone delete
markers (ExpiredObjectDeleteMarker) and multipart uploads (AbortMultipartUpload).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import re
from datetime import datetime, timezone
from typing import Any
from xml.etree.ElementTree import Element, SubElement, tostring

from starlette.responses import Response

from emulator.core.documents import Documents
from emulator.core.pipeline import RequestContext
from emulator.core.xml import DECLARATION, children, local, parse, text
from emulator.services.oss import errors, versions
from emulator.services.oss.bodies import read_small_body
from emulator.services.oss.documents import OBJECT_KIND, UPLOAD_KIND, ObjectMeta
from emulator.services.oss.model import OssModel
from emulator.services.oss.storage import STORAGE_CLASSES
from emulator.services.oss.wire import XML_TYPE

log = logging.getLogger("emulator.oss")
LIFECYCLE_KIND = "oss-lifecycle"
DAY = 86400
MAX_RULES = 1000
_COLDNESS = {name: rank for rank, name in enumerate(STORAGE_CLASSES)}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}T00:00:00(\.000)?Z$")
Rule = dict[str, Any]
Ctx = RequestContext[OssModel]


# ---- parsing --------------------------------------------------------------------------------

def _bad(message: str, name: str, value: str | None = None) -> errors.ServiceError:
    return errors.invalid_argument(message, name, value)


def _days(node: Element, tag: str) -> int | None:
    raw = text(node, tag)
    if raw is None:
        return None
    if not raw.strip().isdigit() or int(raw) < 1:
        raise _bad(f"{tag} must be a positive integer.", tag, raw)
    return int(raw)


def _date(node: Element, tag: str) -> float | None:
    raw = text(node, tag)
    if raw is None:
        return None
    if not _DATE.match(raw.strip()):
        raise _bad(f"{tag} must be midnight UTC in ISO 8601 (yyyy-MM-ddT00:00:00.000Z).", tag, raw)
    try:
        return datetime.strptime(raw.strip()[:10], "%Y-%m-%d").replace(tzinfo=timezone.utc).timestamp()
    except ValueError:
        raise _bad(f"{tag} is not a date.", tag, raw) from None


def _when(node: Element, what: str) -> dict[str, float | int]:
    """Days or CreatedBeforeDate (one of them) of an action."""
    days, before = _days(node, "Days"), _date(node, "CreatedBeforeDate")
    if days is not None and before is not None:
        raise _bad(f"{what} cannot have both Days and CreatedBeforeDate.", what)
    if days is None and before is None:
        raise _bad(f"{what} must have Days or CreatedBeforeDate.", what)
    return {"days": days} if days is not None else {"before": before}


def _storage_class(node: Element, what: str) -> str:
    value = (text(node, "StorageClass") or "").strip()
    if value not in STORAGE_CLASSES[1:]:
        raise _bad(f"Invalid StorageClass of {what}.", "StorageClass", value)
    return value


def _tag(node: Element) -> tuple[str, str]:
    key, value = text(node, "Key"), text(node, "Value")
    if not key:
        raise errors.malformed_xml()
    return key, value or ""


def _parse_rule(node: Element, new_id: str) -> Rule:
    status = text(node, "Status")
    if status is None:
        raise errors.malformed_xml()
    if status not in ("Enabled", "Disabled"):
        raise _bad("Status must be Enabled or Disabled.", "Status", status)
    rule_id = text(node, "ID") or new_id
    if len(rule_id.encode()) > 255:
        raise _bad("The rule ID is longer than 255 bytes.", "ID", rule_id)
    if len(children(node, "Prefix")) > 1:
        raise errors.malformed_xml()
    rule: Rule = {"id": rule_id, "prefix": text(node, "Prefix") or "", "enabled": status == "Enabled",
                  "tags": [_tag(t) for t in children(node, "Tag")], "not": [], "size_gt": None,
                  "size_lt": None, "expiration": None, "transitions": [], "abort": None,
                  "noncurrent_expiration": None, "noncurrent_transitions": []}
    for flt in children(node, "Filter"):
        for neg in children(flt, "Not"):
            tags = [_tag(t) for t in children(neg, "Tag")]
            rule["not"].append({"prefix": text(neg, "Prefix") or "", "tag": tags[0] if tags else None})
        for tag, field in (("ObjectSizeGreaterThan", "size_gt"), ("ObjectSizeLessThan", "size_lt")):
            raw = text(flt, tag)
            if raw is not None:
                if not raw.strip().isdigit():
                    raise _bad(f"{tag} must be a non-negative integer.", tag, raw)
                rule[field] = int(raw)
    expiration = children(node, "Expiration")
    if expiration:
        exp = expiration[0]
        marker = (text(exp, "ExpiredObjectDeleteMarker") or "").strip().lower()
        if marker not in ("", "true", "false"):
            raise _bad("ExpiredObjectDeleteMarker must be true or false.", "ExpiredObjectDeleteMarker",
                       marker)
        days, date = _days(exp, "Days"), _date(exp, "Date")
        before = _date(exp, "CreatedBeforeDate")
        given = [v for v in (days, date, before) if v is not None]
        if len(given) > 1 or (given and marker == "true"):
            raise _bad("Expiration takes one of Days, Date, CreatedBeforeDate and "
                       "ExpiredObjectDeleteMarker.", "Expiration")
        if not given and marker != "true":
            raise _bad("Expiration must have Days, CreatedBeforeDate or ExpiredObjectDeleteMarker.",
                       "Expiration")
        if marker == "true" and rule["tags"]:
            raise _bad("ExpiredObjectDeleteMarker cannot be used with tags.", "ExpiredObjectDeleteMarker")
        rule["expiration"] = ({"delete_marker": True} if marker == "true" else {"days": days}
                              if days is not None else {"before": date if date is not None else before})
    for node_t in children(node, "Transition"):
        rule["transitions"].append({**_when(node_t, "Transition"),
                                    "storage_class": _storage_class(node_t, "Transition")})
    abort = children(node, "AbortMultipartUpload")
    if abort:
        rule["abort"] = _when(abort[0], "AbortMultipartUpload")
    nce = children(node, "NoncurrentVersionExpiration")
    if nce:
        days = _days(nce[0], "NoncurrentDays")
        if days is None:
            raise _bad("NoncurrentVersionExpiration must have NoncurrentDays.", "NoncurrentDays")
        rule["noncurrent_expiration"] = {"days": days}
    for node_t in children(node, "NoncurrentVersionTransition"):
        days = _days(node_t, "NoncurrentDays")
        if days is None:
            raise _bad("NoncurrentVersionTransition must have NoncurrentDays.", "NoncurrentDays")
        rule["noncurrent_transitions"].append(
            {"days": days, "storage_class": _storage_class(node_t, "NoncurrentVersionTransition")})
    if not any(rule[k] for k in ("expiration", "transitions", "abort", "noncurrent_expiration",
                                 "noncurrent_transitions")):
        raise _bad("A rule must have an action: Expiration, Transition, AbortMultipartUpload or a "
                   "noncurrent version action.", "Rule")
    _check_order(rule)
    return rule


def _check_order(rule: Rule) -> None:
    """Colder transitions come later, and expiration after every transition (Days rules)."""
    steps = sorted((t["days"], _COLDNESS[t["storage_class"]]) for t in rule["transitions"] if "days" in t)
    if [c for _, c in steps] != sorted(c for _, c in steps) or len({d for d, _ in steps}) != len(steps):
        raise _bad("A colder transition must come after a warmer one.", "Transition")
    expiration = rule["expiration"] or {}
    if steps and "days" in expiration and expiration["days"] <= steps[-1][0]:
        raise _bad("Expiration Days must be greater than every Transition's Days.", "Days",
                   str(expiration["days"]))


def parse_configuration(body: bytes, new_id: Any) -> tuple[list[Rule], str]:
    """The rules of a <LifecycleConfiguration>, and the document GetBucketLifecycle answers (the
    one given, every rule with an ID and a Prefix element)."""
    root = parse(body, errors.malformed_xml)
    if local(root.tag) != "LifecycleConfiguration":
        raise errors.malformed_xml()
    nodes = children(root, "Rule")
    if not nodes or len(nodes) > MAX_RULES:
        raise errors.malformed_xml()
    rules = []
    for node in nodes:
        rule = _parse_rule(node, new_id())
        if not children(node, "ID") or not text(node, "ID"):
            (children(node, "ID") or [SubElement(node, "ID")])[0].text = rule["id"]
        if not children(node, "Prefix"):
            SubElement(node, "Prefix")
        rules.append(rule)
    ids = [r["id"] for r in rules]
    if len(set(ids)) != len(ids):
        raise _bad("Rule IDs must be unique.", "ID")
    return rules, DECLARATION + tostring(root, encoding="unicode")


# ---- handlers -------------------------------------------------------------------------------

async def put_bucket_lifecycle(ctx: Ctx) -> Response:
    body = await read_small_body(ctx)
    ctx.model.get_bucket(ctx.ns, ctx.bucket)
    rules, xml = parse_configuration(body, lambda: ctx.runtime.ids.token(24))
    ctx.runtime.docs.put(LIFECYCLE_KIND, ctx.ns, ctx.bucket, {"rules": rules, "xml": xml})
    return Response(status_code=200)


async def get_bucket_lifecycle(ctx: Ctx) -> Response:
    ctx.model.get_bucket(ctx.ns, ctx.bucket)
    stored = ctx.runtime.docs.get(LIFECYCLE_KIND, ctx.ns, ctx.bucket)
    if stored is None:
        raise errors.no_such_lifecycle(ctx.bucket)
    return Response(stored["xml"].encode(), media_type=XML_TYPE)


async def delete_bucket_lifecycle(ctx: Ctx) -> Response:
    ctx.model.get_bucket(ctx.ns, ctx.bucket)
    forget(ctx.runtime.docs, ctx.ns, ctx.bucket)
    return Response(status_code=204)


def forget(docs: Documents, ns: str, bucket: str) -> None:
    docs.delete(LIFECYCLE_KIND, ns, bucket)


# ---- carrying the rules out -----------------------------------------------------------------

def object_tags(doc: dict[str, Any]) -> dict[str, str]:
    """An object's tags (object tagging stores them under `tags`)."""
    tags = doc.get("tags") or {}
    return dict(tags) if isinstance(tags, dict) else {k: v for k, v in tags}


def _due(start: float, when: dict[str, Any], now: float) -> bool:
    if "days" in when:
        return math.ceil(start / DAY) * DAY + when["days"] * DAY <= now
    return start < when["before"]


def _matches(rule: Rule, doc: dict[str, Any]) -> bool:
    key = doc["key"]
    if not key.startswith(rule["prefix"]):
        return False
    tags = object_tags(doc)
    if any(tags.get(k) != v for k, v in rule["tags"]):
        return False
    for neg in rule["not"]:
        if key.startswith(neg["prefix"]) and (neg["tag"] is None or tags.get(neg["tag"][0]) == neg["tag"][1]):
            return False
    size = doc.get("size", 0)
    return not ((rule["size_gt"] is not None and size <= rule["size_gt"])
                or (rule["size_lt"] is not None and size >= rule["size_lt"]))


def _transition(model: OssModel, ns: str, doc: dict[str, Any], steps: list[dict[str, Any]],
                start: float, now: float) -> None:
    due = [s["storage_class"] for s in steps if _due(start, s, now)]
    if not due:
        return
    target = max(due, key=_COLDNESS.__getitem__)
    if _COLDNESS[target] > _COLDNESS.get(doc["storage_class"], 0) and doc["object_type"] != "Symlink":
        model.update_object(ns, ObjectMeta.from_doc({**doc, "storage_class": target, "restore": None}))


def apply_rules(model: OssModel, ns: str, bucket: str, rules: list[Rule], now: float) -> None:
    docs = model.rt.docs
    for rule in (r for r in rules if r["enabled"]):
        base = f"{bucket}/{rule['prefix']}"
        expiration = rule["expiration"] or {}
        for _, doc in list(docs.scan(OBJECT_KIND, ns, base)):
            if not _matches(rule, doc):
                continue
            expires = expiration and "delete_marker" not in expiration
            if expires and _due(doc["last_modified"], expiration, now):
                model.delete_object(ns, bucket, doc["key"])
            else:
                _transition(model, ns, doc, rule["transitions"], doc["last_modified"], now)
        if rule["noncurrent_expiration"] or rule["noncurrent_transitions"] or expiration.get("delete_marker"):
            _apply_noncurrent(model, ns, bucket, rule, now)
        if rule["abort"]:
            for _, upload in list(docs.scan(UPLOAD_KIND, ns, bucket + "/")):
                if upload["key"].startswith(rule["prefix"]) and _due(upload["initiated"], rule["abort"], now):
                    model.abort_upload(ns, bucket, upload["key"], upload["upload_id"])


def _apply_noncurrent(model: OssModel, ns: str, bucket: str, rule: Rule, now: float) -> None:
    """Older versions: expire or move them counting from when a newer version replaced them;
    remove delete markers left with no version behind them."""
    entries = list(versions.entries(model.rt.docs, ns, bucket, rule["prefix"]))
    for i, (doc, latest) in enumerate(entries):
        key = doc["key"]
        newer = entries[i - 1][0] if i and entries[i - 1][0]["key"] == key else None
        if doc.get("delete_marker"):
            alone = latest and (i + 1 == len(entries) or entries[i + 1][0]["key"] != key)
            if alone and (rule["expiration"] or {}).get("delete_marker"):
                model.delete_object(ns, bucket, key, doc["version_id"])
            continue
        if newer is None or not _matches(rule, doc):
            continue
        since = newer["last_modified"]
        expiry = rule["noncurrent_expiration"]
        if expiry and _due(since, expiry, now):
            model.delete_object(ns, bucket, key, versions.version_of(doc))
        else:
            _transition(model, ns, doc, rule["noncurrent_transitions"], since, now)


def sweep(model: OssModel) -> None:
    """Carry out every bucket's due rules now. Never raises: it runs inside clock commands."""
    try:
        docs = model.rt.docs
        now = model.rt.clock.now()
        due = [(ns, bucket, stored["rules"]) for ns in docs.namespaces(LIFECYCLE_KIND)
               for bucket, stored in docs.scan(LIFECYCLE_KIND, ns)]
    except Exception:
        log.exception("lifecycle rules could not be read")
        return
    for ns, bucket, rules in due:
        try:
            apply_rules(model, ns, bucket, rules, now)
        except Exception:  # one bucket's trouble must not stop the others
            log.exception("lifecycle of bucket %s failed", bucket)


class LifecycleRunner:
    """Sweeps when the clock moves and once a minute of emulator time."""

    def __init__(self, model: OssModel) -> None:
        self.model = model
        self._task: asyncio.Task[None] | None = None
        model.rt.clock.on_change(lambda: sweep(model))

    async def start(self) -> None:
        sweep(self.model)
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            await self.model.rt.clock.sleep(60)
            sweep(self.model)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
