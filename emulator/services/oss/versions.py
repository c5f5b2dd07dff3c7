"""Versioning: the versions of a key, delete markers and the `null` version. No HTTP here.

A bucket that never had versioning keeps one document per key (OBJECT_KIND, `bucket/key`), as it
always did. Once versioning is on, OBJECT_KIND still holds a key's newest version whenever that is
an object, so every reader that names no version (GET, the object lists, IMM through the
ObjectStore port) is unchanged. Older versions and delete markers live in VERSION_KIND under
`bucket/key\\0<inverted seq>`: a key's entries sort together, newest first, right after the key.
Every move between the two happens inside the caller's transaction; blobs are freed after it.

Functions here run inside `docs.transaction()` when they write; they return the blob ids the
caller frees once the transaction has committed.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

from emulator.core.documents import Documents
from emulator.core.runtime import Runtime
from emulator.services.oss.documents import OBJECT_KIND, VERSION_KIND, DeleteMarker

NULL = "null"
SEQ_KIND = "oss-version-seq"
_SEQ_TOP = 10**16
STATUSES = ("Enabled", "Suspended")


def _older_key(bucket: str, key: str, seq: int) -> str:
    return f"{bucket}/{key}\x00{_SEQ_TOP - seq:016d}"


def version_of(doc: dict[str, Any]) -> str:
    """A version's id as clients see it (objects written before versioning are `null`)."""
    return doc.get("version_id") or NULL


def _next_seq(docs: Documents, ns: str) -> int:
    counter = docs.get(SEQ_KIND, ns, "seq") or {"seq": 0}
    counter["seq"] += 1
    docs.put(SEQ_KIND, ns, "seq", counter)
    return counter["seq"]


def _new_version_id(rt: Runtime) -> str:
    # Opaque and URL-safe, shaped like OSS's (`CAEQ...`).
    return "CAEQ" + rt.ids.token(36)


def older_versions(docs: Documents, ns: str, bucket: str, key: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """A key's older versions and delete markers, newest first: (document key, document)."""
    return docs.scan(VERSION_KIND, ns, f"{bucket}/{key}\x00")


def _archive(rt: Runtime, ns: str, doc: dict[str, Any]) -> None:
    """The current version becomes an older one."""
    seq = doc.get("seq") or _next_seq(rt.docs, ns)
    rt.docs.put(VERSION_KIND, ns, _older_key(doc["bucket"], doc["key"], seq),
                {**doc, "seq": seq, "version_id": version_of(doc)})


def _drop_null(docs: Documents, ns: str, bucket: str, key: str) -> list[str]:
    """Remove the key's older `null` version (written while suspended); its blob ids."""
    freed = []
    for doc_key, doc in list(older_versions(docs, ns, bucket, key)):
        if version_of(doc) == NULL:
            docs.delete(VERSION_KIND, ns, doc_key)
            if not doc.get("delete_marker"):
                freed.append(doc["blob_id"])
    return freed


def _retire_current(rt: Runtime, ns: str, status: str, bucket: str, key: str,
                    old: dict[str, Any] | None) -> list[str]:
    """Before a new current version or a delete marker: keep the old current as an older
    version, or (suspended) drop the key's `null` version. Blob ids to free."""
    freed = []
    if old is not None:
        if status == "Suspended" and version_of(old) == NULL:
            freed.append(old["blob_id"])
        else:
            _archive(rt, ns, old)
    if status == "Suspended":
        freed += _drop_null(rt.docs, ns, bucket, key)
    return freed


def install(rt: Runtime, ns: str, status: str | None, new: dict[str, Any],
            old: dict[str, Any] | None) -> list[str]:
    """Make `new` (an ObjectMeta document) the key's current version; `old` is the current one.
    Blob ids to free."""
    bucket, key = new["bucket"], new["key"]
    if status is None:
        freed = [old["blob_id"]] if old is not None and old["blob_id"] != new["blob_id"] else []
    else:
        freed = _retire_current(rt, ns, status, bucket, key, old)
        new["seq"] = _next_seq(rt.docs, ns)
        new["version_id"] = NULL if status == "Suspended" else _new_version_id(rt)
    rt.docs.put(OBJECT_KIND, ns, f"{bucket}/{key}", new)
    return freed


def _promote(docs: Documents, ns: str, bucket: str, key: str) -> None:
    """With no current version left: the newest older one becomes current unless it is a marker."""
    newest = next(older_versions(docs, ns, bucket, key), None)
    if newest is not None and not newest[1].get("delete_marker"):
        docs.delete(VERSION_KIND, ns, newest[0])
        docs.put(OBJECT_KIND, ns, f"{bucket}/{key}", newest[1])


def delete(rt: Runtime, ns: str, status: str | None, bucket: str, key: str,
           version_id: str | None) -> tuple[str | None, bool, list[str]]:
    """DeleteObject: (the version id to answer, whether it is a delete marker, blob ids to free).
    Without a version id a versioned bucket gets a delete marker; with one, that version goes
    for good (a missing version is no error, as in OSS)."""
    docs = rt.docs
    current_key = f"{bucket}/{key}"
    old = docs.get(OBJECT_KIND, ns, current_key)
    if version_id is None:
        if old is not None:
            docs.delete(OBJECT_KIND, ns, current_key)
        if status is None:
            return None, False, [old["blob_id"]] if old is not None else []
        freed = _retire_current(rt, ns, status, bucket, key, old)
        seq = _next_seq(docs, ns)
        marker = DeleteMarker(bucket, key, NULL if status == "Suspended" else _new_version_id(rt), seq,
                              rt.clock.now())
        docs.put(VERSION_KIND, ns, _older_key(bucket, key, seq), asdict(marker))
        return marker.version_id, True, freed
    if old is not None and version_of(old) == version_id:
        docs.delete(OBJECT_KIND, ns, current_key)
        _promote(docs, ns, bucket, key)
        return version_id, False, [old["blob_id"]]
    for doc_key, doc in older_versions(docs, ns, bucket, key):
        if version_of(doc) == version_id:
            docs.delete(VERSION_KIND, ns, doc_key)
            if old is None:
                _promote(docs, ns, bucket, key)
            is_marker = bool(doc.get("delete_marker"))
            return version_id, is_marker, [] if is_marker else [doc["blob_id"]]
    return version_id, False, []


def find(docs: Documents, ns: str, bucket: str, key: str, version_id: str) -> dict[str, Any] | None:
    """One version of a key (an object or a delete marker document), None when there is none."""
    current = docs.get(OBJECT_KIND, ns, f"{bucket}/{key}")
    if current is not None and version_of(current) == version_id:
        return current
    return next((doc for _, doc in older_versions(docs, ns, bucket, key) if version_of(doc) == version_id),
                None)


def latest_marker(docs: Documents, ns: str, bucket: str, key: str) -> dict[str, Any] | None:
    """The delete marker that is a key's newest version (asked only when it has no current one)."""
    newest = next(older_versions(docs, ns, bucket, key), None)
    return newest[1] if newest is not None and newest[1].get("delete_marker") else None


def replace_version(docs: Documents, ns: str, doc: dict[str, Any]) -> None:
    """Store a changed document of one existing version (storage class, restore state) where it is
    (inside a transaction)."""
    current_key = f"{doc['bucket']}/{doc['key']}"
    current = docs.get(OBJECT_KIND, ns, current_key)
    if current is not None and current["blob_id"] == doc["blob_id"]:
        docs.put(OBJECT_KIND, ns, current_key, doc)
        return
    older_key = _older_key(doc["bucket"], doc["key"], doc["seq"])
    older = docs.get(VERSION_KIND, ns, older_key)
    if older is not None and older.get("blob_id") == doc["blob_id"]:
        docs.put(VERSION_KIND, ns, older_key, doc)
    # Otherwise the version went meanwhile (overwritten, deleted): nothing to change.


def has_any(docs: Documents, ns: str, bucket: str) -> bool:
    """Whether a bucket holds any older version or delete marker (it cannot be deleted then)."""
    return next(docs.scan(VERSION_KIND, ns, bucket + "/", limit=1), None) is not None


def entries(docs: Documents, ns: str, bucket: str, prefix: str,
            key_marker: str = "") -> Iterator[tuple[dict[str, Any], bool]]:
    """Every version and delete marker of the keys under `prefix` from `key_marker` on, in key
    order and newest first within a key: (document, is latest)."""
    base = bucket + "/"
    after = base + key_marker if key_marker > prefix else None
    marker_current = docs.get(OBJECT_KIND, ns, after) if after is not None else None
    current_docs = itertools.chain(
        [marker_current] if marker_current is not None and key_marker.startswith(prefix) else [],
        (doc for _, doc in docs.scan(OBJECT_KIND, ns, base + prefix, after=after)))
    currents = ((doc["key"], "", doc) for doc in current_docs)
    olders = ((doc["key"], doc_key.rsplit("\x00", 1)[1], doc)
              for doc_key, doc in docs.scan(VERSION_KIND, ns, base + prefix, after=after))
    last_key = None
    for key, _, doc in heapq.merge(currents, olders, key=lambda entry: (entry[0], entry[1])):
        yield doc, key != last_key  # a key's first entry is its newest version
        last_key = key
