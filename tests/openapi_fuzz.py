"""schemathesis against the emulator's OpenAPI document (GET /_emulator/openapi.json): every
operation gets generated valid and invalid requests; no answer may be a 5xx and every answer's
status must be one the document lists. Shared by tests/test_openapi.py (a bounded, derandomized
run) and benchmarks/fuzz_openapi.py (the long run by hand)."""

from __future__ import annotations

from collections import Counter

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, status_code_conformance

# Admin calls on a loopback server without a token need no key; DashScope's need this one.
HEADERS = {"Authorization": "Bearer sk-emulator"}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance]


def run(url: str, max_examples: int, derandomize: bool) -> Counter[str]:
    """Run every operation in both modes; the statuses seen, as "METHOD path status" counts.
    Raises (hypothesis' failure, with the falsifying request) on the first broken check."""
    schema = schemathesis.openapi.from_url(f"{url}/_emulator/openapi.json")
    seen: Counter[str] = Counter()
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _run_operation(url, operation, mode, max_examples, derandomize, seen)
    return seen


def _run_operation(url: str, operation, mode: GenerationMode, max_examples: int, derandomize: bool,
                   seen: Counter[str]) -> None:
    @settings(max_examples=max_examples, derandomize=derandomize, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case) -> None:
        response = case.call(base_url=url, headers=HEADERS, timeout=30)
        seen[f"{operation.method.upper()} {operation.path} {response.status_code}"] += 1
        try:
            case.validate_response(response, checks=CHECKS, headers=HEADERS)
        finally:
            # A fault rule the run added could make later answers fail on purpose (5xx, resets).
            if operation.path == "/_emulator/faults" and response.status_code == 201:
                httpx.request("DELETE", f"{url}/_emulator/faults", json={}, timeout=30)

    try:
        check()
    except Unsatisfiable:
        # Nothing to make invalid (an operation without parameters or body): nothing to run.
        assert mode == GenerationMode.NEGATIVE, operation.path
