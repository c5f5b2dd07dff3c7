"""Shared fixtures: a live emulator per test session, reset before each test that asks."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import settings

from emulator.testing.server import LiveServer

# CI (CI=true) replays the same examples on every run, so a landing never hinges on a lucky draw;
# a local run explores new ones.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


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
