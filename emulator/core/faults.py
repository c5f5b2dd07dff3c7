"""Fault rules: what a test asks to go wrong, matched against requests, tasks and notifications.

A rule is plain data (JSON or YAML), validated here and persisted with the rest of the state:

    {"service": "oss", "match": {"method": "GET"},
     "effect": {"http_error": {"status": 503, "code": "ServiceUnavailable", "message": "..."}},
     "times": 2, "after": 0, "probability": 1.0, "seed": 0}

Request effects (http_error, throttle, delay_ms, reset, garbage) are applied by the dispatcher;
task effects (task_fail, task_stall, task_duration_seconds) by the task runners of IMM and
DashScope; notification effects by whatever publishes a notification.
"""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass
from typing import Any

from emulator.core.documents import Documents
from emulator.core.ids import Ids

SERVICES = ("imm", "oss", "mns", "dashscope", "*")
MATCH_FIELDS = ("action", "method", "path", "model", "bucket", "project", "topic", "queue", "namespace",
                "task_type")
REQUEST_EFFECTS = ("http_error", "throttle", "delay_ms", "reset", "garbage")
TASK_EFFECTS = ("task_fail", "task_stall", "task_duration_seconds")
NOTIFICATION_EFFECTS = ("notification",)
EFFECTS = REQUEST_EFFECTS + TASK_EFFECTS + NOTIFICATION_EFFECTS
_KIND = "fault"
_GLOBAL = "_"


class FaultRuleError(ValueError):
    """A malformed rule; `field` names the offending field (dotted path)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass
class FaultRule:
    id: str
    service: str
    match: dict[str, str]
    effect: dict[str, Any]
    times: int | None = None
    after: int = 0
    probability: float = 1.0
    seed: int = 0
    seen: int = 0  # matches so far (after skipping, probability draws)
    applied: int = 0
    draws: int = 0  # random numbers drawn, so a restart continues the same sequence

    @property
    def effect_name(self) -> str:
        return next(iter(self.effect))

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.applied >= self.times

    def public(self) -> dict[str, Any]:
        return asdict(self)


def _number(value: Any, field: str, low: float | None = None, high: float | None = None,
            integer: bool = False) -> float:
    wrong_type = not isinstance(value, (int, float)) or (integer and not isinstance(value, int))
    if isinstance(value, bool) or wrong_type:
        raise FaultRuleError(field, "must be " + ("an integer" if integer else "a number"))
    if (low is not None and value < low) or (high is not None and value > high):
        raise FaultRuleError(field, f"must be between {low} and {high}")
    return value


def _string(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value:
        raise FaultRuleError(field, "must be a non-empty string")
    return value


def _validate_effect(effect: Any) -> dict[str, Any]:
    if not isinstance(effect, dict) or len(effect) != 1:
        raise FaultRuleError("effect", f"must be an object with exactly one of: {', '.join(EFFECTS)}")
    name, spec = next(iter(effect.items()))
    where = f"effect.{name}"
    if name == "http_error":
        if not isinstance(spec, dict):
            raise FaultRuleError(where, "must be an object with status, code, message")
        _number(spec.get("status"), where + ".status", 400, 599, integer=True)
        _string(spec.get("code"), where + ".code")
        if not isinstance(spec.get("message", ""), str):
            raise FaultRuleError(where + ".message", "must be a string")
    elif name == "throttle":
        if spec not in (True, None) and not isinstance(spec, dict):
            raise FaultRuleError(where, "must be true or an object")
        if isinstance(spec, dict) and "retry_after" in spec:
            _number(spec["retry_after"], where + ".retry_after", 0, 86400)
    elif name == "delay_ms":
        if isinstance(spec, dict):
            low = _number(spec.get("min"), where + ".min", 0, 600_000)
            high = _number(spec.get("max"), where + ".max", 0, 600_000)
            if high < low:
                raise FaultRuleError(where + ".max", "must be >= min")
        else:
            _number(spec, where, 0, 600_000)
    elif name in ("reset", "garbage"):
        if spec not in (True, None, {}):
            raise FaultRuleError(where, "must be true")
    elif name == "task_fail":
        if not isinstance(spec, dict):
            raise FaultRuleError(where, "must be an object with code and message")
        _string(spec.get("code"), where + ".code")
        if not isinstance(spec.get("message", ""), str):
            raise FaultRuleError(where + ".message", "must be a string")
        if "at_progress" in spec:
            _number(spec["at_progress"], where + ".at_progress", 0, 100)
    elif name == "task_stall":
        if spec not in (True, None, {}) and not isinstance(spec, dict):
            raise FaultRuleError(where, "must be true or an object with until_seconds")
        if isinstance(spec, dict) and "until_seconds" in spec:
            _number(spec["until_seconds"], where + ".until_seconds", 0)
    elif name == "task_duration_seconds":
        _number(spec, where, 0, 7 * 86400)
    elif name == "notification":
        if not isinstance(spec, dict) or len(spec) != 1:
            raise FaultRuleError(where, "must be one of {\"drop\": true}, {\"duplicate\": N}, "
                                 "{\"delay_seconds\": N}")
        kind, value = next(iter(spec.items()))
        if kind == "drop":
            if value is not True:
                raise FaultRuleError(where + ".drop", "must be true")
        elif kind == "duplicate":
            _number(value, where + ".duplicate", 1, 100, integer=True)
        elif kind == "delay_seconds":
            _number(value, where + ".delay_seconds", 0, 7 * 86400)
        else:
            raise FaultRuleError(where, f"unknown notification effect {kind!r}")
    else:
        raise FaultRuleError("effect", f"unknown effect {name!r}; one of: {', '.join(EFFECTS)}")
    return {name: spec if spec is not None else True}


def parse_rule(doc: Any, rule_id: str) -> FaultRule:
    if not isinstance(doc, dict):
        raise FaultRuleError("rule", "must be a JSON object")
    unknown = set(doc) - {"id", "service", "match", "effect", "times", "after", "probability", "seed"}
    if unknown:
        raise FaultRuleError(sorted(unknown)[0], "unknown field")
    service = doc.get("service", "*")
    if service not in SERVICES:
        raise FaultRuleError("service", f"must be one of {', '.join(SERVICES)}")
    match = doc.get("match", {})
    if not isinstance(match, dict):
        raise FaultRuleError("match", "must be an object")
    for key, value in match.items():
        if key not in MATCH_FIELDS:
            raise FaultRuleError(f"match.{key}", f"unknown match field; one of {', '.join(MATCH_FIELDS)}")
        _string(value, f"match.{key}")
    if "effect" not in doc:
        raise FaultRuleError("effect", "is required")
    effect = _validate_effect(doc["effect"])
    times = doc.get("times")
    if times is not None:
        _number(times, "times", 1, 10**9, integer=True)
    after = _number(doc.get("after", 0), "after", 0, 10**9, integer=True)
    probability = _number(doc.get("probability", 1.0), "probability", 0, 1)
    seed = _number(doc.get("seed", 0), "seed", integer=True)
    rid = doc.get("id", rule_id)
    _string(rid, "id")
    return FaultRule(rid, service, dict(match), effect, times, int(after), float(probability), int(seed))


def matches(rule: FaultRule, service: str, info: dict[str, Any]) -> bool:
    if rule.service not in ("*", service):
        return False
    for key, expected in rule.match.items():
        actual = info.get(key)
        if actual is None:
            return False
        if key == "path":
            if not str(actual).startswith(expected):
                return False
        elif key in ("action", "method"):
            if str(actual).lower() != expected.lower():
                return False
        elif str(actual) != expected:
            return False
    return True


class Faults:
    def __init__(self, docs: Documents, ids: Ids) -> None:
        self._docs = docs
        self._ids = ids
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = [FaultRule(**doc) for _, doc in docs.scan(_KIND, _GLOBAL)]
        self._rules.sort(key=lambda r: r.id)
        self._rngs: dict[str, random.Random] = {}

    def add(self, doc: Any) -> FaultRule:
        with self._lock:
            rule = parse_rule(doc, f"fault-{self._ids.hex(8)}")
            if any(r.id == rule.id for r in self._rules):
                raise FaultRuleError("id", f"a rule with id {rule.id!r} exists")
            self._rules.append(rule)
            self._save(rule)
            return rule

    def list(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def remove(self, rule_id: str) -> bool:
        with self._lock:
            before = len(self._rules)
            self._rules = [r for r in self._rules if r.id != rule_id]
            self._docs.delete(_KIND, _GLOBAL, rule_id)
            self._rngs.pop(rule_id, None)
            return len(self._rules) < before

    def clear(self, namespace: str | None = None) -> None:
        with self._lock:
            keep = [r for r in self._rules if namespace is not None and r.match.get("namespace") != namespace]
            for rule in self._rules:
                if rule not in keep:
                    self._docs.delete(_KIND, _GLOBAL, rule.id)
                    self._rngs.pop(rule.id, None)
            self._rules = keep

    @property
    def active(self) -> bool:
        return bool(self._rules)

    def take(self, service: str, info: dict[str, Any], kinds: tuple[str, ...]) -> FaultRule | None:
        """The first rule of one of `kinds` that matches and fires now; counts the application."""
        with self._lock:
            for rule in self._rules:
                if rule.effect_name not in kinds or rule.exhausted or not matches(rule, service, info):
                    continue
                rule.seen += 1
                fires = rule.seen > rule.after
                if fires and rule.probability < 1.0:
                    fires = self._next_random(rule) < rule.probability
                if fires:
                    rule.applied += 1
                self._save(rule)
                if fires:
                    return rule
            return None

    def draw(self, rule: FaultRule) -> float:
        """A number in [0, 1) from the rule's own seeded sequence (for delay ranges)."""
        with self._lock:
            value = self._next_random(rule)
            self._save(rule)
            return value

    def _next_random(self, rule: FaultRule) -> float:
        """The rule's next number; after a restart its sequence resumes where it stopped."""
        rng = self._rngs.get(rule.id)
        if rng is None:
            rng = self._rngs[rule.id] = random.Random(rule.seed)
            for _ in range(rule.draws):
                rng.random()
        rule.draws += 1
        return rng.random()

    def _save(self, rule: FaultRule) -> None:
        self._docs.put(_KIND, _GLOBAL, rule.id, asdict(rule))
