"""The hypothesis campaigns (tests/campaign.py), a derandomized subset: generated malformed requests
at every service of one live server get no 5xx (OSS's documented 501 NotImplemented aside) and the
server answers its health check between batches. benchmarks/fuzz_campaign.py runs 10,000 a service."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from campaign import SERVER_ARGS, SERVICES, campaign, seed

from emulator.testing.server import LiveServer

EXAMPLES = 150


@pytest.fixture(scope="module")
def fuzzed() -> Iterator[LiveServer]:
    with LiveServer(extra_args=SERVER_ARGS) as server:
        seed(server.url)
        yield server


@pytest.mark.parametrize("service", SERVICES)
def test_no_server_error(fuzzed: LiveServer, service: str) -> None:
    tally = campaign(fuzzed.url, service, EXAMPLES, derandomize=True, access_key_id=fuzzed.access_key_id,
                     secret=fuzzed.access_key_secret)
    assert tally.server_errors == []
    assert tally.requests >= EXAMPLES // 2  # hypothesis really generated (it may stop early on duplicates)
    assert tally.health_checks >= 1
    assert any(400 <= status < 500 for status in tally.statuses)  # malformed input was refused...
    assert any(200 <= status < 300 for status in tally.statuses)  # ...and well-formed input served
