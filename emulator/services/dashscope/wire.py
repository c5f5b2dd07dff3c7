"""DashScope wire format: request parsing and the native JSON bodies (no state here).

Errors are flat `{"request_id", "code", "message"}` with an `X-Request-ID` header; success bodies
never carry a top-level `code` (the v2 SDK would read it as a failure). Task times are UTC+8
`YYYY-MM-DD HH:mm:ss.SSS`; list items use epoch milliseconds.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from starlette.responses import JSONResponse

from emulator.core.errors import ServiceError
from emulator.core.timefmt import UTC8, utc8_millis
from emulator.services.dashscope import errors
from emulator.services.dashscope.documents import ListQuery, SubmitRequest
from emulator.services.dashscope.errors import BAD_PARAMETERS, invalid_parameter

MODELS = ("wan2.2-animate-move", "wan2.2-animate-mix")
MODES = {"wan-std": "standard", "wan-pro": "pro"}
STATUSES = ("PENDING", "RUNNING", "SUCCEEDED", "FAILED", "CANCELED", "UNKNOWN")
SUBMIT_CONTENT_TYPE = "application/json"
TASKS_CONTENT_TYPE = "application/json;charset=UTF-8"
MAX_PAGE_SIZE = 100
LIST_SPAN_SECONDS = 24 * 3600


def _url(value: Any, field: str) -> str:
    if value is None:
        raise invalid_parameter(f"Field required: {field}")
    if not isinstance(value, str):
        raise invalid_parameter(f"Input should be a valid string: {field}")
    if (not value.isascii() or any(c.isspace() for c in value)
            or not value.startswith(("http://", "https://", "oss://")) or len(value.split("://", 1)[1]) < 1):
        raise errors.invalid_url()
    return value


def _bool(value: Any, field: str, default: bool) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool):
        raise invalid_parameter(f"Input should be a valid boolean: {field}")
    return value


def parse_submit(raw: bytes) -> SubmitRequest:
    """The submit body, checked in the documented order: JSON, model, input, parameters, fields.
    Unknown keys (the SDK's input.prompt / extend_prompt / function) are ignored."""
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: absurdly deep nesting
        body = None
    if not isinstance(body, dict):
        raise errors.illegal_input()
    model = body.get("model")
    if model is None or model == "":
        raise errors.empty_model()
    if model not in MODELS:
        raise invalid_parameter("Model not exist.")
    inputs = body.get("input")
    if inputs is None:
        raise errors.empty_input()
    if not isinstance(inputs, dict):
        raise errors.illegal_input()
    parameters = body.get("parameters")
    if parameters is None:
        raise errors.empty_parameters()
    if not isinstance(parameters, dict):
        raise invalid_parameter("Input should be a valid dictionary: parameters")
    image_url = _url(inputs.get("image_url"), "input.image_url")
    video_url = _url(inputs.get("video_url"), "input.video_url")
    watermark = _bool(inputs.get("watermark"), "input.watermark", False)
    mode = parameters.get("mode")
    if mode is None:
        raise invalid_parameter("Field required: parameters.mode")
    if mode not in MODES:
        raise invalid_parameter("Input should be 'wan-std' or 'wan-pro': parameters.mode")
    check_image = _bool(parameters.get("check_image"), "parameters.check_image", True)
    return SubmitRequest(model, image_url, video_url, watermark, mode, check_image)


def _page_number(value: str | None, default: int, high: int | None = None) -> int:
    if value is None or value == "":
        return default
    if not value.isdigit() or int(value) < 1 or (high is not None and int(value) > high):
        raise invalid_parameter(BAD_PARAMETERS)
    return int(value)


def parse_list_time(value: str) -> float:
    """`YYYYMMDDhhmmss` in UTC+8 (the console's time zone) -> epoch seconds."""
    try:
        if len(value) != 14 or not value.isdigit():
            raise ValueError(value)
        return datetime.strptime(value, "%Y%m%d%H%M%S").replace(tzinfo=UTC8).timestamp()
    except ValueError:
        raise invalid_parameter(BAD_PARAMETERS) from None


def parse_list_query(params: dict[str, str], now: float) -> ListQuery:
    """Only end_time: the 24 h before it; only start_time: the 24 h after; neither: the last
    24 h; a span over 24 h (or end before start) is refused."""
    start_raw, end_raw = params.get("start_time") or None, params.get("end_time") or None
    start = parse_list_time(start_raw) if start_raw else None
    end = parse_list_time(end_raw) if end_raw else None
    if start is None and end is None:
        end = now
    if start is None:
        start = end - LIST_SPAN_SECONDS
    if end is None:
        end = start + LIST_SPAN_SECONDS
    if end < start or end - start > LIST_SPAN_SECONDS:
        raise invalid_parameter(BAD_PARAMETERS)
    status = params.get("status") or None
    if status is not None and status not in STATUSES:
        raise invalid_parameter(BAD_PARAMETERS)
    return ListQuery(start, end, params.get("task_id") or None, params.get("model_name") or None, status,
                     params.get("api_key_id") or None, params.get("region") or None,
                     _page_number(params.get("page_no"), 1),
                     _page_number(params.get("page_size"), 10, MAX_PAGE_SIZE))


# ---- bodies ------------------------------------------------------------------------------------


def format_time(ts: float | None) -> str | None:
    if ts is None:
        return None
    return utc8_millis(ts)


def epoch_ms(ts: float | None) -> int | None:
    return None if ts is None else int(round(ts * 1000))


def respond(body: dict[str, Any], request_id: str, status: int = 200,
            content_type: str = TASKS_CONTENT_TYPE) -> JSONResponse:
    response = JSONResponse(body, status, headers={"X-Request-ID": request_id})
    response.headers["content-type"] = content_type
    return response


def error_response(err: ServiceError, request_id: str,
                   content_type: str = TASKS_CONTENT_TYPE) -> JSONResponse:
    return respond({"request_id": request_id, "code": err.code, "message": err.message}, request_id,
                   err.status, content_type)


def submitted_body(task: dict[str, Any], request_id: str) -> dict[str, Any]:
    return {"output": {"task_status": task["status"], "task_id": task["task_id"]}, "request_id": request_id}


def task_body(task: dict[str, Any] | None, task_id: str, request_id: str,
              video_url: str | None = None) -> dict[str, Any]:
    """GET /tasks/{id}: the fields each state shows (UNKNOWN for a missing or expired task)."""
    if task is None:
        return {"request_id": request_id, "output": {"task_id": task_id, "task_status": "UNKNOWN"}}
    status = task["status"]
    output: dict[str, Any] = {"task_id": task["task_id"], "task_status": status,
                              "submit_time": format_time(task["submit_time"])}
    if task.get("scheduled_time") is not None:
        output["scheduled_time"] = format_time(task["scheduled_time"])
    if status in ("SUCCEEDED", "FAILED", "CANCELED"):
        output["end_time"] = format_time(task["end_time"])
    body: dict[str, Any] = {"request_id": request_id, "output": output}
    if status == "SUCCEEDED":
        output["results"] = {"video_url": video_url}
        body["usage"] = {"video_duration": task["video_duration"], "video_ratio": MODES[task["mode"]]}
    elif status == "FAILED":
        output["code"] = task["code"]
        output["message"] = task["message"]
    return body


def list_item(task: dict[str, Any], account_id: str) -> dict[str, Any]:
    item = {
        "api_key_id": task["api_key_id"], "caller_parent_id": account_id, "caller_uid": account_id,
        "gmt_create": epoch_ms(task["submit_time"]), "model_name": task["model"], "region": task["region"],
        "request_id": task["request_id"], "status": task["status"], "task_id": task["task_id"],
        "user_api_unique_key": f"apikey:v1:aigc:image2video:video-synthesis:{task['model']}",
    }
    if task.get("scheduled_time") is not None:
        item["start_time"] = epoch_ms(task["scheduled_time"])
    if task.get("end_time") is not None:
        item["end_time"] = epoch_ms(task["end_time"])
    return dict(sorted(item.items()))


def list_body(items: list[dict[str, Any]], total: int, query: ListQuery, request_id: str) -> dict[str, Any]:
    return {"total": total, "data": items, "total_page": (total + query.page_size - 1) // query.page_size,
            "page_no": query.page_no, "request_id": request_id, "page_size": query.page_size}


def policy_body(data: dict[str, Any], request_id: str) -> dict[str, Any]:
    return {"data": data, "request_id": request_id}
