"""pytest plugin (entry point `pytest11`): fixtures giving a live, isolated emulator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from emulator.testing.server import LiveServer


@pytest.fixture(scope="session")
def aliyun_emulator() -> Iterator[LiveServer]:
    """A live emulator on a free port for the whole test session."""
    with LiveServer() as server:
        yield server
