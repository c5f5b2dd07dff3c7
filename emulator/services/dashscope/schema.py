"""The DashScope surface's bodies as pydantic models, for the OpenAPI document only.

wire.py parses requests by hand, in the order DashScope checks them, so that each refusal carries
DashScope's own code and message; these models describe what it accepts and answers, and are never
used to validate a request."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from emulator.services.dashscope.wire import MAX_PAGE_SIZE, MODELS, MODES, STATUSES

Model = Literal[MODELS]  # type: ignore[valid-type]
Mode = Literal[tuple(MODES)]  # type: ignore[valid-type]
Status = Literal[STATUSES]  # type: ignore[valid-type]


class SubmitInput(BaseModel):
    model_config = ConfigDict(extra="allow")  # the SDK's prompt, extend_prompt... are ignored

    image_url: str = Field(description="http(s):// or, with X-DashScope-OssResourceResolve, oss://")
    video_url: str = Field(description="http(s):// or, with X-DashScope-OssResourceResolve, oss://")
    watermark: bool = False


class SubmitParameters(BaseModel):
    model_config = ConfigDict(extra="allow")

    mode: Mode
    check_image: bool = True


class SubmitBody(BaseModel):
    """POST /api/v1/services/aigc/image2video/video-synthesis."""

    model_config = ConfigDict(extra="allow")

    model: Model
    input: SubmitInput
    parameters: SubmitParameters


class SubmitOutput(BaseModel):
    task_id: str
    task_status: Status


class Submitted(BaseModel):
    request_id: str
    output: SubmitOutput


class TaskOutput(BaseModel):
    model_config = ConfigDict(extra="allow")  # submit_time, end_time, results, code, message

    task_id: str
    task_status: Status


class TaskAnswer(BaseModel):
    """GET /api/v1/tasks/{task_id}: UNKNOWN for a task this key cannot see."""

    model_config = ConfigDict(extra="allow")  # usage

    request_id: str
    output: TaskOutput


class TaskList(BaseModel):
    model_config = ConfigDict(extra="allow")

    request_id: str
    total: int
    total_page: int
    page_no: int
    page_size: int = Field(le=MAX_PAGE_SIZE)
    data: list[dict]


class Error(BaseModel):
    """Every refusal: a flat object with DashScope's code."""

    request_id: str
    code: str
    message: str


MODELS_IN_DOCUMENT = [SubmitBody, Submitted, TaskAnswer, TaskList, Error]
