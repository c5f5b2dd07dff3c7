"""Scenario files (YAML or JSON) loaded at start with `--scenario FILE`: fault rules, the clock,
and state to seed (buckets with objects from local files, projects, topics, queues, subscriptions).

    clock: {set: "2026-01-01T00:00:00Z", frozen: true}
    faults:
      - {id: slow-oss, service: oss, effect: {delay_ms: 200}}
    namespaces: [team-a]                 # created if missing (credentials in GET /_emulator/namespaces)
    buckets:
      - name: test-bucket
        namespace: default               # optional
        objects:
          - {key: video-demo/brewing.mov, file: ../videos/brewing.mov}   # relative to this file
          - {key: notes.txt, content: "hello"}
    projects: [{name: test-project}]     # IMM
    topics: [{name: test-mns-topic}]     # MNS
    queues: [{name: imm-done}]
    subscriptions: [{topic: test-mns-topic, name: to-queue, endpoint: "queue:imm-done"}]

`clock`, `faults` and `namespaces` are core's; every other section belongs to the service that
registered it (`ScenarioSections.register`, called when the service is built) with the model of
one item and the seeder that creates it. Sections are seeded in the order they were registered.

The whole file is validated before anything is applied. Seeding is idempotent: on a restart with
the same data directory existing things are kept, and so are the clock and the counters of fault
rules.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from emulator.core.accounts import DEFAULT_NAMESPACE
from emulator.core.clock import ClockCommand, apply_clock
from emulator.core.errors import ServiceError
from emulator.core.validation import Document, InvalidDocument, validate

if TYPE_CHECKING:
    from emulator.core.runtime import Runtime

CORE_SECTIONS = ("clock", "faults", "namespaces")


class ScenarioError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"scenario: {field}: {message}")
        self.field = field


class SectionItem(Document):
    """One item of a service's section; any item may name the namespace it is created in."""

    namespace: str = DEFAULT_NAMESPACE


# Creates one item: (namespace, item, directory of the scenario file). It raises ServiceError as
# its service would answer, or InvalidDocument naming a field of the item.
Seeder = Callable[[str, Any, Path], None]


@dataclass(frozen=True)
class Section:
    item: type[SectionItem]
    seed: Seeder


class ScenarioSections:
    """The sections services own, registered when each service is built."""

    def __init__(self) -> None:
        self._sections: dict[str, Section] = {}

    def register(self, name: str, item: type[SectionItem], seed: Seeder) -> None:
        if name in CORE_SECTIONS or name in self._sections:
            raise ValueError(f"scenario section {name!r} is registered twice")
        self._sections[name] = Section(item, seed)

    def items(self) -> list[tuple[str, Section]]:
        return list(self._sections.items())

    def names(self) -> tuple[str, ...]:
        return (*CORE_SECTIONS, *self._sections)


class CoreSections(Document):
    """The sections core owns; the services' are checked against their own item models."""

    clock: ClockCommand | None = None
    faults: list[dict[str, Any]] | None = None
    namespaces: list[str] | None = None


def load_scenario(path: Path) -> dict[str, Any]:
    """The file as a mapping of sections (not yet validated against them)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError("file", f"cannot read {path}: {exc.strerror}") from exc
    import yaml  # only with a scenario file: not loaded at start otherwise

    kind = "JSON" if path.suffix.lower() == ".json" else "YAML"
    try:
        doc = json.loads(text) if kind == "JSON" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise ScenarioError("file", f"not valid {kind}: {exc}") from exc
    except RecursionError:
        raise ScenarioError("file", f"not valid {kind}: nested too deeply") from None
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise ScenarioError("file", "the top level must be a mapping")
    return doc


def apply_scenario(runtime: Runtime, doc: dict[str, Any], base_dir: Path) -> None:
    """Validate every section, then apply core's and seed the services' (ScenarioError names the
    first bad field: `scenario: buckets[0].objects[1].file: no such file: ...`)."""
    sections = runtime.scenario
    unknown = [name for name in doc if name not in sections.names()]
    if unknown:
        raise ScenarioError(str(unknown[0]), f"unknown section; one of {', '.join(sections.names())}")
    core = _checked(CoreSections, {k: v for k, v in doc.items() if k in CORE_SECTIONS})
    seeded = [(name, section, _items(section, name, doc.get(name))) for name, section in sections.items()]
    if core.clock is not None and not runtime.clock_restored:  # a restart keeps the clock it had
        try:
            apply_clock(runtime.clock, core.clock)
        except InvalidDocument as exc:
            raise ScenarioError(f"clock.{exc.field}", exc.message) from exc
    for name in core.namespaces or []:
        if runtime.accounts.get(name) is None:
            runtime.accounts.create(name)
    existing = {r.id for r in runtime.faults.list()}
    for index, rule in enumerate(core.faults or []):
        rule = {"id": f"scenario-{index}", **rule}
        if rule["id"] in existing or f"{rule['id']}-1" in existing:  # a preset's first rule
            continue  # kept from an earlier start, with its counters
        try:
            runtime.faults.add_all(rule)
        except InvalidDocument as exc:
            raise ScenarioError(f"faults[{index}].{exc.field}", exc.message) from exc
    for name, section, items in seeded:
        for index, item in enumerate(items):
            where = f"{name}[{index}]"
            if runtime.accounts.get(item.namespace) is None:
                raise ScenarioError(f"{where}.namespace",
                                    f"no namespace {item.namespace!r} (list it under namespaces)")
            try:
                section.seed(item.namespace, item, base_dir)
            except ServiceError as exc:
                raise ScenarioError(where, f"{exc.code}: {exc.message}") from exc
            except InvalidDocument as exc:
                raise ScenarioError(f"{where}.{exc.field}", exc.message) from exc
            except (KeyError, TypeError, ValueError) as exc:
                raise ScenarioError(where, f"invalid item: {exc}") from exc


def _checked(model: type[Document], value: Any, where: str = "") -> Any:
    """`value` validated; a ScenarioError names the bad field below `where`."""
    try:
        return validate(model, value)
    except InvalidDocument as exc:
        field = ".".join(part for part in (where, exc.field) if part).replace(".[", "[")
        raise ScenarioError(field, exc.message) from exc


def _items(section: Section, name: str, value: Any) -> list[SectionItem]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ScenarioError(name, "must be a list of mappings")
    return [_checked(section.item, item, f"{name}[{index}]") for index, item in enumerate(value)]
