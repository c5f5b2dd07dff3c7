"""What a topic pushes to a subscriber (NotifyContentFormat) and when it retries (NotifyStrategy).

Pure functions: the model builds queue messages and HTTP pushes from them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from xml.etree import ElementTree as ET

XMLNS = "http://mns.aliyuncs.com/doc/v1/"
FORMATS = ("XML", "JSON", "SIMPLIFIED")
STRATEGIES = ("BACKOFF_RETRY", "EXPONENTIAL_DECAY_RETRY")

CONTENT_TYPES = {
    "XML": "text/xml;charset=utf-8",
    "JSON": "application/json;charset=utf-8",
    "SIMPLIFIED": "text/plain;charset=utf-8",
}


@dataclass(frozen=True)
class Notification:
    topic_owner: str
    topic_name: str
    subscriber: str
    subscription_name: str
    message_id: str
    message: str
    message_md5: str
    message_tag: str | None
    publish_time_ms: int


def render(fmt: str, n: Notification) -> str:
    """The body a subscriber receives: the message itself (SIMPLIFIED) or an envelope."""
    if fmt == "SIMPLIFIED":
        return n.message
    fields: list[tuple[str, str]] = [
        ("TopicOwner", n.topic_owner), ("TopicName", n.topic_name), ("Subscriber", n.subscriber),
        ("SubscriptionName", n.subscription_name), ("MessageId", n.message_id),
        ("Message", n.message), ("MessageMD5", n.message_md5)]
    if n.message_tag:
        fields.append(("MessageTag", n.message_tag))
    fields.append(("PublishTime", str(n.publish_time_ms)))
    if fmt == "JSON":
        return json.dumps(dict(fields), ensure_ascii=False)
    root = ET.Element("Notification", xmlns=XMLNS)
    for name, value in fields:
        ET.SubElement(root, name).text = value
    return '<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(root, encoding="unicode")


# BACKOFF_RETRY: 3 retries, 10-20 s apart (random). EXPONENTIAL_DECAY_RETRY: 176 retries,
# 1, 2, 4 ... 256 s, then 512 s for the remaining 167 (one day in all) [doc NotifyStrategy].
_BACKOFF_RETRIES = 3
_EXPONENTIAL_RETRIES = 176
_EXPONENTIAL_CAP = 512


def retry_delay(strategy: str, retries_done: int, random: Callable[[], float]) -> float | None:
    """Seconds to wait before retry number `retries_done + 1`, or None when none is left."""
    if strategy == "EXPONENTIAL_DECAY_RETRY":
        if retries_done >= _EXPONENTIAL_RETRIES:
            return None
        return float(min(2 ** retries_done, _EXPONENTIAL_CAP))
    if retries_done >= _BACKOFF_RETRIES:
        return None
    return 10.0 + 10.0 * random()
