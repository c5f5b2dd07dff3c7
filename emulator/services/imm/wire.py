"""IMM 2020-09-30 RPC wire format: parameters in the query (or a form body), complex ones as JSON
strings, booleans as True/true, JSON answers, and the RPC JSON error shape. No state here."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from starlette.responses import JSONResponse

from emulator.core.errors import ServiceError
from emulator.services.imm.errors import invalid, invalid_json, missing

API_VERSION = "2020-09-30"
JSON_TYPE = "application/json;charset=utf-8"


class Params:
    """The request's parameters, with typed readers that fail naming the parameter."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self.values = values

    def str(self, name: str, required: bool = False, default: str | None = None) -> str | None:
        value = self.values.get(name)
        if value is None or value == "":
            if required:
                raise missing(name)
            return default
        return value

    def bool(self, name: str, default: bool = False) -> bool:
        value = self.values.get(name)
        if value is None or value == "":
            return default
        lowered = value.lower()
        if lowered not in ("true", "false"):
            raise invalid(name, "must be true or false.")
        return lowered == "true"

    def int(self, name: str, default: int | None = None, low: int | None = None,
            high: int | None = None) -> int | None:
        value = self.values.get(name)
        if value is None or value == "":
            return default
        try:
            number = int(value)
        except ValueError:
            raise invalid(name, "must be an integer.") from None
        if (low is not None and number < low) or (high is not None and number > high):
            raise invalid(name, f"must be between {low} and {high}.")
        return number

    def json(self, name: str, kind: type, required: bool = False) -> Any:
        raw = self.values.get(name)
        if raw is None or raw == "":
            if required:
                raise missing(name)
            return None
        try:
            value = json.loads(raw)
        except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
            raise invalid_json(name) from None
        if not isinstance(value, kind):
            expected = "a JSON array" if kind is list else "a JSON object"
            raise invalid(name, f"must be {expected}.")
        return value


def ok(request_id: str, body: dict[str, Any]) -> JSONResponse:
    return JSONResponse({"RequestId": request_id, **body}, headers={"x-acs-request-id": request_id},
                        media_type=JSON_TYPE)


def error(request_id: str, region: str, err: ServiceError) -> JSONResponse:
    body = {
        "RequestId": request_id,
        "HostId": f"imm.{region}.aliyuncs.com",
        "Code": err.code,
        "Message": err.message,
        "Recommend": f"https://next.api.aliyun.com/troubleshoot?q={err.code}&product=imm",
    }
    return JSONResponse(body, err.status, headers={"x-acs-request-id": request_id}, media_type=JSON_TYPE)
