"""Fault rules: what a test asks to go wrong, matched against requests, tasks and notifications.

A rule is plain data (JSON or YAML), validated here and persisted with the rest of the state:

    {"service": "oss", "match": {"method": "GET"},
     "effect": {"http_error": {"status": 503, "code": "ServiceUnavailable", "message": "..."}},
     "times": 2, "after": 0, "probability": 1.0, "seed": 0}

Request effects (http_error, throttle, delay_ms, reset, garbage) are applied by the dispatcher;
task effects (task_fail, task_stall, task_duration_seconds) by the task runners of IMM and
DashScope; notification effects by whatever publishes a notification.

Each service, when it is built, declares itself and the fields its requests, tasks and
notifications describe (`Faults.register_match_fields("oss", ("bucket",))`); a rule may name only
a declared service and match only on that service's fields (or any declared field with "*").
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Annotated, Any

from pydantic import BeforeValidator, Discriminator, Tag, ValidationInfo, field_validator, model_validator

from emulator.core.documents import Documents
from emulator.core.ids import Ids
from emulator.core.validation import (
    Document,
    FiniteNumber,
    InvalidDocument,
    NonEmptyString,
    between,
    fail,
    one_of,
    tag,
    validate,
)

COMMON_MATCH_FIELDS = ("action", "method", "path", "namespace")  # what every service describes
REQUEST_EFFECTS = ("http_error", "throttle", "delay_ms", "reset", "garbage")
TASK_EFFECTS = ("task_fail", "task_stall", "task_duration_seconds")
NOTIFICATION_EFFECTS = ("notification",)
EFFECTS = REQUEST_EFFECTS + TASK_EFFECTS + NOTIFICATION_EFFECTS
ANY_SERVICE = "*"
_KIND = "fault"
_GLOBAL = "_"
_WEEK = 7 * 86400
_TEN_YEARS = 10 * 365.25 * 86400

log = logging.getLogger("emulator")


class FaultRuleError(InvalidDocument):
    """A malformed rule; `field` names the offending field (dotted path)."""


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


# The models below only validate: a rule keeps the plain JSON it was given (short forms such as
# {"throttle": true} or {"delay_ms": 200} included), on the wire and in storage.
# Optional fields default to None but refuse an explicit null: absent means "the default".

def _flag(value: Any) -> bool:
    """true, null or {}: the effect takes no parameters."""
    if value is True or value is None or value == {}:
        return True
    raise fail("true", "must be true")


def _only_true(value: Any) -> bool:
    if value is not True:
        raise fail("true", "must be true")
    return value


def _true_or_object(message: str) -> BeforeValidator:
    """true (or null) stands for an object with every parameter absent."""

    def expand(value: Any) -> dict[str, Any]:
        if value is True or value is None:
            return {}
        if not isinstance(value, dict):
            raise fail("true_or_object", message)
        return value

    return BeforeValidator(expand)


Status = Annotated[int, between(400, 599)]


class HttpError(Document):
    status: Status
    code: NonEmptyString
    message: str = ""


class Throttle(Document):
    status: Status = None  # absent: the service's own throttling answer
    code: NonEmptyString = None
    message: str = None
    retry_after: Annotated[FiniteNumber, between(0, 86400)] = None


class DelayRange(Document):
    min: Annotated[FiniteNumber, between(0, 600_000)]
    max: Annotated[FiniteNumber, between(0, 600_000)]

    @field_validator("max")
    @classmethod
    def _not_below_min(cls, high: float, info: ValidationInfo) -> float:
        if high < info.data.get("min", high):
            raise fail("order", "must be >= min")
        return high


def _number_or_object(value: Any) -> str | None:
    if isinstance(value, dict):
        return tag("object")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return tag("number")
    return None


DelayMs = Annotated[
    Annotated[Annotated[FiniteNumber, between(0, 600_000)], Tag(tag("number"))]
    | Annotated[DelayRange, Tag(tag("object"))],
    Discriminator(_number_or_object, custom_error_type="delay",
                  custom_error_message="must be a number or an object with min and max")]


class TaskFail(Document):
    code: NonEmptyString
    message: str = ""
    at_progress: Annotated[FiniteNumber, between(0, 100)] = None


class TaskStall(Document):
    until_seconds: Annotated[FiniteNumber, between(0, _TEN_YEARS)] = None


class Notification(Document):
    drop: Annotated[bool, BeforeValidator(_only_true)] = None
    duplicate: Annotated[int, between(1, 100)] = None
    delay_seconds: Annotated[FiniteNumber, between(0, _WEEK)] = None

    _one = model_validator(mode="before")(
        staticmethod(one_of(("drop", "duplicate", "delay_seconds"), "notification effect")))


class Effect(Document):
    http_error: HttpError = None
    throttle: Annotated[Throttle, _true_or_object("must be true or an object")] = None
    delay_ms: DelayMs = None
    reset: Annotated[bool, BeforeValidator(_flag)] = None
    garbage: Annotated[bool, BeforeValidator(_flag)] = None
    task_fail: TaskFail = None
    task_stall: Annotated[TaskStall, _true_or_object("must be true or an object with until_seconds")] = None
    task_duration_seconds: Annotated[FiniteNumber, between(0, _WEEK)] = None
    notification: Notification = None

    _one = model_validator(mode="before")(staticmethod(one_of(EFFECTS, "effect")))


class RuleDocument(Document):
    """A rule as a client sends it."""

    id: NonEmptyString = None
    service: NonEmptyString = ANY_SERVICE
    match: dict[str, NonEmptyString] = {}
    effect: Effect
    times: Annotated[int, between(1, 10**9)] | None = None  # null: no limit
    after: Annotated[int, between(0, 10**9)] = 0
    probability: Annotated[FiniteNumber, between(0, 1)] = 1.0
    seed: int = 0


class StoredRule(RuleDocument):
    """A rule as persisted, with its counters."""

    id: NonEmptyString
    seen: Annotated[int, between(0, None)] = 0
    applied: Annotated[int, between(0, None)] = 0
    draws: Annotated[int, between(0, None)] = 0


def parse_rule(doc: Any, rule_id: str, match_fields: dict[str, tuple[str, ...]] | None = None) -> FaultRule:
    """A rule from a client's document; `match_fields` (service -> the fields it can match on)
    checks the service and the match keys. Raises FaultRuleError naming the bad field."""
    if match_fields is not None:
        _check_registered(doc, match_fields)
    try:
        checked = validate(RuleDocument, doc, "rule")
    except InvalidDocument as exc:
        raise FaultRuleError(exc.field, exc.message) from None
    name, spec = next(iter(doc["effect"].items()))
    return FaultRule(checked.id or rule_id, checked.service, dict(checked.match),
                     {name: True if spec is None else spec}, checked.times, checked.after,
                     float(checked.probability), checked.seed)


def _check_registered(doc: Any, match_fields: dict[str, tuple[str, ...]]) -> None:
    if not isinstance(doc, dict):
        return  # the model names the problem
    service = doc.get("service", ANY_SERVICE)
    if not isinstance(service, str):
        return
    if service not in match_fields:
        raise FaultRuleError("service", f"must be one of {', '.join(match_fields)}")
    match = doc.get("match")
    known = match_fields.get(service, ())
    for key in match if isinstance(match, dict) else ():
        if key not in known:
            raise FaultRuleError(f"match.{key}", f"unknown match field; one of {', '.join(known)}")


def _stored_rule(doc: Any) -> FaultRule | None:
    """A persisted rule, or None (logged) when what is stored is not a rule."""
    try:
        checked = validate(StoredRule, doc, "rule")
    except InvalidDocument as exc:
        log.warning("ignoring a stored fault rule that does not validate (%s): %.200r", exc, doc)
        return None
    return FaultRule(checked.id, checked.service, dict(checked.match), doc["effect"], checked.times,
                     checked.after, float(checked.probability), checked.seed, checked.seen,
                     checked.applied, checked.draws)


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
        stored = (_stored_rule(doc) for _, doc in docs.scan(_KIND, _GLOBAL))
        self._rules: list[FaultRule] = sorted((r for r in stored if r), key=lambda r: r.id)
        self._rngs: dict[str, random.Random] = {}
        self._match_fields: dict[str, tuple[str, ...]] = {}

    def register_match_fields(self, service: str, names: Iterable[str]) -> None:
        """Declare a service (rules may name it) and what its requests, tasks and notifications
        describe beyond COMMON_MATCH_FIELDS, so rules can match on it."""
        with self._lock:
            self._match_fields[service] = (*COMMON_MATCH_FIELDS, *names)

    def match_fields(self) -> dict[str, tuple[str, ...]]:
        """Service (and "*": every field of every service) -> the fields its rules match on."""
        with self._lock:
            every = dict.fromkeys(f for fields in self._match_fields.values() for f in fields)
            return {**self._match_fields, ANY_SERVICE: tuple(every) or COMMON_MATCH_FIELDS}

    def add(self, doc: Any) -> FaultRule:
        match_fields = self.match_fields()
        with self._lock:
            rule = parse_rule(doc, f"fault-{self._ids.hex(8)}", match_fields)
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
