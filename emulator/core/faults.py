"""Fault rules: what a test asks to go wrong, matched against requests, tasks and notifications.

A rule is plain data (JSON or YAML), validated here and persisted with the rest of the state:

    {"service": "oss", "match": {"method": "GET"},
     "effect": {"http_error": {"status": 503, "code": "ServiceUnavailable", "message": "..."}},
     "times": 2, "after": 0, "probability": 1.0, "seed": 0}

Request effects (http_error, throttle, delay_ms, reset, garbage; the broken transfers truncate,
bandwidth, hang, slow_headers, corrupt; the service-wide outage and rate_limit) are applied by the
pipeline; task effects (task_fail, task_stall, task_duration_seconds) by the task runners of IMM and
DashScope; notification effects by whatever publishes a notification.

A rule may hold a time window on the emulator's clock: `from` / `until` (ISO times, or seconds
from now, stored as ISO times) and a `schedule` ({"every_seconds": 3600, "for_seconds": 300,
"probability": 0.2}: active for the first `for_seconds` of every period, counted from `from` or
else from the Unix epoch, so hours start on the hour). Outside its window a rule does not match.

`{"preset": NAME}` stands for a list of plain rules (see `PRESETS`).

Each service, when it is built, declares itself and the fields its requests, tasks and
notifications describe (`Faults.register_match_fields("oss", ("bucket",))`); a rule may name only
a declared service and match only on that service's fields (or any declared field with "*").
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Annotated, Any

from pydantic import (
    BeforeValidator,
    Discriminator,
    Field,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)

from emulator.core.clock import EARLIEST, LATEST, Clock
from emulator.core.documents import Documents
from emulator.core.ids import Ids
from emulator.core.timefmt import iso_millis, parse_iso
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

COMMON_MATCH_FIELDS = ("action", "method", "path", "namespace", "region")  # what every service describes
TRANSFER_EFFECTS = ("truncate", "bandwidth", "hang", "slow_headers", "corrupt")
SERVICE_EFFECTS = ("outage", "rate_limit")
REQUEST_EFFECTS = ("http_error", "throttle", "delay_ms", "reset", "garbage", *TRANSFER_EFFECTS,
                   *SERVICE_EFFECTS)
TASK_EFFECTS = ("task_fail", "task_stall", "task_duration_seconds", "output_vanish", "result_url_ttl_seconds")
NOTIFICATION_EFFECTS = ("notification",)
MESSAGE_EFFECTS = ("redeliver",)  # MNS: a message put in a queue
EFFECTS = REQUEST_EFFECTS + TASK_EFFECTS + NOTIFICATION_EFFECTS + MESSAGE_EFFECTS
ANY_SERVICE = "*"
_KIND = "fault"
_GLOBAL = "_"
_WEEK = 7 * 86400
_TEN_YEARS = 10 * 365.25 * 86400
MAX_HANG_SECONDS = 600

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
    start: float | None = None  # the window on the emulator's clock (epoch seconds)
    end: float | None = None
    schedule: dict[str, float] | None = None
    # rate_limit: wall-clock times of the requests let through in the last second (not stored)
    passed: deque[float] = field(default_factory=deque, repr=False, compare=False)

    @property
    def effect_name(self) -> str:
        return next(iter(self.effect))

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.applied >= self.times

    def in_window(self, now: float) -> bool:
        if (self.start is not None and now < self.start) or (self.end is not None and now >= self.end):
            return False
        if self.schedule is None:
            return True
        since = now - (self.start or 0.0)
        return since % self.schedule["every_seconds"] < self.schedule["for_seconds"]

    def public(self) -> dict[str, Any]:
        doc = {k: v for k, v in asdict(self).items() if k not in ("start", "end", "schedule", "passed")}
        for name, value in (("from", self.start), ("until", self.end)):
            if value is not None:
                doc[name] = iso_millis(value)
        if self.schedule is not None:
            doc["schedule"] = dict(self.schedule)
        return doc


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
    # delivered at once, while the task's outputs stay invisible (404) this long on the clock
    early_seconds: Annotated[FiniteNumber, between(0, _WEEK)] = None

    _one = model_validator(mode="before")(staticmethod(
        one_of(("drop", "duplicate", "delay_seconds", "early_seconds"), "notification effect")))


class Truncate(Document):
    """Send the headers and this much of the body, then close the connection."""

    bytes: Annotated[int, between(0, None)] = None
    fraction: Annotated[FiniteNumber, between(0, 1)] = None

    _one = model_validator(mode="before")(staticmethod(one_of(("bytes", "fraction"), "truncate size")))


class Bandwidth(Document):
    kib_per_second: Annotated[FiniteNumber, between(0.1, 1_000_000)]


class Hang(Document):
    max_seconds: Annotated[FiniteNumber, between(0, MAX_HANG_SECONDS)]


class SlowHeaders(Document):
    ms: Annotated[FiniteNumber, between(0, 600_000)]


class Corrupt(Document):
    """Flip `bytes` bytes of the body (1 when nothing is said), or garble the named headers'
    values (a name ending in `*` is a prefix: `x-oss-meta-*`)."""

    bytes: Annotated[int, between(1, 1_000_000)] = None
    headers: Annotated[list[NonEmptyString], Field(min_length=1, max_length=50)] = None


class Outage(Document):
    status: Annotated[int, between(500, 599)] = None  # absent: 503
    code: NonEmptyString = None  # absent: ServiceUnavailable
    message: str = None
    retry_after: Annotated[FiniteNumber, between(0, 86400)] = None


class RateLimit(Document):
    """Let `per_second` requests through per second (wall clock); the rest get the service's
    throttling answer."""

    per_second: Annotated[int, between(1, 100_000)]
    retry_after: Annotated[FiniteNumber, between(0, 86400)] = None


class OutputVanish(Document):
    after_seconds: Annotated[FiniteNumber, between(0, _TEN_YEARS)] = None  # absent: at once


class Redeliver(Document):
    """A message put in a queue arrives a second time (a new message id), this much later."""

    after_seconds: Annotated[FiniteNumber, between(0, _WEEK)] = None  # absent: at once


class Effect(Document):
    http_error: HttpError = None
    throttle: Annotated[Throttle, _true_or_object("must be true or an object")] = None
    delay_ms: DelayMs = None
    reset: Annotated[bool, BeforeValidator(_flag)] = None
    garbage: Annotated[bool, BeforeValidator(_flag)] = None
    truncate: Truncate = None
    bandwidth: Bandwidth = None
    hang: Hang = None
    slow_headers: SlowHeaders = None
    corrupt: Annotated[Corrupt, _true_or_object("must be true or an object")] = None
    outage: Annotated[Outage, _true_or_object("must be true or an object")] = None
    rate_limit: RateLimit = None
    task_fail: TaskFail = None
    task_stall: Annotated[TaskStall, _true_or_object("must be true or an object with until_seconds")] = None
    task_duration_seconds: Annotated[FiniteNumber, between(0, _WEEK)] = None
    output_vanish: Annotated[OutputVanish, _true_or_object("must be true or an object")] = None
    result_url_ttl_seconds: Annotated[FiniteNumber, between(0, 86400)] = None
    notification: Notification = None
    redeliver: Annotated[Redeliver, _true_or_object("must be true or an object")] = None

    _one = model_validator(mode="before")(staticmethod(one_of(EFFECTS, "effect")))


class Schedule(Document):
    every_seconds: Annotated[FiniteNumber, between(1, _TEN_YEARS)]
    for_seconds: Annotated[FiniteNumber, between(0.001, _TEN_YEARS)]
    probability: Annotated[FiniteNumber, between(0, 1)] = 1.0

    @field_validator("for_seconds")
    @classmethod
    def _within_period(cls, length: float, info: ValidationInfo) -> float:
        if length > info.data.get("every_seconds", length):
            raise fail("order", "must be <= every_seconds")
        return length


def _when(value: Any, info: ValidationInfo) -> float:
    """An ISO time (UTC when it names no zone; YAML gives a datetime), or a number of seconds from
    now on the emulator's clock (the context's `now`)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not 0 <= value <= _TEN_YEARS:  # NaN fails too
            raise fail("range", "must be an ISO 8601 time or seconds from now between 0 and 315576000")
        return (info.context or {}).get("now", 0.0) + value
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).timestamp()
    try:
        if isinstance(value, str):
            return parse_iso(value)
    except (ValueError, OverflowError):
        pass
    raise fail("time", "must be an ISO 8601 time or a number of seconds from now")


When = Annotated[float, BeforeValidator(_when), between(EARLIEST, LATEST)]


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
    from_: When = Field(None, alias="from")
    until: When = None
    schedule: Schedule = None

    @field_validator("until")
    @classmethod
    def _after_from(cls, end: float, info: ValidationInfo) -> float:
        start = info.data.get("from_")
        if start is not None and end <= start:
            raise fail("order", "must be later than from")
        context = info.context or {}
        if "now" in context and end <= context["now"]:  # a window that is over before it is added
            raise fail("order", "must be later than the emulator's current time")
        return end


class StoredRule(RuleDocument):
    """A rule as persisted, with its counters."""

    id: NonEmptyString
    seen: Annotated[int, between(0, None)] = 0
    applied: Annotated[int, between(0, None)] = 0
    draws: Annotated[int, between(0, None)] = 0


def parse_rule(doc: Any, rule_id: str, match_fields: dict[str, tuple[str, ...]] | None = None,
               now: float = 0.0) -> FaultRule:
    """A rule from a client's document (`now`: the emulator's time, for windows given in seconds
    from now); `match_fields` (service -> the fields it can match on) checks the service and the
    match keys. Raises FaultRuleError naming the bad field."""
    if match_fields is not None:
        _check_registered(doc, match_fields)
    try:
        checked = validate(RuleDocument, doc, "rule", context={"now": now})
    except InvalidDocument as exc:
        raise FaultRuleError(exc.field, exc.message) from None
    name, spec = next(iter(doc["effect"].items()))
    return FaultRule(checked.id or rule_id, checked.service, dict(checked.match),
                     {name: True if spec is None else spec}, checked.times, checked.after,
                     float(checked.probability), checked.seed, start=checked.from_, end=checked.until,
                     schedule=_schedule(checked.schedule))


def _schedule(schedule: Schedule | None) -> dict[str, float] | None:
    return None if schedule is None else schedule.model_dump()


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
                     checked.applied, checked.draws, checked.from_, checked.until,
                     _schedule(checked.schedule))


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
    def __init__(self, docs: Documents, ids: Ids, clock: Clock | None = None) -> None:
        self._docs = docs
        self._ids = ids
        self._clock = clock or Clock()
        self._lock = threading.Lock()
        stored = (_stored_rule(doc) for _, doc in docs.scan(_KIND, _GLOBAL))
        self._rules: list[FaultRule] = sorted((r for r in stored if r), key=lambda r: r.id)
        self._rngs: dict[str, random.Random] = {}
        self._match_fields: dict[str, tuple[str, ...]] = {}
        # (namespace, bucket, key) -> until when (emulator's clock) the object reads as missing
        self._hidden: dict[tuple[str, str, str], float] = {}

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
            rule = parse_rule(doc, f"fault-{self._ids.hex(8)}", match_fields, self._clock.now())
            if any(r.id == rule.id for r in self._rules):
                raise FaultRuleError("id", f"a rule with id {rule.id!r} exists")
            self._rules.append(rule)
            self._save(rule)
            return rule

    def add_all(self, doc: Any) -> list[FaultRule]:
        """One rule, or the rules a preset stands for (all added, or none)."""
        rules = expand_preset(doc) if isinstance(doc, dict) and "preset" in doc else [doc]
        added: list[FaultRule] = []
        try:
            for rule in rules:
                added.append(self.add(rule))
        except InvalidDocument:
            for rule in added:
                self.remove(rule.id)
            raise
        return added

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
            self._hidden = {entry: until for entry, until in self._hidden.items()
                            if namespace is not None and entry[0] != namespace}
            keep = [r for r in self._rules if namespace is not None and r.match.get("namespace") != namespace]
            for rule in self._rules:
                if rule not in keep:
                    self._docs.delete(_KIND, _GLOBAL, rule.id)
                    self._rngs.pop(rule.id, None)
            self._rules = keep

    @property
    def active(self) -> bool:
        return bool(self._rules)

    def hide(self, namespace: str, bucket: str, key: str, seconds: float) -> None:
        """An object reads as missing for `seconds` on the emulator's clock (an early_seconds
        notification rule: the notification arrives before its outputs are visible)."""
        with self._lock:
            self._hidden[(namespace, bucket, key)] = self._clock.now() + seconds

    def hidden(self, namespace: str | None, bucket: str, key: str) -> bool:
        if not self._hidden or namespace is None:
            return False
        now = self._clock.now()
        with self._lock:
            for entry, until in list(self._hidden.items()):
                if until <= now:
                    del self._hidden[entry]
            return (namespace, bucket, key) in self._hidden

    def take(self, service: str, info: dict[str, Any], kinds: tuple[str, ...]) -> FaultRule | None:
        """The first rule of one of `kinds` that matches and fires now; counts the application."""
        now = self._clock.now()
        with self._lock:
            for rule in self._rules:
                if (rule.effect_name not in kinds or rule.exhausted or not rule.in_window(now)
                        or not matches(rule, service, info)):
                    continue
                rule.seen += 1
                fires = rule.seen > rule.after
                probability = rule.probability * (rule.schedule or {}).get("probability", 1.0)
                if fires and probability < 1.0:
                    fires = self._next_random(rule) < probability
                if fires and rule.effect_name == "rate_limit":
                    fires = _over_rate(rule)
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
        self._docs.put(_KIND, _GLOBAL, rule.id, rule.public())


def _over_rate(rule: FaultRule) -> bool:
    """True when the rule's `per_second` requests already went through in the last second (wall
    clock: a rate is what a client's loop experiences, whatever the emulator's clock does); a
    request let through is counted."""
    now = time.monotonic()
    passed = rule.passed
    while passed and passed[0] <= now - 1.0:
        passed.popleft()
    if len(passed) >= rule.effect["rate_limit"]["per_second"]:
        return True
    passed.append(now)
    return False


# ---- presets: common production incidents as plain rules -----------------------------------

_OSS_503 = {"status": 503, "code": "ServiceUnavailable", "message": "Please reduce your request rate."}
PRESETS: dict[str, tuple[str, list[dict[str, Any]]]] = {
    "oss-flaky-downloads": (
        "GetObject: 30 % of downloads cut after half the body, 10 % reset before any byte, 10 % a 503",
        [{"service": "oss", "match": {"action": "GetObject"}, "effect": {"truncate": {"fraction": 0.5}},
          "probability": 0.3},
         {"service": "oss", "match": {"action": "GetObject"}, "effect": {"reset": True}, "probability": 0.1},
         {"service": "oss", "match": {"action": "GetObject"}, "effect": {"http_error": _OSS_503},
          "probability": 0.1}]),
    "imm-slow-queue": (
        "every IMM task takes 10 minutes on the emulator's clock; GetTask answers in 200-800 ms",
        [{"service": "imm", "effect": {"task_duration_seconds": 600}},
         {"service": "imm", "match": {"action": "GetTask"},
          "effect": {"delay_ms": {"min": 200, "max": 800}}}]),
    "dashscope-throttled": (
        "DashScope lets 2 requests a second through, and throttles 20 % of task polls besides",
        [{"service": "dashscope", "effect": {"rate_limit": {"per_second": 2}}},
         {"service": "dashscope", "match": {"action": "GetTask"}, "effect": {"throttle": True},
          "probability": 0.2}]),
    "mns-duplicate-delivery": (
        "30 % of the messages put in any queue arrive a second time, 30 s later on the emulator's clock "
        "(after the messages sent meanwhile); 20 % of IMM completion notifications are published twice",
        [{"service": "mns", "effect": {"redeliver": {"after_seconds": 30}}, "probability": 0.3},
         {"service": "imm", "effect": {"notification": {"duplicate": 1}}, "probability": 0.2}]),
}


class PresetDocument(Document):
    preset: NonEmptyString
    id: NonEmptyString = None  # the rules are `<id>-1`, `<id>-2`...; absent: the preset's name
    seed: int = 0

    @field_validator("preset")
    @classmethod
    def _known(cls, name: str) -> str:
        if name not in PRESETS:
            raise fail("preset", f"unknown preset; one of {', '.join(PRESETS)}")
        return name


def expand_preset(doc: Any) -> list[dict[str, Any]]:
    """The plain rules a preset document stands for; FaultRuleError naming the bad field."""
    try:
        checked = validate(PresetDocument, doc, "rule")
    except InvalidDocument as exc:
        raise FaultRuleError(exc.field, exc.message) from None
    prefix = checked.id or checked.preset
    _, rules = PRESETS[checked.preset]
    return [{**rule, "id": f"{prefix}-{n}", "seed": checked.seed + n} for n, rule in enumerate(rules, 1)]
