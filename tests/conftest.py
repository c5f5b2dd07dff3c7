"""Shared fixtures: a live emulator per test session, reset before each test that asks."""

from __future__ import annotations

import pytest

from emulator.testing.server import LiveServer


@pytest.fixture
def emulator(aliyun_emulator: LiveServer) -> LiveServer:
    """The session's live emulator, emptied first."""
    aliyun_emulator.reset()
    return aliyun_emulator
