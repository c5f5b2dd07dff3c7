"""Credentials and the isolated namespace each one belongs to.

The default AccessKey pair and DashScope keys from the Config belong to the namespace "default".
More namespaces (each a fresh world of buckets, projects, queues, tasks and billing) are created
through the admin API and persisted like any other state.
"""

from __future__ import annotations

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


class Accounts:
    def __init__(self, config: Config, docs: Documents, ids: Ids) -> None:
        self._docs = docs
        self._ids = ids
        self.default = Credentials(DEFAULT_NAMESPACE, config.access_key_id, config.access_key_secret,
                                   config.dashscope_api_key, config.dashscope_api_key_cn)

    def all(self) -> list[Credentials]:
        extra = [Credentials(**doc) for _, doc in self._docs.scan(_KIND, _GLOBAL)]
        return [self.default, *extra]

    def get(self, namespace: str) -> Credentials | None:
        return next((c for c in self.all() if c.namespace == namespace), None)

    def create(self, name: str | None = None) -> Credentials:
        name = name or "ns-" + self._ids.hex(12)
        if self.get(name) is not None:
            raise ValueError(f"namespace {name!r} already exists")
        suffix = self._ids.hex(16)
        creds = Credentials(name, f"LTAI-{suffix}", self._ids.token(30), f"sk-{suffix}",
                            f"sk-{suffix}-cn")
        self._docs.put(_KIND, _GLOBAL, name, asdict(creds))
        return creds

    def delete(self, namespace: str) -> bool:
        return self._docs.delete(_KIND, _GLOBAL, namespace)

    def by_access_key(self, access_key_id: str) -> Credentials | None:
        return next((c for c in self.all() if c.access_key_id == access_key_id), None)

    def by_dashscope_key(self, api_key: str) -> tuple[Credentials, str] | None:
        """The namespace and region ("ap-southeast-1" or "cn-beijing") of a DashScope key."""
        for creds in self.all():
            if api_key == creds.dashscope_api_key:
                return creds, DASHSCOPE_INTL
            if api_key == creds.dashscope_api_key_cn:
                return creds, DASHSCOPE_CN
        return None
