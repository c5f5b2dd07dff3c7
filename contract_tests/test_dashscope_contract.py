"""DashScope wan2.2-animate-move through the official dashscope SDK: submit, wait, errors.

Against the cloud this costs money (billed per output second) and takes minutes."""

from __future__ import annotations

from collections.abc import Iterator

import dashscope
import pytest
from dashscope import VideoSynthesis

DOCS = "https://help-static-aliyun-doc.aliyuncs.com/file-manage-files/zh-CN/20250919"
IMAGE, VIDEO = f"{DOCS}/adsyrp/move_input_image.jpeg", f"{DOCS}/kaakcn/move_input_video.mp4"


@pytest.fixture
def sdk(target) -> Iterator[None]:
    if not target.dashscope_api_key:
        pytest.skip("DASHSCOPE_API_KEY is not set")
    saved = dashscope.base_http_api_url, dashscope.api_key
    dashscope.base_http_api_url, dashscope.api_key = target.dashscope_base_url, target.dashscope_api_key
    yield
    dashscope.base_http_api_url, dashscope.api_key = saved


def test_animate_move_documented_example(sdk) -> None:
    rsp = VideoSynthesis.async_call(model="wan2.2-animate-move", task="image2video", mode="wan-std",
                                    extra_input={"image_url": IMAGE, "video_url": VIDEO})
    assert rsp.status_code == 200 and rsp.output.task_status == "PENDING"
    done = VideoSynthesis.wait(rsp)
    assert done.output.task_status == "SUCCEEDED", done
    assert done.output["results"]["video_url"].startswith("http")
    assert done.usage.video_ratio == "standard" and done.usage.video_duration > 0


def test_submit_errors(sdk) -> None:
    missing_mode = VideoSynthesis.async_call(model="wan2.2-animate-move", task="image2video",
                                             extra_input={"image_url": IMAGE, "video_url": VIDEO},
                                             mode="wan-ultra")
    assert missing_mode.status_code == 400 and missing_mode.code == "InvalidParameter"
    saved = dashscope.api_key
    dashscope.api_key = "sk-not-a-key"
    try:
        refused = VideoSynthesis.async_call(model="wan2.2-animate-move", task="image2video", mode="wan-std",
                                            extra_input={"image_url": IMAGE, "video_url": VIDEO})
    finally:
        dashscope.api_key = saved
    assert refused.status_code == 401 and refused.code == "InvalidApiKey"
