"""Headless Debian chromium driven by Playwright, for the tests of browser features."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.requirements import require

CHROMIUM = "/usr/bin/chromium"
# Generous: a loaded CI machine can take seconds to paint; a pass never waits this long.
BROWSER_TIMEOUT_MS = 60_000


@contextmanager
def chromium_page(**page_options: Any) -> Iterator[Any]:
    """A new page of a headless chromium (skipped when chromium or Playwright is missing; a
    failure under CI, which installs both)."""
    require(Path(CHROMIUM).exists(), "chromium is not installed (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require(False, "the playwright package is not installed (pip install playwright)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        page = browser.new_page(**page_options)
        page.set_default_timeout(BROWSER_TIMEOUT_MS)
        yield page
        browser.close()
