"""XML for OSS and MNS: untrusted bodies parsed with defusedxml (no entity expansion, no external
references), answers built as escaped text."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from xml.etree.ElementTree import Element, ParseError
from xml.sax.saxutils import escape, quoteattr

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from emulator.core.errors import ServiceError

DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'


class Xml(str):
    """A fragment already built (and escaped) by `element`; any other value is escaped."""


def element(tag: str, *children: Any) -> Xml:
    """`<tag>children</tag>`; None children are left out."""
    inner = "".join(c if isinstance(c, Xml) else escape(str(c)) for c in children if c is not None)
    return Xml(f"<{tag}>{inner}</{tag}>")


def document(root: str, *children: Any, xmlns: str | None = None) -> bytes:
    attrs = f" xmlns={quoteattr(xmlns)}" if xmlns else ""
    inner = element(root, *children)
    return (DECLARATION + f"<{root}{attrs}>" + inner[len(root) + 2:]).encode()


def parse(body: bytes, malformed: Callable[[], ServiceError]) -> Element:
    """The root element of an untrusted document, or the service's own `malformed` error."""
    try:
        return fromstring(body)
    except (ParseError, DefusedXmlException, ValueError, RecursionError):
        raise malformed() from None


def local(tag: str) -> str:
    """A tag without its `{namespace}`."""
    return tag.rsplit("}", 1)[-1]


def children(parent: Element, tag: str) -> list[Element]:
    return [c for c in parent if local(c.tag) == tag]


def text(parent: Element, tag: str) -> str | None:
    """The text of the first `tag` child ("" when empty), None when there is none."""
    found = children(parent, tag)
    return (found[0].text or "") if found else None
