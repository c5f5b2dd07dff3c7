"""What the DashScope tests share: the seed's request, submitting, polling with a deadline."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx

from emulator.media.ffmpeg import MediaInfo, probe

DOC = "https://help-static-aliyun-doc.aliyuncs.com/file-manage-files/zh-CN/20250919"
SAMPLE_IMAGE = f"{DOC}/adsyrp/move_input_image.jpeg"
SAMPLE_VIDEO = f"{DOC}/kaakcn/move_input_video.mp4"
SUBMIT = "/api/v1/services/aigc/image2video/video-synthesis"
TIME_RE = r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$"
FINAL = ("SUCCEEDED", "FAILED", "CANCELED", "UNKNOWN")


def seed_body(model: str = "wan2.2-animate-move", mode: str = "wan-std", **inputs: Any) -> dict[str, Any]:
    """The body of the seed's curl command (other fields replace or add to its input)."""
    return {"model": model, "input": {"image_url": SAMPLE_IMAGE, "video_url": SAMPLE_VIDEO, **inputs},
            "parameters": {"mode": mode}}


def submit(base_url: str, body: Any = None, key: str | None = "sk-emulator",
           headers: dict[str, str] | None = None, content: bytes | None = None) -> httpx.Response:
    sent = {"X-DashScope-Async": "enable", "Content-Type": "application/json"}
    if key is not None:
        sent["Authorization"] = f"Bearer {key}"
    sent.update(headers or {})
    if content is None:
        return httpx.post(base_url + SUBMIT, json=seed_body() if body is None else body, headers=sent,
                          timeout=30)
    return httpx.post(base_url + SUBMIT, content=content, headers=sent, timeout=30)


def get_task(base_url: str, task_id: str, key: str = "sk-emulator") -> httpx.Response:
    return httpx.get(f"{base_url}/api/v1/tasks/{task_id}", headers={"Authorization": f"Bearer {key}"},
                     timeout=30)


def wait_for(base_url: str, task_id: str, statuses=FINAL, key: str = "sk-emulator",
             deadline: float = 180) -> dict[str, Any]:
    """Poll (5 a second, under the 20 QPS limit) until the task is in one of `statuses`. The
    deadline is generous: a render follows the performer and cuts the character out, and the
    machine may be shared."""
    end = time.monotonic() + deadline
    while True:
        body = get_task(base_url, task_id, key).json()
        if body["output"]["task_status"] in statuses:
            return body
        if time.monotonic() > end:
            raise AssertionError(f"task {task_id} still {body['output']['task_status']}")
        time.sleep(0.2)


def fetch_video(url: str, dest: Path) -> MediaInfo:
    """GET a result URL (it must answer 200 with an MP4) and decode it: codec, size, frames."""
    response = httpx.get(url, timeout=30)
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"] == "video/mp4"
    dest.write_bytes(response.content)
    return probe(dest, count_frames=True)
