"""Scenario-file sections MNS owns: queues, topics, subscriptions (see core/scenario.py).

Beside `name` (and `topic` for a subscription), an item's fields are the attributes of the
queue, topic or subscription, as MNS names them (VisibilityTimeout) or, for a subscription, in
snake case (notify_content_format).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ConfigDict

from emulator.core.runtime import Runtime
from emulator.core.scenario import SectionItem
from emulator.core.validation import NonEmptyString
from emulator.services.mns.model import MnsModel

_SUBSCRIPTION_FIELDS = {"endpoint": "Endpoint", "notify_strategy": "NotifyStrategy",
                        "notify_content_format": "NotifyContentFormat", "filter_tag": "FilterTag"}


class NamedItem(SectionItem):
    model_config = ConfigDict(extra="allow")  # the attributes, checked by the model
    name: NonEmptyString


class SubscriptionItem(NamedItem):
    topic: NonEmptyString


def register(runtime: Runtime, mns: MnsModel) -> None:
    config = runtime.config

    def seed_queue(ns: str, item: NamedItem, base_dir: Path) -> None:
        mns.create_queue(ns, item.name, dict(item.model_extra or {}))

    def seed_topic(ns: str, item: NamedItem, base_dir: Path) -> None:
        mns.create_topic(ns, item.name, dict(item.model_extra or {}))

    def seed_subscription(ns: str, item: SubscriptionItem, base_dir: Path) -> None:
        given = {_SUBSCRIPTION_FIELDS.get(k, k): str(v) for k, v in (item.model_extra or {}).items()}
        endpoint = given.get("Endpoint", "")
        if endpoint.startswith("queue:"):  # shorthand for the queue endpoint ARN
            queue = endpoint[len("queue:"):]
            given["Endpoint"] = f"acs:mns:{config.region}:{config.account_id}:queues/{queue}"
        mns.subscribe(ns, item.topic, item.name, given)

    runtime.scenario.register("queues", NamedItem, seed_queue)
    runtime.scenario.register("topics", NamedItem, seed_topic)
    runtime.scenario.register("subscriptions", SubscriptionItem, seed_subscription)
