"""The OpenAPI document of the admin API and the DashScope surface: served as built from the
pydantic documents, and schemathesis' generated requests (valid and invalid, every operation) never
get a 5xx nor a status the document does not list (a bounded, derandomized run)."""

from __future__ import annotations

import httpx
from openapi_fuzz import run

from emulator.admin.openapi import openapi_document
from emulator.core.faults import RuleDocument
from emulator.testing.server import LiveServer


def test_the_document_is_served_and_built_from_the_validating_documents() -> None:
    with LiveServer() as server:
        served = httpx.get(server.url + "/_emulator/openapi.json", timeout=10).json()
    assert served == openapi_document()
    rule = served["components"]["schemas"]["RuleDocument"]
    fields = RuleDocument.model_fields
    assert set(rule["properties"]) == {field.alias or name for name, field in fields.items()}
    assert rule["additionalProperties"] is False
    clock = served["components"]["schemas"]["ClockCommand"]["properties"]
    assert clock["set"] == {"format": "date-time", "title": "Set", "type": "string"}
    submit = served["paths"]["/api/v1/services/aigc/image2video/video-synthesis"]["post"]
    assert submit["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/SubmitBody"}
    assert {path.split("/")[1] for path in served["paths"]} == {"_emulator", "api"}


def test_schemathesis_finds_no_server_error() -> None:
    with LiveServer() as server:
        seen = run(server.url, max_examples=8, derandomize=True)
        assert httpx.get(server.url + "/_emulator/health", timeout=10).json()["status"] == "ok"
    statuses = {key.rsplit(" ", 1)[0]: int(key.rsplit(" ", 1)[1]) for key in seen}
    expected = {f"{method.upper()} {path}" for path, methods in openapi_document()["paths"].items()
                for method in methods if method != "parameters"}
    # Every operation was exercised (schemathesis leaves out the document's own URL).
    assert set(statuses) == expected - {"GET /_emulator/openapi.json"}
    assert all(status < 500 for status in statuses.values()), seen
