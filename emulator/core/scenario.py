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

Seeding is idempotent: on a restart with the same data directory existing things are kept, and
so are the clock and the counters of fault rules.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from emulator.core.accounts import DEFAULT_NAMESPACE
from emulator.core.errors import ServiceError
from emulator.core.faults import FaultRuleError
from emulator.core.runtime import Runtime

SECTIONS = ("clock", "faults", "namespaces", "buckets", "projects", "topics", "queues", "subscriptions")


class ScenarioError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"scenario: {field}: {message}")
        self.field = field


def load_scenario(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError("file", f"cannot read {path}: {exc.strerror}") from exc
    import yaml  # only with a scenario file: not loaded at start otherwise

    try:
        doc = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        kind = "JSON" if path.suffix.lower() == ".json" else "YAML"
        raise ScenarioError("file", f"not valid {kind}: {exc}") from exc
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise ScenarioError("file", "the top level must be a mapping")
    unknown = set(doc) - set(SECTIONS)
    if unknown:
        raise ScenarioError(sorted(unknown)[0], f"unknown section; one of {', '.join(SECTIONS)}")
    return doc


def _items(doc: dict[str, Any], section: str) -> list[dict[str, Any]]:
    items = doc.get(section) or []
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ScenarioError(section, "must be a list of mappings")
    return items


def _namespace(runtime: Runtime, item: dict[str, Any], where: str) -> str:
    ns = item.get("namespace", DEFAULT_NAMESPACE)
    if runtime.accounts.get(ns) is None:
        raise ScenarioError(f"{where}.namespace", f"no namespace {ns!r} (list it under namespaces)")
    return ns


# A seeder creates one item of a section through a service model: (runtime, models, ns, item).
Seeder = Callable[[Any, str, dict[str, Any]], None]


def apply_scenario(runtime: Runtime, models: dict[str, Any], doc: dict[str, Any], base_dir: Path,
                   seeders: dict[str, Seeder] | None = None) -> None:
    from emulator.admin.routes import BadRequest, apply_clock

    if "clock" in doc and not runtime.clock_restored:  # a restart keeps the clock it had
        if not isinstance(doc["clock"], dict):
            raise ScenarioError("clock", "must be a mapping")
        try:
            apply_clock(runtime, doc["clock"])
        except BadRequest as exc:
            raise ScenarioError(f"clock.{exc.field}", exc.message) from exc
    names = doc.get("namespaces") or []
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ScenarioError("namespaces", "must be a list of names")
    for name in names:
        if runtime.accounts.get(name) is None:
            runtime.accounts.create(name)
    existing = {r.id for r in runtime.faults.list()}
    for index, rule in enumerate(_items(doc, "faults")):
        rule = {"id": f"scenario-{index}", **rule}
        if rule["id"] in existing:
            continue  # kept from an earlier start, with its counters
        try:
            runtime.faults.add(rule)
        except FaultRuleError as exc:
            raise ScenarioError(f"faults[{index}].{exc.field}", exc.message) from exc
    oss = models["oss"]
    for index, bucket in enumerate(_items(doc, "buckets")):
        where = f"buckets[{index}]"
        ns = _namespace(runtime, bucket, where)
        try:
            oss.create_bucket(ns, str(bucket.get("name", "")), bucket.get("acl", "private"))
            for j, obj in enumerate(bucket.get("objects") or []):
                _seed_object(oss, ns, bucket["name"], obj, base_dir, f"{where}.objects[{j}]")
        except ServiceError as exc:
            raise ScenarioError(where, f"{exc.code}: {exc.message}") from exc
    for section, seeder in (seeders or {}).items():
        for index, item in enumerate(_items(doc, section)):
            where = f"{section}[{index}]"
            try:
                seeder(models, _namespace(runtime, item, where), item)
            except ServiceError as exc:
                raise ScenarioError(where, f"{exc.code}: {exc.message}") from exc
            except (KeyError, TypeError, ValueError) as exc:
                raise ScenarioError(where, f"invalid item: {exc}") from exc
    unseeded = [s for s in ("projects", "topics", "queues", "subscriptions")
                if doc.get(s) and s not in (seeders or {})]
    if unseeded:
        raise ScenarioError(unseeded[0], "this section is not supported yet")


def _seed_object(oss, ns: str, bucket: str, obj: Any, base_dir: Path, where: str) -> None:
    if not isinstance(obj, dict) or not isinstance(obj.get("key"), str):
        raise ScenarioError(where, "needs a key and a file or content")
    content_type = obj.get("content_type")
    if "file" in obj:
        path = (base_dir / str(obj["file"])).resolve()
        if not path.is_file():
            raise ScenarioError(f"{where}.file", f"no such file: {path}")
        oss.put_file(ns, bucket, obj["key"], path, content_type)
    elif "content" in obj:
        oss.put_bytes(ns, bucket, obj["key"], str(obj["content"]).encode(), content_type)
    else:
        raise ScenarioError(where, "needs a file or content")
