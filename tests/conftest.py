"""Shared fixtures: a live emulator per test session, reset before each test that asks."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from emulator.testing.server import LiveServer


@pytest.fixture
def emulator(aliyun_emulator: LiveServer) -> LiveServer:
    """The session's live emulator, emptied first."""
    aliyun_emulator.reset()
    return aliyun_emulator


@pytest.fixture
def sdk(emulator: LiveServer) -> Iterator[LiveServer]:
    """The dashscope SDK aimed at the emulator with the default intl key; put back afterwards."""
    import dashscope

    saved = dashscope.base_http_api_url, dashscope.api_key
    dashscope.base_http_api_url = emulator.url + "/api/v1"
    dashscope.api_key = "sk-emulator"
    yield emulator
    dashscope.base_http_api_url, dashscope.api_key = saved
