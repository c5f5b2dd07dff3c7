"""A bounded, in-memory journal of every request the emulator answered."""

from __future__ import annotations

import threading
from collections import deque
from typing import Any


class Journal:
    def __init__(self, size: int) -> None:
        self._entries: deque[dict[str, Any]] = deque(maxlen=max(1, size))
        self._lock = threading.Lock()
        self._seq = 0

    def record(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._seq += 1
            self._entries.append({"seq": self._seq, **entry})

    def query(self, filters: dict[str, str], limit: int = 100) -> list[dict[str, Any]]:
        """Newest last; `filters` compare as strings (status "404", service "oss", ...). Copies:
        a caller may change what it gets without changing the journal."""
        with self._lock:
            entries = list(self._entries)
        selected = [e for e in entries
                    if all(str(e.get(k)) == v or (k == "path" and str(e.get(k, "")).startswith(v))
                           for k, v in filters.items())]
        return [dict(e) for e in selected[-limit:]]

    def clear(self, namespace: str | None = None) -> None:
        with self._lock:
            if namespace is None:
                self._entries.clear()
            else:
                kept = [e for e in self._entries if e.get("namespace") != namespace]
                self._entries.clear()
                self._entries.extend(kept)
