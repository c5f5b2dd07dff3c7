"""schemathesis against the OpenAPI document, the long run by hand (not part of the test suite).

    python benchmarks/fuzz_openapi.py [--examples 500] [--seed-random]

Starts an emulator, reads GET /_emulator/openapi.json (the admin API and the DashScope surface) and
lets schemathesis generate `--examples` valid and as many invalid requests for every operation.
Fails on the first answer of 5xx or with a status the document does not list, printing the request
that got it. CI runs the same with 8 examples (tests/test_openapi.py). The schemathesis CLI works
too, against a running server: `st run http://127.0.0.1:9088/_emulator/openapi.json
-H 'Authorization: Bearer sk-emulator' --checks not_a_server_error`.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from openapi_fuzz import run  # noqa: E402

from emulator.testing.server import LiveServer  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=500)
    parser.add_argument("--seed-random", action="store_true", help="explore new examples each run")
    args = parser.parse_args()
    started = time.monotonic()
    with LiveServer(extra_args=["--quiet"]) as server:
        seen = run(server.url, args.examples, derandomize=not args.seed_random)
    for key, count in sorted(seen.items()):
        print(f"  {key}: {count}")
    print(f"{sum(seen.values())} requests over {len({k.rsplit(' ', 1)[0] for k in seen})} operations in "
          f"{time.monotonic() - started:.0f} s: no 5xx, every status one the document lists")


if __name__ == "__main__":
    main()
