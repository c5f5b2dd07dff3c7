"""Content-addressed-by-id files for object data, written so that a reader never sees half a file.

Object names never become file names (a blob's name is a random id), so no key can reach outside
the data directory. A blob is streamed to `tmp/`, then renamed into `blobs/` in one step.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import crcmod

# CRC-64/XZ: the x-oss-hash-crc64ecma value.
_CRC64 = crcmod.Crc(0x142F0E1EBA9EA3693, initCrc=0, rev=True, xorOut=0xFFFFFFFFFFFFFFFF)


@dataclass(frozen=True)
class Blob:
    id: str
    size: int
    md5_hex: str
    crc64: int


class BlobWriter:
    def __init__(self, store: BlobStore, max_size: int | None = None) -> None:
        self._store = store
        self._id = uuid.uuid4().hex
        self._tmp = store.tmp_dir / self._id
        self._file: BinaryIO = open(self._tmp, "wb")
        self._md5 = hashlib.md5()
        self._crc = _CRC64.new()
        self._size = 0
        self._max = max_size
        self._done = False

    @property
    def size(self) -> int:
        return self._size

    def write(self, data: bytes) -> None:
        self._size += len(data)
        if self._max is not None and self._size > self._max:
            raise OverflowError(self._size)
        self._md5.update(data)
        self._crc.update(data)
        self._file.write(data)

    def commit(self) -> Blob:
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        final = self._store.path(self._id)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self._tmp, final)
        self._done = True
        return Blob(self._id, self._size, self._md5.hexdigest(), self._crc.crcValue)

    def abort(self) -> None:
        if not self._done:
            self._file.close()
            self._tmp.unlink(missing_ok=True)
            self._done = True

    def __enter__(self) -> BlobWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.abort()


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp_dir = root / "tmp"
        self.blob_dir = root / "blobs"
        # Leftovers of writes interrupted by a crash are never part of any object.
        shutil.rmtree(self.tmp_dir, ignore_errors=True)
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        self.blob_dir.mkdir(parents=True, exist_ok=True)

    def writer(self, max_size: int | None = None) -> BlobWriter:
        return BlobWriter(self, max_size)

    def copy_range(self, path: Path, start: int, length: int) -> Blob:
        """A new blob of `length` bytes of the file `path` from `start` (blocking: a worker's job)."""
        with self.writer() as writer, open(path, "rb") as source:
            source.seek(start)
            while length > 0 and (chunk := source.read(min(length, 1024 * 1024))):
                writer.write(chunk)
                length -= len(chunk)
            return writer.commit()

    def put_bytes(self, data: bytes) -> Blob:
        with self.writer() as w:
            w.write(data)
            return w.commit()

    def path(self, blob_id: str) -> Path:
        if not blob_id.isalnum():
            raise ValueError(blob_id)
        return self.blob_dir / blob_id[:2] / blob_id

    def open(self, blob_id: str) -> BinaryIO:
        return open(self.path(blob_id), "rb")

    def clear(self) -> None:
        shutil.rmtree(self.blob_dir, ignore_errors=True)
        self.blob_dir.mkdir(parents=True, exist_ok=True)

    def delete(self, blob_id: str) -> None:
        self.path(blob_id).unlink(missing_ok=True)
