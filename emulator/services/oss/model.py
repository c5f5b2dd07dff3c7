"""OSS state and rules: buckets, objects, multipart uploads. No HTTP here.

Object metadata lives in the document store ("oss-bucket", "oss-object", "oss-upload"); object
data lives in blobs. An object appears only once its blob is complete and its document committed,
so a crash never leaves half an object. Other services (IMM, DashScope) call this model directly.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from emulator.core.blobs import Blob, BlobStore
from emulator.core.runtime import Runtime
from emulator.services.oss import default_sse, errors, sequential, styles, versions
from emulator.services.oss.documents import (
    BUCKET_KIND,
    CONFIG_KIND,
    OBJECT_KIND,
    PART_KIND,
    UPLOAD_KIND,
    VERSION_KIND,
    BucketInfo,
    ListResult,
    ObjectMeta,
)

if TYPE_CHECKING:
    from emulator.services.oss.async_process import AsyncProcessor

MAX_KEY_BYTES = 1023
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")


def valid_bucket_name(name: str) -> bool:
    return bool(_BUCKET_RE.match(name))


def check_bucket_name(name: str) -> None:
    if not valid_bucket_name(name):
        raise errors.invalid_bucket_name(name)


def check_object_name(key: str) -> None:
    """OSS object naming: 1-1023 UTF-8 bytes, not starting with / or \\; no `..` segment
    (a key must never read like a path that climbs out of its bucket)."""
    encoded = key.encode("utf-8", "surrogatepass")
    bad = (not key or len(encoded) > MAX_KEY_BYTES or key[0] in "/\\"
           or any(seg == ".." for seg in re.split(r"[/\\]", key)) or "\x00" in key)
    if bad:
        raise errors.invalid_object_name(key)


def multipart_etag(part_md5_hexes: list[str]) -> str:
    digest = hashlib.md5(b"".join(bytes.fromhex(h) for h in part_md5_hexes)).hexdigest()
    return f'"{digest.upper()}-{len(part_md5_hexes)}"'


class OssModel:
    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime
        self.blobs: BlobStore = runtime.blobs
        # Producers of objects made when first read (IMM's live-transcoded HLS segments):
        # each is awaited with (namespace, bucket, key) before a GET of a missing object.
        self.on_missing: list[Callable[[str, str, str], Awaitable[None]]] = []
        # x-oss-async-process tasks (set by the service: they need this model).
        self.async_processor: AsyncProcessor | None = None

    async def produce_missing(self, ns: str, bucket: str, key: str) -> None:
        if self.on_missing and self.rt.docs.get(OBJECT_KIND, ns, self._object_doc_key(bucket, key)) is None:
            for produce in self.on_missing:
                await produce(ns, bucket, key)

    # ---- buckets -------------------------------------------------------------------------

    def create_bucket(self, ns: str, name: str, acl: str = "private",
                      storage_class: str = "Standard") -> bool:
        """True when created; PutBucket on an existing bucket of the same account succeeds."""
        check_bucket_name(name)
        existing = self.rt.docs.get(BUCKET_KIND, ns, name)
        if existing is not None:
            return False
        info = BucketInfo(name, self.rt.clock.now(), acl, storage_class, self.rt.config.region)
        self.rt.docs.put(BUCKET_KIND, ns, name, asdict(info))
        return True

    def get_bucket(self, ns: str, name: str) -> BucketInfo:
        doc = self.rt.docs.get(BUCKET_KIND, ns, name)
        if doc is None:
            raise errors.no_such_bucket(name)
        return BucketInfo(**doc)

    def bucket_exists(self, ns: str, name: str) -> bool:
        return self.rt.docs.get(BUCKET_KIND, ns, name) is not None

    def list_buckets(self, ns: str, prefix: str = "", marker: str | None = None,
                     max_keys: int = 1000) -> tuple[list[BucketInfo], bool]:
        items = [BucketInfo(**doc) for _, doc in self.rt.docs.scan(
            BUCKET_KIND, ns, prefix, after=marker or None, limit=max_keys + 1)]
        return items[:max_keys], len(items) > max_keys

    def set_bucket_acl(self, ns: str, name: str, acl: str) -> None:
        info = self.get_bucket(ns, name)
        info.acl = acl
        self.rt.docs.put(BUCKET_KIND, ns, name, asdict(info))

    def delete_bucket(self, ns: str, name: str) -> None:
        self.get_bucket(ns, name)
        prefix = name + "/"
        if next(self.rt.docs.scan(OBJECT_KIND, ns, prefix, limit=1), None) is not None \
                or versions.has_any(self.rt.docs, ns, name):
            raise errors.bucket_not_empty(name)
        if next(self.rt.docs.scan(UPLOAD_KIND, ns, prefix, limit=1), None) is not None:
            raise errors.bucket_not_empty(name, uploads=True)
        with self.rt.docs.transaction():
            for config_key, _ in list(self.rt.docs.scan(CONFIG_KIND, ns, prefix)):
                self.rt.docs.delete(CONFIG_KIND, ns, config_key)
            self.rt.docs.delete(BUCKET_KIND, ns, name)
            styles.drop_bucket(self.rt, ns, name)

    # ---- objects -------------------------------------------------------------------------

    def _object_doc_key(self, bucket: str, key: str) -> str:
        return f"{bucket}/{key}"

    def put_object(self, ns: str, bucket: str, key: str, blob: Blob, content_type: str | None = None,
                   user_meta: dict[str, str] | None = None, headers: dict[str, str] | None = None,
                   object_type: str = "Normal", etag: str | None = None,
                   forbid_overwrite: bool = False, storage_class: str | None = None,
                   symlink_target: str | None = None) -> ObjectMeta:
        """Make a complete blob the object `key`; the blob is owned by the object from now on.
        Without a storage class the object takes the bucket's."""
        try:
            check_object_name(key)
            info = self.get_bucket(ns, bucket)
            meta = ObjectMeta(
                bucket=bucket, key=key, size=blob.size,
                etag=etag or f'"{blob.md5_hex.upper()}"', crc64=blob.crc64,
                content_type=content_type or "application/octet-stream",
                last_modified=self.rt.clock.now(), blob_id=blob.id, object_type=object_type,
                storage_class=storage_class or info.storage_class,
                user_meta=dict(user_meta or {}), headers=dict(headers or {}),
                symlink_target=symlink_target)
            return self.commit_object(ns, meta, forbid_overwrite)
        except BaseException:
            self.blobs.delete(blob.id)
            raise

    def commit_object(self, ns: str, meta: ObjectMeta, forbid_overwrite: bool = False,
                      check: Callable[[ObjectMeta | None], None] | None = None,
                      in_place: bool = False) -> ObjectMeta:
        """Store `meta` (its blob complete) as the key's current object, in one transaction:
        `check` sees the current object first and may refuse. In a versioned bucket the old
        current object becomes an older version (versions.py), unless `in_place` (an append)
        replaces it keeping its version id."""
        doc_key = self._object_doc_key(meta.bucket, meta.key)
        doc = asdict(meta)
        if meta.object_type != "Symlink":
            doc["headers"] = default_sse.applied(self.rt.docs, ns, meta.bucket, meta.headers)
        with self.rt.docs.transaction():
            status = self.versioning(ns, meta.bucket)
            old = self.rt.docs.get(OBJECT_KIND, ns, doc_key)
            if old is not None and forbid_overwrite and status is None:
                raise errors.file_already_exists(meta.key)
            if check is not None:
                check(ObjectMeta.from_doc(old) if old is not None else None)
            if in_place and old is not None:
                doc.update(version_id=old["version_id"], seq=old["seq"])
                self.rt.docs.put(OBJECT_KIND, ns, doc_key, doc)
                freed = [old["blob_id"]]
            else:
                freed = versions.install(self.rt, ns, status, doc, old)
        for blob_id in freed:
            self.blobs.delete(blob_id)
        return ObjectMeta.from_doc(doc)

    def versioning(self, ns: str, bucket: str) -> str | None:
        """A bucket's versioning status: None (never enabled), Enabled or Suspended."""
        return self.get_bucket(ns, bucket).versioning

    def set_versioning(self, ns: str, bucket: str, status: str) -> None:
        info = self.get_bucket(ns, bucket)
        info.versioning = status
        self.rt.docs.put(BUCKET_KIND, ns, bucket, asdict(info))

    def put_bytes(self, ns: str, bucket: str, key: str, data: bytes,
                  content_type: str | None = None) -> ObjectMeta:
        return self.put_object(ns, bucket, key, self.blobs.put_bytes(data), content_type)

    def put_file(self, ns: str, bucket: str, key: str, path: Path,
                 content_type: str | None = None) -> ObjectMeta:
        """Store a local file (e.g. an ffmpeg output) as an object, streaming it."""
        with self.blobs.writer() as writer, open(path, "rb") as src:
            while chunk := src.read(1024 * 1024):
                writer.write(chunk)
            blob = writer.commit()
        return self.put_object(ns, bucket, key, blob, content_type)

    def head_object(self, ns: str, bucket: str, key: str, version_id: str | None = None) -> ObjectMeta:
        """The current object, or one version of it. A delete marker in the way answers NoSuchKey
        (no version asked) or MethodNotAllowed (asked for), with the marker's headers."""
        if version_id is not None:
            self.get_bucket(ns, bucket)
            doc = versions.find(self.rt.docs, ns, bucket, key, version_id)
            if doc is None:
                raise errors.no_such_version(version_id)
            if doc.get("delete_marker"):
                raise errors.delete_marker_version(version_id)
            return ObjectMeta.from_doc(doc)
        doc = self.rt.docs.get(OBJECT_KIND, ns, self._object_doc_key(bucket, key))
        if doc is None:
            self.get_bucket(ns, bucket)
            marker = versions.latest_marker(self.rt.docs, ns, bucket, key)
            if marker is not None:
                raise errors.deleted_key(key, marker["version_id"])
            raise errors.no_such_key(key)
        return ObjectMeta.from_doc(doc)

    def set_object_fields(self, ns: str, bucket: str, key: str, version_id: str | None = None,
                          **fields: Any) -> ObjectMeta:
        """Change attributes of an object (or one version of it) that are not its data (tags,
        ACL); Last-Modified stays."""
        with self.rt.docs.transaction():
            meta = self.head_object(ns, bucket, key, version_id)
            for name, value in fields.items():
                setattr(meta, name, value)
            self.update_object(ns, meta)
        return meta

    def set_upload_fields(self, ns: str, bucket: str, upload_id: str, **fields: Any) -> None:
        """Attributes an upload gives its object on completion (x-oss-tagging, x-oss-object-acl)."""
        doc = self.rt.docs.get(UPLOAD_KIND, ns, f"{bucket}/{upload_id}")
        if doc is not None:
            self.rt.docs.put(UPLOAD_KIND, ns, f"{bucket}/{upload_id}", {**doc, **fields})

    def update_object(self, ns: str, meta: ObjectMeta) -> None:
        """Store changed metadata of an existing version in place (storage class, restore state)."""
        with self.rt.docs.transaction():
            versions.replace_version(self.rt.docs, ns, asdict(meta))

    def object_path(self, ns: str, bucket: str, key: str) -> Path:
        """The file holding an object's bytes, for readers such as ffmpeg. Read-only."""
        return self.blobs.path(self.head_object(ns, bucket, key).blob_id)

    def delete_object(self, ns: str, bucket: str, key: str,
                      version_id: str | None = None) -> tuple[str | None, bool]:
        """Deleting a missing key succeeds, as in OSS; a missing bucket does not. Answers the
        version id the response names and whether it is a delete marker (versioned buckets)."""
        self.get_bucket(ns, bucket)
        with self.rt.docs.transaction():
            answered, marker, freed = versions.delete(self.rt, ns, self.versioning(ns, bucket), bucket, key,
                                                      version_id)
        for blob_id in freed:
            self.blobs.delete(blob_id)
        return answered, marker

    def copy_object(self, ns: str, src_bucket: str, src_key: str, bucket: str, key: str,
                    replace_meta: bool = False, content_type: str | None = None,
                    user_meta: dict[str, str] | None = None,
                    headers: dict[str, str] | None = None, src_version: str | None = None,
                    storage_class: str | None = None) -> ObjectMeta:
        src = self.head_object(ns, src_bucket, src_key, src_version)
        self.get_bucket(ns, bucket)
        check_object_name(key)
        with self.blobs.writer() as writer, self.blobs.open(src.blob_id) as f:
            while chunk := f.read(1024 * 1024):
                writer.write(chunk)
            blob = writer.commit()
        object_type = "Normal" if src.object_type == "Appendable" else src.object_type
        if replace_meta:
            return self.put_object(ns, bucket, key, blob, content_type or src.content_type,
                                   user_meta, headers, object_type, src.etag, storage_class=storage_class)
        return self.put_object(ns, bucket, key, blob, src.content_type, src.user_meta,
                               {**src.headers, **(headers or {})}, object_type, src.etag,
                               storage_class=storage_class)

    def list_objects(self, ns: str, bucket: str, prefix: str = "", delimiter: str = "",
                     after: str = "", max_keys: int = 100) -> ListResult:
        self.get_bucket(ns, bucket)
        base = bucket + "/"
        objects: list[ObjectMeta] = []
        prefixes: list[str] = []
        last = ""
        truncated = False
        skip_under = None  # a common prefix already emitted: skip the keys it covers
        for doc_key, doc in self.rt.docs.scan(OBJECT_KIND, ns, base + prefix,
                                              after=(base + after) if after else None):
            key = doc_key[len(base):]
            if skip_under is not None and key.startswith(skip_under):
                continue
            if delimiter:
                idx = key.find(delimiter, len(prefix))
                if idx >= 0:
                    common = key[: idx + len(delimiter)]
                    if after and common <= after:
                        skip_under = common
                        continue
                    if len(objects) + len(prefixes) >= max_keys:
                        truncated = True
                        break
                    prefixes.append(common)
                    last = common
                    skip_under = common
                    continue
            if len(objects) + len(prefixes) >= max_keys:
                truncated = True
                break
            objects.append(ObjectMeta.from_doc(doc))
            last = key
        return ListResult(objects, prefixes, truncated, last if truncated else "")

    # ---- multipart -----------------------------------------------------------------------

    def initiate_upload(self, ns: str, bucket: str, key: str, content_type: str | None,
                        user_meta: dict[str, str] | None = None,
                        headers: dict[str, str] | None = None, sequential: bool = False,
                        storage_class: str | None = None) -> str:
        check_object_name(key)
        self.get_bucket(ns, bucket)
        upload_id = self.rt.ids.hex(32, upper=True)
        self.rt.docs.put(UPLOAD_KIND, ns, f"{bucket}/{upload_id}", {
            "bucket": bucket, "key": key, "upload_id": upload_id, "initiated": self.rt.clock.now(),
            "content_type": content_type, "user_meta": user_meta or {}, "headers": headers or {},
            "sequential": sequential, "storage_class": storage_class})
        return upload_id

    def get_upload(self, ns: str, bucket: str, key: str, upload_id: str) -> dict[str, Any]:
        self.get_bucket(ns, bucket)
        doc = self.rt.docs.get(UPLOAD_KIND, ns, f"{bucket}/{upload_id}")
        if doc is None or doc["key"] != key:
            raise errors.no_such_upload(upload_id)
        return doc

    def list_uploads(self, ns: str, bucket: str, prefix: str = "", delimiter: str = "",
                     key_marker: str = "", upload_id_marker: str = "",
                     max_uploads: int = 1000) -> tuple[list[dict[str, Any]], list[str], bool]:
        """One page of uploads in key then initiation order after the markers: (uploads,
        common prefixes, truncated)."""
        self.get_bucket(ns, bucket)
        docs = sorted((doc for _, doc in self.rt.docs.scan(UPLOAD_KIND, ns, bucket + "/")
                       if doc["key"].startswith(prefix)),
                      key=lambda d: (d["key"], d["initiated"], d["upload_id"]))
        # After the upload the markers name (by its place in this order), else after the key.
        place = next((i for i, d in enumerate(docs)
                      if (d["key"], d["upload_id"]) == (key_marker, upload_id_marker)), None)
        if place is not None:
            docs = docs[place + 1:]
        elif key_marker:
            docs = [d for d in docs if d["key"] > key_marker]
        uploads: list[dict[str, Any]] = []
        prefixes: list[str] = []
        for doc in docs:
            rest = doc["key"][len(prefix):]
            if delimiter and delimiter in rest:
                common = prefix + rest.split(delimiter, 1)[0] + delimiter
                if common in prefixes or common <= key_marker:
                    continue
                entry: dict[str, Any] | str = common
            else:
                entry = doc
            if len(uploads) + len(prefixes) == max_uploads:
                return uploads, prefixes, True
            if isinstance(entry, str):
                prefixes.append(entry)
            else:
                uploads.append(entry)
        return uploads, prefixes, False

    def upload_part(self, ns: str, bucket: str, key: str, upload_id: str, part_number: int,
                    blob: Blob) -> dict[str, Any]:
        try:
            self.get_upload(ns, bucket, key, upload_id)
            part = {"number": part_number, "etag": f'"{blob.md5_hex.upper()}"', "md5": blob.md5_hex,
                    "size": blob.size, "crc64": blob.crc64, "blob_id": blob.id,
                    "last_modified": self.rt.clock.now()}
            part_key = f"{bucket}/{upload_id}/{part_number:05d}"
            with self.rt.docs.transaction():
                old = self.rt.docs.get(PART_KIND, ns, part_key)
                self.rt.docs.put(PART_KIND, ns, part_key, part)
        except BaseException:
            self.blobs.delete(blob.id)
            raise
        if old is not None:
            self.blobs.delete(old["blob_id"])
        return part

    def list_parts(self, ns: str, bucket: str, key: str, upload_id: str) -> list[dict[str, Any]]:
        self.get_upload(ns, bucket, key, upload_id)
        return [doc for _, doc in self.rt.docs.scan(PART_KIND, ns, f"{bucket}/{upload_id}/")]

    def complete_upload(self, ns: str, bucket: str, key: str, upload_id: str,
                        parts: list[tuple[int, str]] | None) -> ObjectMeta:
        """`parts`: (number, etag) as listed by the client; None means every uploaded part
        (x-oss-complete-all)."""
        upload = self.get_upload(ns, bucket, key, upload_id)
        stored = {p["number"]: p for p in self.list_parts(ns, bucket, key, upload_id)}
        if parts is None:
            parts = [(n, p["etag"]) for n, p in sorted(stored.items())]
        if not parts:
            raise errors.malformed_xml()
        numbers = [n for n, _ in parts]
        if numbers != sorted(numbers) or len(set(numbers)) != len(numbers):
            raise errors.invalid_part_order()
        sequential.check_complete(upload, numbers)
        chosen = []
        for number, etag in parts:
            part = stored.get(number)
            if part is None or part["etag"].strip('"').upper() != etag.strip().strip('"').upper():
                raise errors.invalid_part(number, etag)
            chosen.append(part)
        min_size = self.rt.config.oss_min_part_size
        for part in chosen[:-1]:
            if part["size"] < min_size:
                raise errors.part_too_small(part["number"], min_size, part["size"])
        with self.blobs.writer() as writer:
            for part in chosen:
                with self.blobs.open(part["blob_id"]) as f:
                    while chunk := f.read(4 * 1024 * 1024):
                        writer.write(chunk)
            blob = writer.commit()
        meta = self.put_object(ns, bucket, key, blob, upload["content_type"], upload["user_meta"],
                               {**upload["headers"], **sequential.object_headers(upload, blob)}, "Multipart",
                               multipart_etag([p["md5"] for p in chosen]),
                               storage_class=upload.get("storage_class"))
        self._drop_upload(ns, bucket, upload_id, stored.values())
        return meta

    def abort_upload(self, ns: str, bucket: str, key: str, upload_id: str) -> None:
        self.get_upload(ns, bucket, key, upload_id)
        self._drop_upload(ns, bucket, upload_id,
                          [doc for _, doc in self.rt.docs.scan(PART_KIND, ns, f"{bucket}/{upload_id}/")])

    def _drop_upload(self, ns: str, bucket: str, upload_id: str, parts) -> None:
        parts = list(parts)
        with self.rt.docs.transaction():
            for part in parts:
                self.rt.docs.delete(PART_KIND, ns, f"{bucket}/{upload_id}/{part['number']:05d}")
            self.rt.docs.delete(UPLOAD_KIND, ns, f"{bucket}/{upload_id}")
        for part in parts:
            self.blobs.delete(part["blob_id"])

    # ---- namespaces ----------------------------------------------------------------------

    def drop_namespace_blobs(self, ns: str | None) -> None:
        """Before a namespace's documents go: remove the files its objects and parts use."""
        if ns is None:
            return  # a full reset removes every blob at once
        for kind in (OBJECT_KIND, VERSION_KIND, PART_KIND):
            for _, doc in self.rt.docs.scan(kind, ns):
                if doc.get("blob_id"):
                    self.blobs.delete(doc["blob_id"])


def content_md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()



