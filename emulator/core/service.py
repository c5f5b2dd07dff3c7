"""What a service hands the dispatcher: its ASGI app and its lifecycle hooks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.types import ASGIApp


@dataclass
class ServiceHandle:
    name: str
    app: ASGIApp
    startup: Callable[[], Awaitable[None]] | None = None
    shutdown: Callable[[], Awaitable[None]] | None = None
    # Drop in-memory state of one namespace (None: all); documents are dropped by the runtime.
    reset: Callable[[str | None], None] | None = None
    # What the recorded work would cost: {"items": [...], ...} per namespace.
    billing: Callable[[str | None], dict[str, Any]] | None = None
    info: Callable[[], dict[str, Any]] = field(default=lambda: {"status": "running"})


@dataclass
class Built:
    """A service's model (for other services to call, e.g. IMM reading OSS) and its handle."""

    model: Any
    handle: ServiceHandle
