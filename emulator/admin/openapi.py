"""The OpenAPI 3.1 document of the admin API and the DashScope surface, served at
GET /_emulator/openapi.json (what schemathesis and other tools read).

Bodies come from the pydantic documents the server validates with (clock, fault rules, admin
bodies) and, for DashScope, from the models in services/dashscope/schema.py; only the paths, their
parameters and the answers' status codes are written here."""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from emulator import __version__
from emulator.admin.documents import NamespaceBody, ScopeBody
from emulator.core.clock import ClockCommand
from emulator.core.faults import RuleDocument
from emulator.services.dashscope import schema as dashscope
from emulator.services.dashscope.wire import MAX_PAGE_SIZE, MODELS, STATUSES

_REF = "#/components/schemas/{model}"
ADMIN_ERROR = {"type": "object", "required": ["error"], "additionalProperties": False,
               "properties": {"error": {"type": "string"}, "field": {"type": "string"}}}
ANY_OBJECT = {"type": "object"}


def _ref(model: type[BaseModel] | str) -> dict[str, str]:
    return {"$ref": _REF.format(model=model if isinstance(model, str) else model.__name__)}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _answers(ok: int, ok_schema: dict[str, Any], *errors: int, error: dict[str, Any] = ADMIN_ERROR,
             ) -> dict[str, Any]:
    answers = {str(ok): {"description": "done", "content": _json(ok_schema)}}
    for status in errors:
        answers[str(status)] = {"description": "refused", "content": _json(error)}
    return answers


def _query(name: str, schema: dict[str, Any], required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "schema": schema}


def _path(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}


def _body(schema: dict[str, Any], required: bool = False) -> dict[str, Any]:
    return {"required": required, "content": _json(schema)}


NAMESPACE = _query("namespace", {"type": "string"})


def _admin_paths() -> dict[str, Any]:
    listed = ANY_OBJECT
    filters = [_query(name, {"type": "string"}) for name in
               ("service", "namespace", "action", "method", "path", "status", "bucket", "project", "topic",
                "queue", "model")]
    return {
        # 503 {"status": "loading" or "failed", "version", "error"} while the server starts (boot.py).
        "/_emulator/health": {"get": {"operationId": "health", "security": [],
                                      "responses": _answers(200, ANY_OBJECT, 503, error=ANY_OBJECT)}},
        "/_emulator/openapi.json": {"get": {"operationId": "openapi",
                                            "responses": _answers(200, ANY_OBJECT)}},
        "/_emulator/reset": {"post": {"operationId": "reset", "requestBody": _body(_ref(ScopeBody)),
                                      "responses": _answers(200, listed, 400, 404)}},
        "/_emulator/clock": {
            "get": {"operationId": "getClock", "responses": _answers(200, listed)},
            "post": {"operationId": "setClock", "requestBody": _body(_ref(ClockCommand)),
                     "responses": _answers(200, listed, 400)}},
        "/_emulator/faults": {
            "get": {"operationId": "listFaults", "responses": _answers(200, listed)},
            "post": {"operationId": "addFaults", "requestBody": _body(
                {"oneOf": [_ref(RuleDocument), {"type": "array", "items": _ref(RuleDocument)}]}, True),
                "responses": _answers(201, {"oneOf": [listed, {"type": "array"}]}, 400)},
            "delete": {"operationId": "removeFaults", "requestBody": _body(_ref(ScopeBody)),
                       "responses": _answers(200, listed, 400, 404)}},
        "/_emulator/faults/report": {"get": {"operationId": "faultReport",
                                             "responses": _answers(200, listed)}},
        "/_emulator/oss/callback-public-key.pem": {"get": {
            "operationId": "ossCallbackPublicKey", "security": [],
            "responses": {"200": {"description": "the PEM key OSS upload callbacks are signed with",
                                  "content": {"application/x-pem-file": {"schema": {"type": "string"}}}}}}},
        "/_emulator/faults/{rule_id}": {
            "parameters": [_path("rule_id")],
            "get": {"operationId": "getFault", "responses": _answers(200, listed, 404)},
            "delete": {"operationId": "removeFault", "responses": _answers(200, listed, 404)}},
        "/_emulator/namespaces": {
            "get": {"operationId": "listNamespaces", "responses": _answers(200, listed)},
            "post": {"operationId": "createNamespace", "requestBody": _body(_ref(NamespaceBody)),
                     "responses": _answers(201, listed, 400, 409)}},
        "/_emulator/namespaces/{name}": {
            "parameters": [_path("name")],
            "get": {"operationId": "getNamespace", "responses": _answers(200, listed, 404)},
            "delete": {"operationId": "deleteNamespace", "responses": _answers(200, listed, 400, 404)}},
        "/_emulator/requests": {"get": {
            "operationId": "listRequests",
            "parameters": [_query("limit", {"type": "integer", "minimum": 1, "maximum": 100_000}), *filters],
            "responses": _answers(200, listed, 400)}},
        "/_emulator/tasks": {"get": {
            "operationId": "listAllTasks", "parameters": [NAMESPACE, _query("service", {"type": "string"})],
            "responses": _answers(200, listed, 404)}},
        "/_emulator/tasks/{task_id}/events": {"get": {
            "operationId": "taskEvents", "parameters": [_path("task_id"), NAMESPACE],
            "responses": _answers(200, listed, 404)}},
        "/_emulator/billing": {"get": {"operationId": "billing", "parameters": [NAMESPACE],
                                       "responses": _answers(200, listed, 404)}},
    }


def _dashscope_paths() -> dict[str, Any]:
    error = _ref(dashscope.Error)
    refusals = (400, 401, 403, 404, 429)
    security = [{"dashscopeKey": []}]
    time = {"type": "string", "pattern": r"^\d{14}$", "description": "YYYYMMDDhhmmss, UTC+8"}
    return {
        "/api/v1/services/aigc/image2video/video-synthesis": {"post": {
            "operationId": "dashscopeSubmit", "security": security,
            "parameters": [{"name": "X-DashScope-Async", "in": "header", "required": True,
                            "schema": {"type": "string", "enum": ["enable"]}}],
            "requestBody": _body(_ref(dashscope.SubmitBody), True),
            "responses": _answers(200, _ref(dashscope.Submitted), *refusals, error=error)}},
        "/api/v1/tasks/{task_id}": {"get": {
            "operationId": "dashscopeGetTask", "security": security, "parameters": [_path("task_id")],
            "responses": _answers(200, _ref(dashscope.TaskAnswer), *refusals, error=error)}},
        "/api/v1/tasks/{task_id}/cancel": {"post": {
            "operationId": "dashscopeCancelTask", "security": security, "parameters": [_path("task_id")],
            "responses": _answers(200, ANY_OBJECT, *refusals, error=error)}},
        "/api/v1/tasks": {"get": {
            "operationId": "dashscopeListTasks", "security": security,
            "parameters": [_query("start_time", time), _query("end_time", time),
                           _query("page_no", {"type": "integer", "minimum": 1}),
                           _query("page_size", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE}),
                           _query("status", {"type": "string", "enum": list(STATUSES)}),
                           _query("model_name", {"type": "string", "enum": list(MODELS)}),
                           *[_query(name, {"type": "string"})
                             for name in ("task_id", "api_key_id", "region")]],
            "responses": _answers(200, _ref(dashscope.TaskList), *refusals, error=error)}},
        "/api/v1/uploads": {"get": {
            "operationId": "dashscopeUploadPolicy", "security": security,
            "parameters": [_query("action", {"type": "string", "enum": ["getPolicy"]}, True),
                           _query("model", {"type": "string", "minLength": 1}, True)],
            "responses": _answers(200, ANY_OBJECT, *refusals, error=error)}},
    }


def _without_null_defaults(schema: Any) -> Any:
    """pydantic writes `x: int = None` as a default of null that the type refuses; an absent field
    says the same and keeps the document valid."""
    if isinstance(schema, list):
        return [_without_null_defaults(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    nullable = schema.get("type") == "null" or any(
        option.get("type") == "null" for option in schema.get("anyOf", []))
    return {key: _without_null_defaults(value) for key, value in schema.items()
            if not (key == "default" and value is None and not nullable)}


@cache
def openapi_document() -> dict[str, Any]:
    models = [ScopeBody, NamespaceBody, ClockCommand, RuleDocument, *dashscope.MODELS_IN_DOCUMENT]
    _, schemas = models_json_schema([(m, "validation") for m in models], ref_template=_REF)
    return {
        "openapi": "3.1.0",
        "info": {"title": "aliyun-emulator: admin API and DashScope", "version": __version__},
        "paths": {**_admin_paths(), **_dashscope_paths()},
        "components": {
            "schemas": _without_null_defaults(schemas["$defs"]),
            "securitySchemes": {
                "adminToken": {"type": "http", "scheme": "bearer",
                               "description": "only when the server runs with --admin-token"},
                "dashscopeKey": {"type": "http", "scheme": "bearer",
                                 "description": "a DashScope API key, e.g. sk-emulator"}},
        },
        "security": [{}, {"adminToken": []}],
    }
