"""MNS wire format: XML request bodies in, XML responses and `<Error>` documents out. No state.

The SDK's decoders need every documented child present with non-empty text (lists) and all four
`<Error>` children; times are epoch milliseconds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from xml.etree.ElementTree import Element

from emulator.core import xml
from emulator.core.errors import ServiceError
from emulator.services.mns import errors
from emulator.services.mns.documents import (
    QUEUE_LIMITS,
    TOPIC_LIMITS,
    TOPIC_RETENTION_SECONDS,
    Message,
    Queue,
    QueueStats,
    Subscription,
    Topic,
)
from emulator.services.mns.notify import XMLNS

CONTENT_TYPE = "text/xml;charset=utf-8"
MAX_LIST = 1000
_INTEGER = re.compile(r"[+-]?[0-9]{1,18}")

Fields = Iterable[tuple[str, Any]]

# ---- requests -------------------------------------------------------------------------------


def parse(body: bytes, *roots: str, optional: bool = False) -> Element:
    """The document's root element, which must be one of `roots`; an empty body is an empty
    `roots[0]` when `optional` (curl users may send no attributes)."""
    if optional and not body.strip():
        return Element(roots[0])
    element = xml.parse(body, errors.malformed_xml)
    if xml.local(element.tag) not in roots:
        raise errors.schema_error(xml.local(element.tag))
    return element


def _fields(element: Element) -> dict[str, str]:
    return {xml.local(child.tag): child.text or "" for child in element}


def _int(name: str, text: str) -> int:
    if not _INTEGER.fullmatch(text.strip()):
        raise errors.invalid_argument(f"The value of {name} should be an integer.")
    return int(text)


def _bool(name: str, text: str) -> bool:
    if text.strip().lower() not in ("true", "false"):
        raise errors.invalid_argument(f"The value of {name} should be True or False.")
    return text.strip().lower() == "true"


def _attributes(element: Element, limits: Mapping[str, Any]) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    for name, text in _fields(element).items():
        if name in limits:
            attrs[name] = _int(name, text)
        elif name == "LoggingEnabled":
            attrs[name] = _bool(name, text)
    return attrs


def queue_attributes(body: bytes) -> dict[str, Any]:
    return _attributes(parse(body, "Queue", optional=True), QUEUE_LIMITS)


def topic_attributes(body: bytes) -> dict[str, Any]:
    return _attributes(parse(body, "Topic", optional=True), TOPIC_LIMITS)


def subscription_attributes(body: bytes) -> dict[str, str]:
    fields = _fields(parse(body, "Subscription"))
    names = ("Endpoint", "NotifyStrategy", "NotifyContentFormat", "FilterTag")
    return {k: v.strip() for k, v in fields.items() if k in names}


MessageEntry = tuple[str, int | None, int | None]  # body, DelaySeconds, Priority


def _message_entry(element: Element) -> MessageEntry:
    fields = _fields(element)
    if "MessageBody" not in fields:
        raise errors.schema_error("MessageBody")
    delay = _int("DelaySeconds", fields["DelaySeconds"]) if "DelaySeconds" in fields else None
    priority = _int("Priority", fields["Priority"]) if "Priority" in fields else None
    return fields["MessageBody"], delay, priority


def messages(body: bytes) -> tuple[list[MessageEntry], bool]:
    """SendMessage (`<Message>`) or BatchSendMessage (`<Messages>`): the entries, and whether
    it is a batch."""
    root = parse(body, "Message", "Messages")
    if xml.local(root.tag) == "Message":
        return [_message_entry(root)], False
    return [_message_entry(child) for child in root if xml.local(child.tag) == "Message"], True


def receipt_handles(body: bytes) -> list[str]:
    root = parse(body, "ReceiptHandles")
    return [(child.text or "").strip() for child in root if xml.local(child.tag) == "ReceiptHandle"]


def topic_message(body: bytes) -> tuple[str, str | None]:
    fields = _fields(parse(body, "Message"))
    if "MessageBody" not in fields:
        raise errors.schema_error("MessageBody")
    return fields["MessageBody"], fields.get("MessageTag") or None


def query_int(query: Mapping[str, str], name: str, default: int | None) -> int | None:
    """An integer query parameter (names compared case-insensitively)."""
    value = next((v for k, v in query.items() if k.lower() == name.lower()), None)
    if value is None:
        return default
    if not _INTEGER.fullmatch(value):
        raise errors.invalid_query(name)
    return int(value)


def query_str(query: Mapping[str, str], name: str) -> str | None:
    return next((v for k, v in query.items() if k.lower() == name.lower()), None)


def list_options(headers: Mapping[str, str]) -> tuple[str, str, int, bool]:
    """prefix, marker, ret-number, with-meta from the x-mns-* list headers."""
    raw = headers.get("x-mns-ret-number")
    limit = MAX_LIST
    if raw is not None:
        try:
            limit = int(raw)
        except ValueError:
            limit = 0
        if not 1 <= limit <= MAX_LIST:
            raise errors.invalid_argument(f"The value of x-mns-ret-number should between 1 and {MAX_LIST}.")
    with_meta = headers.get("x-mns-with-meta", "").lower() == "true"
    return headers.get("x-mns-prefix", ""), headers.get("x-mns-marker", ""), limit, with_meta


# ---- responses ------------------------------------------------------------------------------


def document(root: str, fields: Fields = (), children: Iterable[xml.Xml] = ()) -> bytes:
    return xml.document(root, *_children(fields), *children, xmlns=XMLNS)


def _element(name: str, fields: Fields) -> xml.Xml:
    return xml.element(name, *_children(fields))


def _children(fields: Fields) -> list[xml.Xml]:
    return [xml.element(key, value) for key, value in fields]


def error(exc: ServiceError, request_id: str, host_id: str) -> bytes:
    return document("Error", [("Code", exc.code), ("Message", exc.message), ("RequestId", request_id),
                              ("HostId", host_id)])


def _ms(seconds: float) -> int:
    return int(seconds * 1000)


def _logging(enabled: bool) -> str:
    return "True" if enabled else "False"


def queue_fields(queue: Queue, stats: QueueStats) -> list[tuple[str, Any]]:
    a = queue.attrs
    return [
        ("QueueName", queue.name), ("CreateTime", queue.create_time),
        ("LastModifyTime", queue.last_modify_time), ("VisibilityTimeout", a["VisibilityTimeout"]),
        ("MaximumMessageSize", a["MaximumMessageSize"]),
        ("MessageRetentionPeriod", a["MessageRetentionPeriod"]), ("DelaySeconds", a["DelaySeconds"]),
        ("PollingWaitSeconds", a["PollingWaitSeconds"]), ("ActiveMessages", stats.active),
        ("InactiveMessages", stats.inactive), ("DelayMessages", stats.delayed),
        ("LoggingEnabled", _logging(a["LoggingEnabled"]))]


def queue_list(items: list[tuple[str, list[tuple[str, Any]] | None]], next_marker: str) -> bytes:
    """`items`: (QueueURL, attribute fields when with-meta)."""
    children = [_element("Queue", [("QueueURL", url), *(meta or [])]) for url, meta in items]
    if next_marker:
        children.append(xml.element("NextMarker", next_marker))
    return document("Queues", children=children)


def topic_fields(topic: Topic, message_count: int) -> list[tuple[str, Any]]:
    return [
        ("TopicName", topic.name), ("CreateTime", topic.create_time),
        ("LastModifyTime", topic.last_modify_time),
        ("MaximumMessageSize", topic.attrs["MaximumMessageSize"]),
        ("MessageRetentionPeriod", TOPIC_RETENTION_SECONDS), ("MessageCount", message_count),
        ("LoggingEnabled", _logging(topic.attrs["LoggingEnabled"]))]


def topic_list(items: list[tuple[str, list[tuple[str, Any]] | None]], next_marker: str) -> bytes:
    children = [_element("Topic", [("TopicURL", url), *(meta or [])]) for url, meta in items]
    if next_marker:
        children.append(xml.element("NextMarker", next_marker))
    return document("Topics", children=children)


def subscription_fields(sub: Subscription, topic_owner: str) -> list[tuple[str, Any]]:
    fields: list[tuple[str, Any]] = [
        ("TopicOwner", topic_owner), ("TopicName", sub.topic), ("SubscriptionName", sub.name),
        ("Endpoint", sub.endpoint), ("NotifyStrategy", sub.notify_strategy),
        ("NotifyContentFormat", sub.notify_content_format), ("CreateTime", sub.create_time),
        ("LastModifyTime", sub.last_modify_time)]
    if sub.filter_tag:
        fields.append(("FilterTag", sub.filter_tag))
    return fields


def subscription_list(urls: list[str], next_marker: str) -> bytes:
    children = [_element("Subscription", [("SubscriptionURL", url)]) for url in urls]
    if next_marker:
        children.append(xml.element("NextMarker", next_marker))
    return document("Subscriptions", children=children)


def sent(msg: Message) -> list[tuple[str, Any]]:
    return [("MessageId", msg.id), ("MessageBodyMD5", msg.body_md5)]


def batch_sent(results: list[Message | ServiceError]) -> bytes:
    children = [_element("Message", [("ErrorCode", r.code), ("ErrorMessage", r.message)]
                         if isinstance(r, ServiceError) else sent(r)) for r in results]
    return document("Messages", children=children)


def message_fields(msg: Message, received: bool) -> list[tuple[str, Any]]:
    fields: list[tuple[str, Any]] = [("MessageId", msg.id)]
    if received:
        fields.append(("ReceiptHandle", msg.receipt_handle))
    fields += [("MessageBodyMD5", msg.body_md5), ("MessageBody", msg.body),
               ("EnqueueTime", _ms(msg.enqueue_time))]
    if received:
        fields.append(("NextVisibleTime", _ms(msg.next_visible_time)))
    fields += [("FirstDequeueTime", _ms(msg.first_dequeue_time)), ("DequeueCount", msg.dequeue_count),
               ("Priority", msg.priority)]
    return fields


def message_list(msgs: list[Message], received: bool) -> bytes:
    return document("Messages", children=[_element("Message", message_fields(m, received)) for m in msgs])


def batch_delete_errors(failures: list[tuple[str, ServiceError]]) -> bytes:
    return document("Errors", children=[
        _element("Error", [("ErrorCode", e.code), ("ErrorMessage", e.message), ("ReceiptHandle", h)])
        for h, e in failures])


def visibility_changed(msg: Message) -> bytes:
    return document("ChangeVisibility", [("ReceiptHandle", msg.receipt_handle),
                                         ("NextVisibleTime", _ms(msg.next_visible_time))])
