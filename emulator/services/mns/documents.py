"""What MNS keeps, as plain data: queues, messages, topics, subscriptions, deliveries and the
documented attribute limits. The model keeps them; wire renders them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# name: (lowest, highest, default) [doc CreateQueue]
QUEUE_LIMITS: dict[str, tuple[int, int, int]] = {
    "VisibilityTimeout": (1, 43200, 30),
    "MaximumMessageSize": (1024, 65536, 65536),
    "MessageRetentionPeriod": (60, 604800, 345600),
    "DelaySeconds": (0, 604800, 0),
    "PollingWaitSeconds": (0, 30, 0),
}
TOPIC_LIMITS: dict[str, tuple[int, int, int]] = {"MaximumMessageSize": (1024, 65536, 65536)}
TOPIC_RETENTION_SECONDS = 86400


@dataclass
class Queue:
    name: str
    create_time: int
    last_modify_time: int
    attrs: dict[str, Any]


@dataclass
class Message:
    id: str
    body: str
    body_md5: str
    priority: int
    enqueue_time: float
    next_visible_time: float
    seq: int
    first_dequeue_time: float = 0.0
    dequeue_count: int = 0
    receipt_handle: str = ""


@dataclass
class QueueStats:
    active: int = 0
    inactive: int = 0
    delayed: int = 0


@dataclass
class Topic:
    name: str
    create_time: int
    last_modify_time: int
    attrs: dict[str, Any]


@dataclass
class Subscription:
    topic: str
    name: str
    endpoint: str
    notify_strategy: str
    notify_content_format: str
    filter_tag: str
    create_time: int
    last_modify_time: int


@dataclass
class Delivery:
    """One notification on its way to an HTTP endpoint; retried per the NotifyStrategy."""

    id: str
    topic: str
    subscription: str
    endpoint: str
    strategy: str
    content_format: str
    body: str
    message_id: str
    message_tag: str | None
    next_at: float
    retries: int = 0
    outcomes: list[str] = field(default_factory=list)
