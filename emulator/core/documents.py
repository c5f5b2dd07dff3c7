"""A small persistent document store on SQLite: (kind, namespace, key) -> JSON document.

Every service keeps its state here, so all of it survives a restart on the same data directory
and a namespace can be dropped in one statement. Keys sort as UTF-8 bytes (SQLite's BINARY
collation), which is the order OSS lists objects in.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    kind TEXT NOT NULL,
    namespace TEXT NOT NULL,
    key TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (kind, namespace, key)
) WITHOUT ROWID;
"""


class Documents:
    def __init__(self, path: Path) -> None:
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(_SCHEMA)
        self._lock = threading.RLock()
        self._depth = 0

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group writes so they land together or not at all (nests)."""
        with self._lock:
            outer = self._depth == 0
            if outer:
                self._conn.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield
            except BaseException:
                self._depth -= 1
                if outer:
                    self._conn.execute("ROLLBACK")
                raise
            self._depth -= 1
            if outer:
                self._conn.execute("COMMIT")

    def get(self, kind: str, namespace: str, key: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT body FROM documents WHERE kind=? AND namespace=? AND key=?",
                (kind, namespace, key)).fetchone()
        return json.loads(row[0]) if row else None

    def put(self, kind: str, namespace: str, key: str, doc: dict[str, Any]) -> None:
        body = json.dumps(doc, separators=(",", ":"), ensure_ascii=False)
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO documents (kind, namespace, key, body) VALUES (?,?,?,?)",
                (kind, namespace, key, body))

    def delete(self, kind: str, namespace: str, key: str) -> bool:
        with self._lock:
            cur = self._conn.execute(
                "DELETE FROM documents WHERE kind=? AND namespace=? AND key=?", (kind, namespace, key))
        return cur.rowcount > 0

    def scan(self, kind: str, namespace: str, prefix: str = "", after: str | None = None,
             limit: int | None = None) -> Iterator[tuple[str, dict[str, Any]]]:
        """Documents of one kind in key order, keys starting with `prefix`, strictly after `after`."""
        start = max(prefix, after) if after is not None else prefix
        op = ">" if after is not None and after >= prefix else ">="
        sql = (f"SELECT key, body FROM documents WHERE kind=? AND namespace=? AND key {op} ? "
               "ORDER BY key LIMIT ?")
        batch = 500
        emitted = 0
        while True:
            with self._lock:
                rows = self._conn.execute(sql, (kind, namespace, start, batch)).fetchall()
            for key, body in rows:
                if not key.startswith(prefix):
                    return
                yield key, json.loads(body)
                emitted += 1
                if limit is not None and emitted >= limit:
                    return
            if len(rows) < batch:
                return
            start, op = rows[-1][0], ">"
            sql = (f"SELECT key, body FROM documents WHERE kind=? AND namespace=? AND key {op} ? "
                   "ORDER BY key LIMIT ?")

    def count(self, kind: str, namespace: str, prefix: str = "") -> int:
        return sum(1 for _ in self.scan(kind, namespace, prefix))

    def namespaces(self, kind: str) -> list[str]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT DISTINCT namespace FROM documents WHERE kind=?", (kind,)).fetchall()
        return [r[0] for r in rows]

    def clear(self, namespace: str | None = None, exclude_kinds: list[str] | None = None) -> None:
        clauses, params = [], []
        if namespace is not None:
            clauses.append("namespace=?")
            params.append(namespace)
        if exclude_kinds:
            clauses.append(f"kind NOT IN ({','.join('?' * len(exclude_kinds))})")
            params.extend(exclude_kinds)
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        with self._lock:
            self._conn.execute("DELETE FROM documents" + where, params)
