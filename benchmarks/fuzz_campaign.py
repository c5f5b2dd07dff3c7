"""The hypothesis campaigns by hand (not part of the test suite): N generated malformed requests a
service (OSS, IMM, MNS, DashScope, admin) against one live emulator, a health check every 250.

    python benchmarks/fuzz_campaign.py [--examples 10000] [--service oss ...] [--seed-random]

Prints per service the requests sent, the statuses seen, the answers of 5xx (each with its request)
and the time taken; exits 1 when any answer was a 5xx (OSS's documented 501 NotImplemented for the
sub-resources it does not serve is counted apart) or a health check failed. Derandomized unless
--seed-random: the same run finds the same requests. CI runs 150 a service (tests/test_campaigns.py).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from campaign import SERVER_ARGS, SERVICES, campaign, seed  # noqa: E402

from emulator.testing.server import LiveServer  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=10_000)
    parser.add_argument("--service", action="append", choices=SERVICES)
    parser.add_argument("--seed-random", action="store_true", help="explore new examples each run")
    args = parser.parse_args()
    failed = False
    with LiveServer(extra_args=SERVER_ARGS) as server:
        seed(server.url)
        for service in args.service or SERVICES:
            tally = campaign(server.url, service, args.examples, not args.seed_random, server.access_key_id,
                             server.access_key_secret)
            statuses = ", ".join(f"{status}: {count}" for status, count in sorted(tally.statuses.items()))
            print(f"{service:9} {tally.requests:6} requests in {tally.seconds:6.0f} s "
                  f"({tally.requests / tally.seconds:.0f}/s); 5xx: {len(tally.server_errors)}; "
                  f"501 NotImplemented: {tally.not_implemented}; health checks passed: "
                  f"{tally.health_checks}; statuses {{{statuses}}}", flush=True)
            for call, status, body in tally.server_errors[:20]:
                print(f"    {status} {call} -> {body[:200]!r}")
            failed |= bool(tally.server_errors)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
