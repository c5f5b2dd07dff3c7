"""Skip a test whose outside tool is missing, with what to install; under CI=true fail instead,
since CI installs everything (.ci/run)."""

from __future__ import annotations

import os

import pytest


def require(available: bool, what: str) -> None:
    if available:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI must provide it: {what}")
    pytest.skip(what)
