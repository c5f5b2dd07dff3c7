"""MNS state and rules: queues, messages, topics, subscriptions and pending HTTP pushes. No HTTP.

Everything lives in memory for speed and is written through to `runtime.docs`, from which it is
rebuilt at start. Time is the emulator clock: visibility timeouts, delays, retention and push
retries all move when the admin API moves the clock.

Thread safety: every state change happens under one lock; waiters (long polls) and the pusher
are woken with `call_soon_threadsafe`, so the model may be called from the event loop thread
(routes, IMM tasks) or from any other thread.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import re
import threading
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import asdict, replace
from typing import Any

from emulator.config import Config
from emulator.core.clock import Clock
from emulator.core.documents import Documents
from emulator.core.errors import ServiceError
from emulator.core.faults import MESSAGE_EFFECTS, Faults
from emulator.core.ids import Ids
from emulator.services.mns import errors
from emulator.services.mns.documents import (
    QUEUE_LIMITS,
    TOPIC_LIMITS,
    Delivery,
    Message,
    Queue,
    QueueStats,
    Subscription,
    Topic,
)
from emulator.services.mns.notify import FORMATS, STRATEGIES, Notification, render, retry_delay

KIND_QUEUE = "mns-queue"
KIND_MESSAGE = "mns-message"
KIND_TOPIC = "mns-topic"
KIND_SUBSCRIPTION = "mns-subscription"
KIND_DELIVERY = "mns-delivery"

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*\Z")
_MAX_NAME = 256
_HANDLE = re.compile(r"1-([0-9A-F]{32})-[A-Za-z0-9]{16}\Z")
_QUEUE_ENDPOINT = re.compile(r"acs:mns:[^:]*:[^:]*:queues/([^/]+)\Z")
_OTHER_ENDPOINT = re.compile(r"(mail:directmail:|sms:directsms:).+\Z")

PRIORITY = (1, 16, 8)
WAIT_SECONDS = (0, 30)
BATCH = (1, 16)
MAX_TAG = 16


def body_md5(body: str) -> str:
    """MessageBodyMD5: upper-case hex MD5 of the body as sent."""
    return hashlib.md5(body.encode()).hexdigest().upper()


def _invalid(message: str) -> ServiceError:
    return errors.invalid_argument(message)


def _in_range(name: str, value: int, low: int, high: int, unit: str = "seconds") -> int:
    if not low <= value <= high:
        suffix = f" {unit}" if unit else ""
        raise _invalid(f"The value of {name} should between {low} and {high}{suffix}.")
    return value


def check_name(kind: str, name: str) -> None:
    """Names: letters, digits and '-', starting with a letter or digit, at most 256 characters."""
    title = kind.capitalize()
    if not 1 <= len(name) <= _MAX_NAME:
        raise errors.name_length(title, kind, _MAX_NAME)
    if not _NAME.match(name):
        raise errors.invalid_name(title, kind)


def _attributes(given: dict[str, Any], limits: dict[str, tuple[int, int, int]],
                base: dict[str, Any] | None) -> dict[str, Any]:
    """`base` (or the defaults) overridden by the validated `given` attributes."""
    attrs = dict(base) if base else {k: d for k, (_, _, d) in limits.items()} | {"LoggingEnabled": False}
    for name, value in given.items():
        if name == "LoggingEnabled":
            attrs[name] = bool(value)
        elif name in limits:
            low, high, _ = limits[name]
            unit = "bytes" if name == "MaximumMessageSize" else "seconds"
            attrs[name] = _in_range(name, int(value), low, high, unit)
    return attrs


Key = tuple[str, str]  # (namespace, name)


class MnsModel:
    def __init__(self, config: Config, docs: Documents, clock: Clock, ids: Ids,
                 faults: Faults | None = None) -> None:
        self.config = config
        self._faults = faults  # redeliver rules
        self._docs = docs
        self._clock = clock
        self._ids = ids
        self._lock = threading.RLock()
        self._queues: dict[Key, Queue] = {}
        self._messages: dict[Key, dict[str, Message]] = {}
        self._topics: dict[Key, Topic] = {}
        self._subscriptions: dict[Key, dict[str, Subscription]] = {}  # (ns, topic) -> by name
        self._deliveries: dict[Key, Delivery] = {}  # (ns, delivery id)
        self._waiters: dict[Key, set[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = {}
        self._seq = 0
        # Called (from any thread) with (namespace, delivery id) when an HTTP push is due.
        self.on_delivery: Callable[[str, str], None] | None = None
        self.recent_pushes: deque[dict[str, Any]] = deque(maxlen=100)
        self._load()

    # ---- persistence ---------------------------------------------------------------------

    def _load(self) -> None:
        for ns in self._docs.namespaces(KIND_QUEUE):
            for name, doc in self._docs.scan(KIND_QUEUE, ns):
                self._queues[(ns, name)] = Queue(**doc)
                self._messages[(ns, name)] = {}
        for ns in self._docs.namespaces(KIND_MESSAGE):
            for key, doc in self._docs.scan(KIND_MESSAGE, ns):
                queue = key.split("/", 1)[0]
                if (ns, queue) in self._queues:
                    message = Message(**doc)
                    self._messages[(ns, queue)][message.id] = message
                    self._seq = max(self._seq, message.seq + 1)
        for ns in self._docs.namespaces(KIND_TOPIC):
            for name, doc in self._docs.scan(KIND_TOPIC, ns):
                self._topics[(ns, name)] = Topic(**doc)
                self._subscriptions[(ns, name)] = {}
        for ns in self._docs.namespaces(KIND_SUBSCRIPTION):
            for _, doc in self._docs.scan(KIND_SUBSCRIPTION, ns):
                if (ns, doc["topic"]) in self._topics:
                    self._subscriptions[(ns, doc["topic"])][doc["name"]] = Subscription(**doc)
        for ns in self._docs.namespaces(KIND_DELIVERY):
            for key, doc in self._docs.scan(KIND_DELIVERY, ns):
                self._deliveries[(ns, key)] = Delivery(**doc)

    def _save_message(self, ns: str, queue: str, message: Message) -> None:
        self._docs.put(KIND_MESSAGE, ns, f"{queue}/{message.id}", asdict(message))

    def _drop_message(self, ns: str, queue: str, message_id: str) -> None:
        self._messages[(ns, queue)].pop(message_id, None)
        self._docs.delete(KIND_MESSAGE, ns, f"{queue}/{message_id}")

    def reset(self, namespace: str | None = None) -> None:
        """Forget in-memory state (the runtime drops the documents); wake every long poll."""
        with self._lock:
            for store in (self._queues, self._messages, self._topics, self._subscriptions,
                          self._deliveries):
                for key in [k for k in store if namespace is None or k[0] == namespace]:
                    del store[key]
            for key in list(self._waiters):
                if namespace is None or key[0] == namespace:
                    self._wake(*key)

    # ---- queues ----------------------------------------------------------------------------

    def _queue(self, ns: str, name: str) -> Queue:
        queue = self._queues.get((ns, name))
        if queue is None:
            raise errors.queue_not_exist()
        return queue

    def create_queue(self, ns: str, name: str, given: dict[str, Any]) -> bool:
        """True when created (201); False when it exists with the same attributes (204)."""
        check_name("queue", name)
        attrs = _attributes(given, QUEUE_LIMITS, None)
        with self._lock:
            existing = self._queues.get((ns, name))
            if existing is not None:
                if existing.attrs == attrs:
                    return False
                raise errors.queue_already_exist()
            now = int(self._clock.now())
            queue = Queue(name, now, now, attrs)
            self._docs.put(KIND_QUEUE, ns, name, asdict(queue))
            self._queues[(ns, name)] = queue
            self._messages[(ns, name)] = {}
            return True

    def set_queue_attributes(self, ns: str, name: str, given: dict[str, Any]) -> Queue:
        with self._lock:
            queue = self._queue(ns, name)
            updated = replace(queue, attrs=_attributes(given, QUEUE_LIMITS, queue.attrs),
                              last_modify_time=int(self._clock.now()))
            self._docs.put(KIND_QUEUE, ns, name, asdict(updated))
            self._queues[(ns, name)] = updated
            return updated

    def get_queue(self, ns: str, name: str) -> tuple[Queue, QueueStats]:
        with self._lock:
            queue = self._queue(ns, name)
            now = self._clock.now()
            self._expire(ns, name, now)
            stats = QueueStats()
            for m in self._messages[(ns, name)].values():
                if m.next_visible_time <= now:
                    stats.active += 1
                elif m.dequeue_count:
                    stats.inactive += 1
                else:
                    stats.delayed += 1
            return queue, stats

    def list_queues(self, ns: str, prefix: str, marker: str, limit: int) -> tuple[list[Queue], str]:
        """Queues in name order from `marker` on; the marker of the next page or ''."""
        with self._lock:
            names = sorted(n for s, n in self._queues if s == ns and n.startswith(prefix) and n >= marker)
            page = [self._queues[(ns, n)] for n in names[:limit]]
            return page, names[limit] if len(names) > limit else ""

    def delete_queue(self, ns: str, name: str) -> None:
        with self._lock:
            self._queue(ns, name)
            with self._docs.transaction():
                for message_id in list(self._messages[(ns, name)]):
                    self._docs.delete(KIND_MESSAGE, ns, f"{name}/{message_id}")
                self._docs.delete(KIND_QUEUE, ns, name)
            del self._queues[(ns, name)]
            del self._messages[(ns, name)]
            self._wake(ns, name)

    # ---- messages --------------------------------------------------------------------------

    def _expire(self, ns: str, queue: str, now: float) -> None:
        retention = self._queues[(ns, queue)].attrs["MessageRetentionPeriod"]
        for m in [m for m in self._messages[(ns, queue)].values() if m.enqueue_time + retention <= now]:
            self._drop_message(ns, queue, m.id)

    def _new_message_id(self, ns: str, queue: str) -> str:
        while True:  # ids are seeded, so a restarted server may repeat one still stored
            candidate = self._ids.hex(32, upper=True)
            if candidate not in self._messages[(ns, queue)]:
                return candidate

    def _enqueue(self, ns: str, queue: str, body: str, delay: int | None, priority: int | None) -> Message:
        q = self._queues[(ns, queue)]
        now = self._clock.now()
        delay = q.attrs["DelaySeconds"] if delay is None else delay
        priority = PRIORITY[2] if priority is None else priority
        message = self._store_message(ns, queue, body, priority, now + delay)
        rule = self._faults.take("mns", {"action": "Deliver", "queue": queue, "namespace": ns},
                                 MESSAGE_EFFECTS) if self._faults is not None else None
        if rule is not None:  # the same body a second time, later: at-least-once delivery
            spec = rule.effect["redeliver"]
            again = (spec if isinstance(spec, dict) else {}).get("after_seconds", 0)
            self._store_message(ns, queue, body, priority, now + delay + again)
        return message

    def _store_message(self, ns: str, queue: str, body: str, priority: int, visible_at: float) -> Message:
        message = Message(self._new_message_id(ns, queue), body, body_md5(body), priority,
                          self._clock.now(), visible_at, self._seq)
        self._seq += 1
        self._save_message(ns, queue, message)
        self._messages[(ns, queue)][message.id] = message
        self._wake(ns, queue)
        return message

    def _check_message(self, queue: Queue, body: str, delay: int | None, priority: int | None) -> None:
        limit = queue.attrs["MaximumMessageSize"]
        if not 1 <= len(body.encode()) <= limit:
            raise _invalid(f"The value of MessageBody should between 1 and {limit} bytes.")
        if delay is not None:
            _in_range("DelaySeconds", delay, *QUEUE_LIMITS["DelaySeconds"][:2])
        if priority is not None:
            _in_range("Priority", priority, *PRIORITY[:2], unit="")

    def send_message(self, ns: str, queue: str, body: str, delay: int | None = None,
                     priority: int | None = None) -> Message:
        with self._lock:
            self._check_message(self._queue(ns, queue), body, delay, priority)
            return replace(self._enqueue(ns, queue, body, delay, priority))

    def send_messages(self, ns: str, queue: str,
                      entries: list[tuple[str, int | None, int | None]]) -> list[Message | ServiceError]:
        """BatchSendMessage: every valid entry is sent; each invalid one gets its error."""
        if not BATCH[0] <= len(entries) <= BATCH[1]:
            raise _invalid(f"The count of messages should between {BATCH[0]} and {BATCH[1]}.")
        results: list[Message | ServiceError] = []
        with self._lock:
            q = self._queue(ns, queue)
            with self._docs.transaction():
                for body, delay, priority in entries:
                    try:
                        self._check_message(q, body, delay, priority)
                    except ServiceError as exc:
                        results.append(exc)
                        continue
                    results.append(replace(self._enqueue(ns, queue, body, delay, priority)))
        return results

    def _visible(self, ns: str, queue: str, now: float) -> list[Message]:
        self._expire(ns, queue, now)
        ready = [m for m in self._messages[(ns, queue)].values() if m.next_visible_time <= now]
        return sorted(ready, key=lambda m: (m.priority, m.seq))

    def _take(self, ns: str, queue: str, count: int) -> list[Message]:
        q = self._queue(ns, queue)
        now = self._clock.now()
        taken = []
        with self._docs.transaction():
            for m in self._visible(ns, queue, now)[:count]:
                m.dequeue_count += 1
                m.first_dequeue_time = m.first_dequeue_time or now
                m.next_visible_time = now + q.attrs["VisibilityTimeout"]
                m.receipt_handle = f"1-{m.id}-{self._ids.token(16)}"
                self._save_message(ns, queue, m)
                taken.append(replace(m))
        return taken

    def _next_change(self, ns: str, queue: str, now: float) -> float:
        """When the next hidden (delayed or in-flight) message becomes visible."""
        pending = [m.next_visible_time for m in self._messages[(ns, queue)].values()
                   if m.next_visible_time > now]
        return min(pending, default=math.inf)

    async def receive(self, ns: str, queue: str, count: int, wait_seconds: int | None) -> list[Message]:
        """Up to `count` visible messages, waiting up to `wait_seconds` (None: the queue's
        PollingWaitSeconds) for the first; 404 MessageNotExist when none came."""
        _in_range("numOfMessages", count, *BATCH, unit="")
        with self._lock:
            default_wait = self._queue(ns, queue).attrs["PollingWaitSeconds"]
        wait = default_wait if wait_seconds is None else wait_seconds
        _in_range("waitseconds", wait, *WAIT_SECONDS)
        deadline = self._clock.now() + wait
        loop = asyncio.get_running_loop()
        while True:
            waiter = (loop, asyncio.Event())
            with self._lock:
                taken = self._take(ns, queue, count)
                if taken:
                    return taken
                now = self._clock.now()
                if now >= deadline:
                    raise errors.message_not_exist()
                wake_at = min(deadline, self._next_change(ns, queue, now))
                self._waiters.setdefault((ns, queue), set()).add(waiter)
            try:
                await _first_of(waiter[1].wait(), self._clock.sleep_until(wake_at))
            finally:
                with self._lock:
                    self._waiters.get((ns, queue), set()).discard(waiter)

    def long_polls(self) -> int:
        """How many receives are waiting for a message now."""
        with self._lock:
            return sum(len(w) for w in self._waiters.values())

    def _wake(self, ns: str, queue: str) -> None:
        for loop, event in self._waiters.pop((ns, queue), set()):
            if not loop.is_closed():
                loop.call_soon_threadsafe(event.set)

    def peek(self, ns: str, queue: str, count: int) -> list[Message]:
        _in_range("numOfMessages", count, *BATCH, unit="")
        with self._lock:
            self._queue(ns, queue)
            found = [replace(m) for m in self._visible(ns, queue, self._clock.now())[:count]]
        if not found:
            raise errors.message_not_exist()
        return found

    def _by_handle(self, ns: str, queue: str, handle: str) -> Message:
        """The in-flight message a receipt handle names; the handle is only valid until the
        message becomes visible again or gets a newer handle."""
        match = _HANDLE.match(handle)
        if match is None:
            raise errors.receipt_handle_error()
        message = self._messages[(ns, queue)].get(match.group(1))
        if message is None:
            raise errors.message_not_exist()
        if message.receipt_handle != handle or message.next_visible_time <= self._clock.now():
            raise errors.receipt_handle_error()
        return message

    def delete_message(self, ns: str, queue: str, handle: str) -> None:
        with self._lock:
            self._queue(ns, queue)
            self._drop_message(ns, queue, self._by_handle(ns, queue, handle).id)

    def delete_messages(self, ns: str, queue: str, handles: list[str]) -> list[tuple[str, ServiceError]]:
        """BatchDeleteMessage: deletes what it can; the errors of the other handles."""
        if not BATCH[0] <= len(handles) <= BATCH[1]:
            raise _invalid(f"The count of receipt handles should between {BATCH[0]} and {BATCH[1]}.")
        errors = []
        with self._lock:
            self._queue(ns, queue)
            with self._docs.transaction():
                for handle in handles:
                    try:
                        self._drop_message(ns, queue, self._by_handle(ns, queue, handle).id)
                    except ServiceError as exc:
                        errors.append((handle, exc))
        return errors

    def change_visibility(self, ns: str, queue: str, handle: str, timeout: int) -> Message:
        """A new handle; the message stays hidden for `timeout` seconds from now."""
        _in_range("VisibilityTimeout", timeout, *QUEUE_LIMITS["VisibilityTimeout"][:2])
        with self._lock:
            self._queue(ns, queue)
            message = self._by_handle(ns, queue, handle)
            message.next_visible_time = self._clock.now() + timeout
            message.receipt_handle = f"1-{message.id}-{self._ids.token(16)}"
            self._save_message(ns, queue, message)
            self._wake(ns, queue)  # a long poll may have to wake at a different time now
            return replace(message)

    # ---- topics and subscriptions ------------------------------------------------------------

    def _topic(self, ns: str, name: str) -> Topic:
        topic = self._topics.get((ns, name))
        if topic is None:
            raise errors.topic_not_exist()
        return topic

    def create_topic(self, ns: str, name: str, given: dict[str, Any]) -> bool:
        check_name("topic", name)
        attrs = _attributes(given, TOPIC_LIMITS, None)
        with self._lock:
            existing = self._topics.get((ns, name))
            if existing is not None:
                if existing.attrs == attrs:
                    return False
                raise errors.topic_already_exist()
            now = int(self._clock.now())
            topic = Topic(name, now, now, attrs)
            self._docs.put(KIND_TOPIC, ns, name, asdict(topic))
            self._topics[(ns, name)] = topic
            self._subscriptions[(ns, name)] = {}
            return True

    def set_topic_attributes(self, ns: str, name: str, given: dict[str, Any]) -> Topic:
        with self._lock:
            topic = self._topic(ns, name)
            updated = replace(topic, attrs=_attributes(given, TOPIC_LIMITS, topic.attrs),
                              last_modify_time=int(self._clock.now()))
            self._docs.put(KIND_TOPIC, ns, name, asdict(updated))
            self._topics[(ns, name)] = updated
            return updated

    def get_topic(self, ns: str, name: str) -> tuple[Topic, int]:
        """The topic and its message count: notifications still waiting to be pushed."""
        with self._lock:
            topic = self._topic(ns, name)
            pending = sum(1 for (s, _), d in self._deliveries.items() if s == ns and d.topic == name)
            return topic, pending

    def list_topics(self, ns: str, prefix: str, marker: str, limit: int) -> tuple[list[Topic], str]:
        with self._lock:
            names = sorted(n for s, n in self._topics if s == ns and n.startswith(prefix) and n >= marker)
            return [self._topics[(ns, n)] for n in names[:limit]], names[limit] if len(names) > limit else ""

    def delete_topic(self, ns: str, name: str) -> None:
        with self._lock:
            self._topic(ns, name)
            with self._docs.transaction():
                for sub in self._subscriptions[(ns, name)]:
                    self._docs.delete(KIND_SUBSCRIPTION, ns, f"{name}/{sub}")
                for key in [k for k, d in self._deliveries.items() if k[0] == ns and d.topic == name]:
                    self._docs.delete(KIND_DELIVERY, ns, key[1])
                    del self._deliveries[key]
                self._docs.delete(KIND_TOPIC, ns, name)
            del self._topics[(ns, name)]
            del self._subscriptions[(ns, name)]

    def _subscription(self, ns: str, topic: str, name: str) -> Subscription:
        self._topic(ns, topic)
        sub = self._subscriptions[(ns, topic)].get(name)
        if sub is None:
            raise errors.subscription_not_exist()
        return sub

    def subscribe(self, ns: str, topic: str, name: str, given: dict[str, str]) -> bool:
        """True when created (201); False when it exists with the same attributes (204)."""
        check_name("subscription", name)
        endpoint = given.get("Endpoint", "")
        if not (endpoint.startswith(("http://", "https://")) or _QUEUE_ENDPOINT.match(endpoint)
                or _OTHER_ENDPOINT.match(endpoint)):
            raise _invalid(f"The Endpoint you provided is invalid: {endpoint!r}.")
        strategy = given.get("NotifyStrategy") or "BACKOFF_RETRY"
        fmt = given.get("NotifyContentFormat") or "XML"
        tag = given.get("FilterTag", "")
        if strategy not in STRATEGIES:
            raise _invalid(f"The NotifyStrategy should be one of {', '.join(STRATEGIES)}.")
        if fmt not in FORMATS:
            raise _invalid(f"The NotifyContentFormat should be one of {', '.join(FORMATS)}.")
        if len(tag) > MAX_TAG:
            raise _invalid(f"The length of FilterTag should between 1 and {MAX_TAG}.")
        with self._lock:
            self._topic(ns, topic)
            existing = self._subscriptions[(ns, topic)].get(name)
            if existing is not None:
                if (existing.endpoint, existing.notify_strategy, existing.notify_content_format,
                        existing.filter_tag) == (endpoint, strategy, fmt, tag):
                    return False
                raise errors.subscription_already_exist()
            now = int(self._clock.now())
            sub = Subscription(topic, name, endpoint, strategy, fmt, tag, now, now)
            self._docs.put(KIND_SUBSCRIPTION, ns, f"{topic}/{name}", asdict(sub))
            self._subscriptions[(ns, topic)][name] = sub
            return True

    def set_subscription_attributes(self, ns: str, topic: str, name: str, given: dict[str, str]) -> None:
        strategy = given.get("NotifyStrategy")
        if strategy is not None and strategy not in STRATEGIES:
            raise _invalid(f"The NotifyStrategy should be one of {', '.join(STRATEGIES)}.")
        with self._lock:
            sub = self._subscription(ns, topic, name)
            updated = replace(sub, notify_strategy=strategy or sub.notify_strategy,
                              last_modify_time=int(self._clock.now()))
            self._docs.put(KIND_SUBSCRIPTION, ns, f"{topic}/{name}", asdict(updated))
            self._subscriptions[(ns, topic)][name] = updated

    def get_subscription(self, ns: str, topic: str, name: str) -> Subscription:
        with self._lock:
            return self._subscription(ns, topic, name)

    def list_subscriptions(self, ns: str, topic: str, prefix: str, marker: str,
                           limit: int) -> tuple[list[Subscription], str]:
        with self._lock:
            self._topic(ns, topic)
            subs = self._subscriptions[(ns, topic)]
            names = sorted(n for n in subs if n.startswith(prefix) and n >= marker)
            return [subs[n] for n in names[:limit]], names[limit] if len(names) > limit else ""

    def unsubscribe(self, ns: str, topic: str, name: str) -> None:
        with self._lock:
            self._subscription(ns, topic, name)
            self._docs.delete(KIND_SUBSCRIPTION, ns, f"{topic}/{name}")
            del self._subscriptions[(ns, topic)][name]

    # ---- publishing ------------------------------------------------------------------------

    def publish(self, ns: str, topic_name: str, body: str, tag: str | None = None) -> tuple[str, str]:
        """PublishMessage: (MessageId, MessageBodyMD5). Queue subscribers get their message now,
        in the same transaction; HTTP subscribers are pushed in the background."""
        tag = tag or None
        due: list[str] = []
        with self._lock:
            topic = self._topic(ns, topic_name)
            limit = topic.attrs["MaximumMessageSize"]
            if not 1 <= len(body.encode()) <= limit:
                raise _invalid(f"The value of MessageBody should between 1 and {limit} bytes.")
            if tag is not None and len(tag) > MAX_TAG:
                raise _invalid(f"The length of MessageTag should between 1 and {MAX_TAG}.")
            message_id, md5, now = self._ids.hex(32, upper=True), body_md5(body), self._clock.now()
            with self._docs.transaction():
                for sub in sorted(self._subscriptions[(ns, topic_name)].values(), key=lambda s: s.name):
                    if sub.filter_tag and sub.filter_tag != tag:
                        continue
                    content = render(sub.notify_content_format, Notification(
                        self.config.account_id, topic_name, self.config.account_id, sub.name,
                        message_id, body, md5, tag, int(now * 1000)))
                    queue_endpoint = _QUEUE_ENDPOINT.match(sub.endpoint)
                    if queue_endpoint:
                        if (ns, queue_endpoint.group(1)) in self._queues:
                            self._enqueue(ns, queue_endpoint.group(1), content, None, None)
                    elif sub.endpoint.startswith(("http://", "https://")):
                        delivery = Delivery(self._ids.hex(32), topic_name, sub.name, sub.endpoint,
                                            sub.notify_strategy, sub.notify_content_format, content,
                                            message_id, tag, now)
                        self._docs.put(KIND_DELIVERY, ns, delivery.id, asdict(delivery))
                        self._deliveries[(ns, delivery.id)] = delivery
                        due.append(delivery.id)
        if self.on_delivery:
            for delivery_id in due:
                self.on_delivery(ns, delivery_id)
        return message_id, md5

    def publish_message(self, ns: str, topic_name: str, body: str, tag: str | None = None) -> str:
        """What IMM calls when a task ends: the MessageId; 404 TopicNotExist without the topic."""
        return self.publish(ns, topic_name, body, tag)[0]

    # ---- HTTP push bookkeeping (the pusher does the HTTP) -------------------------------------

    def pending_deliveries(self) -> list[Key]:
        with self._lock:
            return list(self._deliveries)

    def delivery(self, ns: str, delivery_id: str) -> Delivery | None:
        with self._lock:
            found = self._deliveries.get((ns, delivery_id))
            return replace(found) if found else None

    def delivery_finished(self, ns: str, delivery_id: str, outcome: str, retry: bool) -> float | None:
        """Record one attempt. Returns when to try again, or None when the push is over
        (delivered, refused, or out of retries)."""
        with self._lock:
            delivery = self._deliveries.get((ns, delivery_id))
            if delivery is None:
                return None
            delivery.outcomes.append(outcome)
            delay = retry_delay(delivery.strategy, delivery.retries, self._ids.random) if retry else None
            if delay is None:
                del self._deliveries[(ns, delivery_id)]
                self._docs.delete(KIND_DELIVERY, ns, delivery_id)
                self.recent_pushes.append({
                    "namespace": ns, "topic": delivery.topic, "subscription": delivery.subscription,
                    "endpoint": delivery.endpoint, "message_id": delivery.message_id,
                    "attempts": len(delivery.outcomes), "outcomes": delivery.outcomes})
                return None
            delivery.retries += 1
            delivery.next_at = self._clock.now() + delay
            self._docs.put(KIND_DELIVERY, ns, delivery_id, asdict(delivery))
            return delivery.next_at


async def _first_of(*waits: Awaitable[Any]) -> None:
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
