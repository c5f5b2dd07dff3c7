"""DashScope requests as plain data: wire.py parses them, the model acts on them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SubmitRequest:
    model: str
    image_url: str
    video_url: str
    watermark: bool
    mode: str
    check_image: bool

    def urls(self) -> tuple[str, str]:
        return self.image_url, self.video_url


@dataclass(frozen=True)
class ListQuery:
    start: float  # epoch seconds, inclusive
    end: float
    task_id: str | None
    model_name: str | None
    status: str | None
    api_key_id: str | None
    region: str | None
    page_no: int
    page_size: int
