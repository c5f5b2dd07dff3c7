"""The official dashscope SDK (1.x surface of dashscope 2.0.2), unmodified, against a live emulator.

dashscope reads DASHSCOPE_HTTP_BASE_URL at import time; the tests set the module attribute
`dashscope.base_http_api_url` (read at call time by submit, tasks, list and getPolicy) and put
it back afterwards.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from http import HTTPStatus

import dashscope
import httpx
from dashscope import VideoSynthesis
from dashscope.utils.oss_utils import OssUtils
from dashscope_support import SAMPLE_IMAGE, SAMPLE_VIDEO, fetch_video, submit, wait_for

from emulator.services.dashscope.inputs import ASSETS
from emulator.testing.server import LiveServer

MODEL = "wan2.2-animate-move"


def animate(**extra):
    return VideoSynthesis.async_call(
        model=MODEL, task="image2video",
        extra_input={"image_url": SAMPLE_IMAGE, "video_url": SAMPLE_VIDEO, "watermark": True},
        mode="wan-std", check_image=False, **extra)


def test_async_call_fetch_wait_list(sdk, tmp_path):
    rsp = animate()
    assert rsp.status_code == HTTPStatus.OK, rsp
    assert rsp.output.task_status == "PENDING" and rsp.output.task_id
    fetched = VideoSynthesis.fetch(rsp)
    assert fetched.status_code == 200 and fetched.output.task_id == rsp.output.task_id
    done = VideoSynthesis.wait(rsp)
    assert done.status_code == 200 and done.output.task_status == "SUCCEEDED", done
    assert done.output["results"]["video_url"].startswith(sdk.url + "/dashscope-result-sgp/")
    video = fetch_video(done.output["results"]["video_url"], tmp_path / "result.mp4")
    assert (video.video_codec, video.width, video.height) == ("h264", 480, 640)
    assert (video.frame_count, video.duration) == (130, done.usage.video_duration)
    assert done.usage.video_duration == 5.2 and done.usage.video_ratio == "standard"
    assert done.code is None  # no top-level code on a success body
    listed = VideoSynthesis.list(model_name=MODEL, status="SUCCEEDED")
    assert listed.status_code == 200
    assert [item["task_id"] for item in listed.output["data"]] == [rsp.output.task_id]
    assert listed.output["total"] == 1
    refused = VideoSynthesis.cancel(rsp)
    assert (refused.status_code, refused.code) == (400, "UnsupportedOperation")


def test_sdk_sees_errors_with_their_codes(sdk):
    bad_key = VideoSynthesis.async_call(model=MODEL, task="image2video", api_key="sk-nope",
                                        extra_input={"image_url": SAMPLE_IMAGE, "video_url": SAMPLE_VIDEO},
                                        mode="wan-std")
    assert (bad_key.status_code, bad_key.code, bad_key.message) == (
        401, "InvalidApiKey", "Invalid API-key provided.")
    bad_mode = VideoSynthesis.async_call(model=MODEL, task="image2video",
                                         extra_input={"image_url": SAMPLE_IMAGE, "video_url": SAMPLE_VIDEO},
                                         mode="wan-ultra")
    assert (bad_mode.status_code, bad_mode.code) == (400, "InvalidParameter")
    failed = VideoSynthesis.wait(VideoSynthesis.async_call(
        model=MODEL, task="image2video", mode="wan-std",
        extra_input={"image_url": "https://example.com/p.jpg", "video_url": SAMPLE_VIDEO}))
    assert failed.status_code == 200 and failed.output.task_status == "FAILED"
    assert failed.output["code"] == "InvalidURL.ConnectionRefused"


def test_sdk_cancels_a_queued_task():
    with LiveServer(extra_args=["--speed", "realistic"]) as server:
        saved = dashscope.base_http_api_url
        dashscope.base_http_api_url = server.url + "/api/v1"
        try:
            rsp = animate(api_key="sk-emulator")
            assert rsp.status_code == 200
            canceled = VideoSynthesis.cancel(rsp, api_key="sk-emulator")
            assert canceled.status_code == 200, canceled
            final = VideoSynthesis.wait(rsp, api_key="sk-emulator")
            assert final.output.task_status == "CANCELED"
        finally:
            dashscope.base_http_api_url = saved


def test_upload_gives_oss_urls_a_task_resolves(sdk, tmp_path):
    image = tmp_path / "person.jpeg"
    image.write_bytes((ASSETS / "move_input_image.jpeg").read_bytes())
    url, certificate = OssUtils.upload(model=MODEL, file_path=str(image))
    assert url.startswith("oss://dashscope-instant/") and url.endswith("/person.jpeg")
    without = submit(sdk.url, {"model": MODEL, "input": {"image_url": url, "video_url": SAMPLE_VIDEO},
                               "parameters": {"mode": "wan-std"}})
    assert (without.status_code, without.json()["code"]) == (400, "InvalidParameter.DataInspection")
    rsp = VideoSynthesis.async_call(model=MODEL, task="image2video", mode="wan-std",
                                    extra_input={"image_url": url, "video_url": SAMPLE_VIDEO},
                                    headers={"X-DashScope-OssResourceResolve": "enable"})
    assert rsp.status_code == 200, rsp
    done = wait_for(sdk.url, rsp.output.task_id)
    assert done["output"]["task_status"] == "SUCCEEDED", done
    video = fetch_video(done["output"]["results"]["video_url"], tmp_path / "result.mp4")
    assert (video.video_codec, video.width, video.height, video.frame_count) == ("h264", 480, 640, 130)


def test_the_readme_recipe_with_environment_variables(emulator):
    """DASHSCOPE_HTTP_BASE_URL is read when dashscope is imported: a fresh interpreter proves it."""
    script = (
        "import dashscope\n"
        "from dashscope import VideoSynthesis\n"
        f"rsp = VideoSynthesis.async_call(model='{MODEL}', task='image2video', mode='wan-pro',\n"
        f"    extra_input={{'image_url': '{SAMPLE_IMAGE}', 'video_url': '{SAMPLE_VIDEO}'}})\n"
        "done = VideoSynthesis.wait(rsp)\n"
        "print(done.output.task_status, done.usage.video_ratio, done.output['results']['video_url'])\n")
    env = {**os.environ, "DASHSCOPE_HTTP_BASE_URL": emulator.url + "/api/v1",
           "DASHSCOPE_API_KEY": "sk-emulator"}
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    status, ratio, url = result.stdout.split()
    assert (status, ratio) == ("SUCCEEDED", "pro") and url.startswith(emulator.url + "/")


def test_inputs_from_the_emulators_oss_signed_by_oss2(emulator):
    import oss2

    auth = oss2.Auth(emulator.access_key_id, emulator.access_key_secret)
    bucket = oss2.Bucket(auth, emulator.url, "my-media")
    bucket.create_bucket()
    bucket.put_object_from_file("in/dance.mp4", str(ASSETS / "move_input_video.mp4"))
    signed = bucket.sign_url("GET", "in/dance.mp4", 600)
    task = submit(emulator.url, {"model": "wan2.2-animate-mix", "input": {
        "image_url": SAMPLE_IMAGE, "video_url": signed}, "parameters": {"mode": "wan-std"}})
    done = wait_for(emulator.url, task.json()["output"]["task_id"])
    assert done["output"]["task_status"] == "SUCCEEDED", done
    unsigned = signed.split("?", 1)[0]
    task = submit(emulator.url, {"model": "wan2.2-animate-move", "input": {
        "image_url": SAMPLE_IMAGE, "video_url": unsigned}, "parameters": {"mode": "wan-std"}})
    failed = wait_for(emulator.url, task.json()["output"]["task_id"])["output"]
    assert failed["code"] == "InvalidParameter.DataInspection"  # a private bucket needs a signature


def test_v4_presigned_inputs_are_verified_like_oss_verifies_them(emulator):
    """A V4 URL into the emulator's OSS is read only when its signature holds: a forged one (another
    namespace knowing only the AccessKey id) fails the task with the documented code."""
    import oss2

    auth = oss2.AuthV4(emulator.access_key_id, emulator.access_key_secret)
    bucket = oss2.Bucket(auth, emulator.url, "my-media-v4", region="cn-hangzhou")
    bucket.create_bucket()
    bucket.put_object_from_file("in/dance.mp4", str(ASSETS / "move_input_video.mp4"))
    signed = bucket.sign_url("GET", "in/dance.mp4", 600)
    assert "x-oss-signature=" in signed
    task = submit(emulator.url, {"model": "wan2.2-animate-mix", "input": {
        "image_url": SAMPLE_IMAGE, "video_url": signed}, "parameters": {"mode": "wan-std"}})
    done = wait_for(emulator.url, task.json()["output"]["task_id"])
    assert done["output"]["task_status"] == "SUCCEEDED", done

    forged = re.sub(r"x-oss-signature=[0-9a-f]+", "x-oss-signature=" + "0" * 64, signed)
    other = emulator.create_namespace()
    task = submit(emulator.url, {"model": "wan2.2-animate-move", "input": {
        "image_url": SAMPLE_IMAGE, "video_url": forged}, "parameters": {"mode": "wan-std"}},
        key=other.dashscope_api_key)
    failed = wait_for(emulator.url, task.json()["output"]["task_id"], key=other.dashscope_api_key)
    assert failed["output"]["task_status"] == "FAILED"
    assert failed["output"]["code"] == "InvalidParameter.DataInspection"


def test_inputs_from_the_emulators_oss_signed_v4(emulator):
    """A V4 presigned URL (oss2.AuthV4) is an input like a V1 one: good while signed and unexpired,
    refused once tampered with or expired, as OSS itself would refuse the download."""
    import oss2

    bucket = oss2.Bucket(oss2.AuthV4(emulator.access_key_id, emulator.access_key_secret), emulator.url,
                         "my-media", region="cn-hangzhou")
    bucket.create_bucket()
    bucket.put_object_from_file("in/dance.mp4", str(ASSETS / "move_input_video.mp4"))
    signed = bucket.sign_url("GET", "in/dance.mp4", 600)
    assert "x-oss-signature-version=OSS4-HMAC-SHA256" in signed
    assert httpx.get(signed, timeout=30).status_code == 200  # OSS serves it as signed

    def outcome(video_url: str) -> dict:
        emulator.advance(1)  # stay under 5 submits a second
        task = submit(emulator.url, {"model": "wan2.2-animate-move", "input": {
            "image_url": SAMPLE_IMAGE, "video_url": video_url}, "parameters": {"mode": "wan-std"}})
        return wait_for(emulator.url, task.json()["output"]["task_id"])

    done = outcome(signed)
    assert done["output"]["task_status"] == "SUCCEEDED", done
    assert done["usage"]["video_duration"] == 5.2
    signature = signed.split("x-oss-signature=", 1)[1].split("&", 1)[0]
    tampered = signed.replace(signature, ("0" if signature[0] != "0" else "1") + signature[1:])
    assert httpx.get(tampered, timeout=30).status_code == 403  # OSS refuses it...
    assert outcome(tampered)["output"]["code"] == "InvalidParameter.DataInspection"  # ...so no input
    emulator.advance(601)
    assert httpx.get(signed, timeout=30).status_code == 403
    assert outcome(signed)["output"]["code"] == "InvalidParameter.DataInspection"
