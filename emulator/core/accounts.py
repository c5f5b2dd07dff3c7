"""Credentials and the isolated namespace each one belongs to.

The default AccessKey pair and DashScope keys from the Config belong to the namespace "default".
More namespaces (each a fresh world of buckets, projects, queues, tasks and billing) are created
through the admin API and persisted like any other state.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass

from emulator.config import Config
from emulator.core.documents import Documents
from emulator.core.ids import Ids

DEFAULT_NAMESPACE = "default"
_KIND = "namespace"
_GLOBAL = "_"

# DashScope regions, by the host a key is valid on.
DASHSCOPE_INTL = "ap-southeast-1"
DASHSCOPE_CN = "cn-beijing"


@dataclass(frozen=True)
class Credentials:
    namespace: str
    access_key_id: str
    access_key_secret: str
    dashscope_api_key: str  # intl (ap-southeast-1)
    dashscope_api_key_cn: str  # cn-beijing


@dataclass(frozen=True)
class _Index:
    """Every namespace's credentials, and each looked up by what a request carries."""

    all: tuple[Credentials, ...]
    by_namespace: dict[str, Credentials]
    by_access_key: dict[str, Credentials]
    by_dashscope_key: dict[str, tuple[Credentials, str]]

    @classmethod
    def of(cls, credentials: list[Credentials]) -> _Index:
        by_namespace: dict[str, Credentials] = {}
        by_access_key: dict[str, Credentials] = {}
        by_dashscope_key: dict[str, tuple[Credentials, str]] = {}
        for creds in credentials:  # the first holder of a key wins, as a scan in order would
            by_namespace.setdefault(creds.namespace, creds)
            by_access_key.setdefault(creds.access_key_id, creds)
            by_dashscope_key.setdefault(creds.dashscope_api_key, (creds, DASHSCOPE_INTL))
            by_dashscope_key.setdefault(creds.dashscope_api_key_cn, (creds, DASHSCOPE_CN))
        return cls(tuple(credentials), by_namespace, by_access_key, by_dashscope_key)


class Accounts:
    """The namespaces, read from the documents once and indexed: every request looks its caller
    up here. Only this class writes namespace documents, so it knows when the index is stale."""

    def __init__(self, config: Config, docs: Documents, ids: Ids) -> None:
        self._docs = docs
        self._ids = ids
        self.default = Credentials(DEFAULT_NAMESPACE, config.access_key_id, config.access_key_secret,
                                   config.dashscope_api_key, config.dashscope_api_key_cn)
        self._lock = threading.Lock()  # a read never keeps an index older than a write
        self._index: _Index | None = None

    def _current(self) -> _Index:
        with self._lock:
            if self._index is None:
                extra = [Credentials(**doc) for _, doc in self._docs.scan(_KIND, _GLOBAL)]
                self._index = _Index.of([self.default, *extra])
            return self._index

    def all(self) -> list[Credentials]:
        return list(self._current().all)

    def get(self, namespace: str) -> Credentials | None:
        return self._current().by_namespace.get(namespace)

    def create(self, name: str | None = None) -> Credentials:
        name = name or "ns-" + self._ids.hex(12)
        if self.get(name) is not None:
            raise ValueError(f"namespace {name!r} already exists")
        suffix = self._ids.hex(16)
        creds = Credentials(name, f"LTAI-{suffix}", self._ids.token(30), f"sk-{suffix}",
                            f"sk-{suffix}-cn")
        with self._lock:
            self._docs.put(_KIND, _GLOBAL, name, asdict(creds))
            self._index = None
        return creds

    def delete(self, namespace: str) -> bool:
        with self._lock:
            self._index = None
            return self._docs.delete(_KIND, _GLOBAL, namespace)

    def by_access_key(self, access_key_id: str) -> Credentials | None:
        return self._current().by_access_key.get(access_key_id)

    def by_dashscope_key(self, api_key: str) -> tuple[Credentials, str] | None:
        """The namespace and region ("ap-southeast-1" or "cn-beijing") of a DashScope key."""
        return self._current().by_dashscope_key.get(api_key)
