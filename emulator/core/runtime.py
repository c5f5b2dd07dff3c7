"""The shared state of one running emulator: config, clock, ids, documents, blobs, accounts."""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path

from emulator.config import Config
from emulator.core.accounts import Accounts
from emulator.core.blobs import BlobStore
from emulator.core.clock import Clock, restore_clock
from emulator.core.documents import Documents
from emulator.core.faults import Faults
from emulator.core.ids import Ids
from emulator.core.journal import Journal
from emulator.core.scenario import ScenarioSections
from emulator.core.tasks import TaskEvents, WorkerPool

_CLOCK_KIND = "clock"
log = logging.getLogger("emulator")


class Runtime:
    def __init__(self, config: Config) -> None:
        self.config = config
        self._temp_dir: str | None = None
        if config.ephemeral:
            self._temp_dir = tempfile.mkdtemp(prefix="aliyun-emulator-")
            self.data_dir = Path(self._temp_dir)
        else:
            self.data_dir = config.resolved_data_dir()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.docs = Documents(self.data_dir / "emulator.sqlite3")
        self.blobs = BlobStore(self.data_dir)
        self.ids = Ids(config.seed)
        self.clock, self.clock_restored = self._load_clock()
        self.clock.on_change(self._save_clock)
        self.accounts = Accounts(config, self.docs, self.ids)
        self.events = TaskEvents(self.docs, self.clock)
        self.pool = WorkerPool(config.workers)
        self.faults = Faults(self.docs, self.ids, self.clock)  # services register their match fields
        self.scenario = ScenarioSections()  # services register their scenario sections
        self.journal = Journal(config.journal_size)

    def reset(self, namespace: str | None = None) -> None:
        """Drop the documents of one namespace; or everything but the namespaces themselves,
        including object data, with the clock back to wall time."""
        if namespace is not None:
            self.docs.clear(namespace)
            self.faults.clear(namespace)
            self.journal.clear(namespace)
            return
        self.docs.clear(exclude_kinds=["namespace"])
        self.blobs.clear()
        self.clock.reset()
        self.faults.clear()
        self.journal.clear()

    def _load_clock(self) -> tuple[Clock, bool]:
        """The stored clock and True; or, when none is stored or what is stored is unusable
        (reported here, then dropped so a server never keeps failing on it), wall time and False."""
        try:
            saved = self.docs.get(_CLOCK_KIND, "_", "clock")
            if saved is not None:
                return restore_clock(saved), True
        except ValueError as exc:  # InvalidDocument, or a body that is not JSON
            log.warning("the stored clock is unusable (%s); it is reset to wall time", exc)
            self.docs.delete(_CLOCK_KIND, "_", "clock")
        return Clock(), False

    def _save_clock(self) -> None:
        self.docs.put(_CLOCK_KIND, "_", "clock", self.clock.state())

    def close(self) -> None:
        self.docs.close()
        if self._temp_dir:
            shutil.rmtree(self._temp_dir, ignore_errors=True)
