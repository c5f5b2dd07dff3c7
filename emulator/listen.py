"""Where and how the server listens (host, port and uvicorn's own settings), read from the flags and
EMULATOR_* variables without pydantic, so that the port opens before any of the emulator is built.

`emulator.config.Config` holds the same settings with the same defaults and validates them all;
a value read here that is not plainly valid is left to it (`read_listen` answers None)."""

from __future__ import annotations

import os
import re
from typing import Any, NamedTuple

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9088
ENV_PREFIX = "EMULATOR_"
LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")
DEFAULT_LOG_LEVEL = "warning"
DEFAULT_HEADER_TIMEOUT_SECONDS = 10.0
DEFAULT_MAX_CONNECTIONS_PER_CLIENT = 512

_DECIMAL = re.compile(r"[0-9]+(\.[0-9]*)?")


class Listen(NamedTuple):
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    log_level: str = DEFAULT_LOG_LEVEL
    header_timeout_seconds: float = DEFAULT_HEADER_TIMEOUT_SECONDS
    max_connections_per_client: int = DEFAULT_MAX_CONNECTIONS_PER_CLIENT


def _whole(value: Any) -> int | None:
    if isinstance(value, int):
        return value
    return int(value) if isinstance(value, str) and value.isascii() and value.isdigit() else None


def _decimal(value: Any) -> float | None:
    if isinstance(value, int | float):
        return float(value)
    return float(value) if isinstance(value, str) and _DECIMAL.fullmatch(value) else None


def read_listen(overrides: dict[str, Any]) -> Listen | None:
    """The listening settings: defaults, then EMULATOR_* variables, then flags (None: not given),
    as `config.from_env` orders them; None when a value is not plainly valid (a port of "http",
    a negative timeout...), for `from_env` to refuse in its words."""
    given = {}
    for name in Listen._fields:
        value = overrides.get(name)
        if value is None:
            value = os.environ.get(f"{ENV_PREFIX}{name.upper()}") or None
        if value is not None:
            given[name] = value
    port = _whole(given.get("port", DEFAULT_PORT))
    connections = _whole(given.get("max_connections_per_client", DEFAULT_MAX_CONNECTIONS_PER_CLIENT))
    timeout = _decimal(given.get("header_timeout_seconds", DEFAULT_HEADER_TIMEOUT_SECONDS))
    log_level = given.get("log_level", DEFAULT_LOG_LEVEL)
    if port is None or not 0 <= port <= 65535 or connections is None or connections < 0 \
            or timeout is None or not timeout >= 0 or log_level not in LOG_LEVELS:
        return None
    return Listen(str(given.get("host", DEFAULT_HOST)), port, log_level, timeout, connections)
