"""Shared fixtures: a live emulator per test session, reset before each test that asks."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from emulator.testing.server import LiveServer

# CI (CI=true) replays the same examples on every run, so a landing never hinges on a lucky draw;
# a local run explores new ones.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


SharedMedia = Callable[[str, Callable[[Path], None]], Path]


@pytest.fixture(scope="session")
def shared_media(tmp_path_factory: pytest.TempPathFactory) -> SharedMedia:
    """`shared_media(key, make)`: the file `make(path)` writes, made once per test run and shared
    by every xdist worker (the first to need it makes it; a race only makes it twice). `key` names
    everything the file depends on. The directory belongs to this run: the code under test may
    have changed since the last one."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):  # the workers' directories share this run's parent
        root = root.parent
    root = root / "shared-media"
    root.mkdir(exist_ok=True)

    def get(key: str, make: Callable[[Path], None]) -> Path:
        path = root / hashlib.sha256(key.encode()).hexdigest()[:24]
        if not path.exists():
            partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
            make(partial)
            os.replace(partial, path)  # atomic: a reader sees no file or the whole file
        return path

    return get


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
