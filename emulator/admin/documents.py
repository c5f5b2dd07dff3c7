"""The admin API's request bodies (the clock's and the fault rules' live in core)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator

from emulator.core.validation import Document, fail


class ScopeBody(Document):
    """What a reset or a removal of fault rules applies to."""

    namespace: str | None = None  # null or absent: everything


def _namespace_name(name: str) -> str:
    if not name.replace("-", "").isalnum() or len(name) > 64:
        raise fail("name", "name must be letters, digits and '-', at most 64")
    return name


class NamespaceBody(Document):
    name: Annotated[str, AfterValidator(_namespace_name)] | None = None  # absent: a generated name
