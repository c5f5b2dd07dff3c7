"""IMM 2020-09-30 RPC wire format: parameters in the query (or a form body), complex ones as JSON
strings, booleans as True/true, JSON answers, and the RPC JSON error shape. No state here."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from starlette.responses import JSONResponse

from emulator.core.errors import ServiceError

API_VERSION = "2020-09-30"
JSON_TYPE = "application/json;charset=utf-8"


def invalid(field: str, reason: str) -> ServiceError:
    return ServiceError(400, "InvalidArgument", f"The parameter {field} {reason}", Field=field)


def missing(field: str) -> ServiceError:
    return ServiceError(400, "InvalidArgument",
                        f"The parameter {field} is required but not provided.", Field=field)


def not_found(resource_type: str) -> ServiceError:
    # IMM's common error table gives 400 for both (not 404 / 409).
    return ServiceError(400, "ResourceNotFound", f"The specified resource {resource_type} is not found.")


def already_exists(resource_type: str) -> ServiceError:
    return ServiceError(400, "ResourceAlreadyExists",
                        f"The specified resource {resource_type} already exists.")


class Params:
    """The request's parameters, with typed readers that fail naming the parameter."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self.values: dict[str, str] = {}
        for key, value in pairs:
            self.values.setdefault(key, value)

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
            raise ServiceError(400, "InvalidJSON", f"Array parsing error,{name}", Field=name) from None
        if not isinstance(value, kind):
            expected = "a JSON array" if kind is list else "a JSON object"
            raise invalid(name, f"must be {expected}.")
        return value


def iso_time(epoch: float | None) -> str:
    """UTC ISO 8601 with milliseconds, as IMM prints StartTime / EndTime / CreateTime."""
    if epoch is None:
        return ""
    moment = datetime.fromtimestamp(epoch, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


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
