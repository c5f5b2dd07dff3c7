"""Scenario-file sections MNS owns: queues, topics, subscriptions (see core/scenario.py)."""

from __future__ import annotations

from typing import Any

_SUBSCRIPTION_FIELDS = {"endpoint": "Endpoint", "notify_strategy": "NotifyStrategy",
                        "notify_content_format": "NotifyContentFormat", "filter_tag": "FilterTag"}


def _attributes(item: dict[str, Any], skip: tuple[str, ...]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in skip}


def seed_queue(models: dict[str, Any], ns: str, item: dict[str, Any]) -> None:
    models["mns"].create_queue(ns, item["name"], _attributes(item, ("name", "namespace")))


def seed_topic(models: dict[str, Any], ns: str, item: dict[str, Any]) -> None:
    models["mns"].create_topic(ns, item["name"], _attributes(item, ("name", "namespace")))


def seed_subscription(models: dict[str, Any], ns: str, item: dict[str, Any], region: str = "",
                      account_id: str = "") -> None:
    given = {_SUBSCRIPTION_FIELDS.get(k, k): str(v) for k, v in item.items()
             if k not in ("topic", "name", "namespace")}
    endpoint = given.get("Endpoint", "")
    if endpoint.startswith("queue:"):  # shorthand for the queue endpoint ARN
        given["Endpoint"] = f"acs:mns:{region}:{account_id}:queues/{endpoint[len('queue:'):]}"
    models["mns"].subscribe(ns, item["topic"], item["name"], given)
