"""DashScope's content rules (one person facing the camera, face whole, moderate size) judged by
the bundled detector: the rules as data, the detector on the committed photographs, and each
rule-breaking fixture submitted through the dashscope SDK and through plain HTTP (as curl sends
it) to live emulators, with the checks in the task (default) and at submit."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dashscope
import numpy as np
import pytest
import yaml
from dashscope import VideoSynthesis
from dashscope_support import SAMPLE_IMAGE, SAMPLE_VIDEO, seed_body, submit, wait_for
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from emulator.media.ffmpeg import probe
from emulator.media.people import Box, Sighting
from emulator.services.dashscope import content
from emulator.services.dashscope.inputs import ASSETS
from emulator.testing.server import LiveServer

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "dashscope"
ALIAS = "https://people.example.com/"
MESSAGES = {
    "InvalidFile.NoHuman": "The input image has no human body. Please upload other image with single person.",
    "InvalidFile.MultiHuman": "The input image has multi human bodies. Please upload other image with single "
                              "person.",
    "InvalidFile.FacePose": "The pose of the detected face is invalid, please upload other image with whole "
                            "face and expected orientation.",
    "InvalidFile.BodyProportion": "The proportion of the detected person in the picture is too large or too "
                                  "small, please upload other image.",
    "InvalidImage.NoHumanFace": "No human face detected.",
}
# Each photograph that breaks a rule, and the code it gets.
BROKEN_IMAGES = [
    ("nohuman_cat.jpg", "InvalidFile.NoHuman"),
    ("nohuman_rocket.jpg", "InvalidFile.NoHuman"),
    ("face_cut.jpg", "InvalidFile.NoHuman"),
    ("two_people.jpg", "InvalidFile.MultiHuman"),
    ("profile.jpg", "InvalidFile.FacePose"),
    ("too_small.jpg", "InvalidFile.BodyProportion"),
    ("too_large.jpg", "InvalidFile.BodyProportion"),
]
ACCEPTED_IMAGES = [FIXTURES / "person.jpg", ASSETS / "move_input_image.jpeg"]


def sighting(faces=(), profiles=(), height=1000) -> Sighting:
    return Sighting(800, height, tuple(Box(100, 100, h, h) for h in faces),
                    tuple(Box(100, 100, h, h) for h in profiles))


def test_rules_as_data():
    assert content.verdict(sighting(faces=[150])) is None
    assert content.verdict(sighting()).code == "InvalidFile.NoHuman"
    assert content.verdict(sighting(profiles=[150])).code == "InvalidFile.FacePose"
    assert content.verdict(sighting(faces=[150, 120])).code == "InvalidFile.MultiHuman"
    low, high = content.FACE_SHARE
    assert content.verdict(sighting(faces=[low * 1000 - 1])).code == "InvalidFile.BodyProportion"
    assert content.verdict(sighting(faces=[high * 1000 + 1])).code == "InvalidFile.BodyProportion"
    assert content.verdict(sighting(faces=[low * 1000])) is None
    for error in (content.NO_HUMAN, content.MULTI_HUMAN, content.FACE_POSE, content.BODY_PROPORTION,
                  content.NO_HUMAN_FACE):
        assert (error.status, error.message) == (400, MESSAGES[error.code])


@pytest.mark.parametrize(("name", "code"), BROKEN_IMAGES)
def test_the_detector_refuses_each_broken_photograph(name, code):
    assert content.image_verdict(FIXTURES / name).code == code


@pytest.mark.parametrize("path", ACCEPTED_IMAGES, ids=lambda p: p.name)
def test_the_detector_accepts_one_person_facing_the_camera(path):
    assert content.image_verdict(path) is None


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(width=st.integers(200, 640), height=st.integers(200, 640),
       mode=st.sampled_from(["L", "RGB", "RGBA", "P"]), seed=st.integers(0, 2**16),
       fmt=st.sampled_from(["PNG", "JPEG", "BMP", "WEBP"]))
def test_any_picture_gets_a_verdict_never_a_crash(tmp_path, width, height, mode, seed, fmt):
    """Noise of any size and mode: a verdict (no person in noise), never an exception."""
    noise = np.random.default_rng(seed).integers(0, 256, (height, width, 3), np.uint8)
    picture = Image.fromarray(noise).convert(mode)
    if fmt == "JPEG" and mode in ("RGBA", "P"):
        picture = picture.convert("RGB")
    path = tmp_path / f"noise.{fmt.lower()}"
    picture.save(path, fmt)
    assert content.image_verdict(path) in (content.NO_HUMAN, content.FACE_POSE, content.MULTI_HUMAN,
                                           content.BODY_PROPORTION, None)


def test_reference_videos_are_judged_on_sampled_frames():
    for path in (ASSETS / "move_input_video.mp4", FIXTURES / "good.mp4"):
        assert content.video_verdict(path, probe(path)) is None, path.name
    nobody = FIXTURES / "nobody.mp4"
    assert content.video_verdict(nobody, probe(nobody)).code == "InvalidImage.NoHumanFace"
    # At submit that verdict waits for the task: the catalogue reports it only by task query.
    content.check_video(nobody, probe(nobody), at_submit=True)
    with pytest.raises(Exception) as raised:
        content.check_video(nobody, probe(nobody))
    assert raised.value.code == "InvalidImage.NoHumanFace"


# ---- through live servers ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def aliases(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("people") / "aliases.yaml"
    path.write_text(yaml.safe_dump({ALIAS + p.name: str(p) for p in FIXTURES.iterdir()}))
    return path


@pytest.fixture(scope="module")
def in_task(aliases: Path) -> Iterator[LiveServer]:
    with LiveServer(env={"EMULATOR_DASHSCOPE_URL_ALIASES": str(aliases)}) as server:
        yield server


@pytest.fixture(scope="module")
def at_submit(aliases: Path) -> Iterator[LiveServer]:
    env = {"EMULATOR_DASHSCOPE_URL_ALIASES": str(aliases),
           "EMULATOR_DASHSCOPE_CHECK_INPUTS_AT_SUBMIT": "true"}
    with LiveServer(env=env) as server:
        yield server


@contextmanager
def sdk_at(server: LiveServer) -> Iterator[None]:
    saved = dashscope.base_http_api_url, dashscope.api_key
    dashscope.base_http_api_url, dashscope.api_key = server.url + "/api/v1", "sk-emulator"
    try:
        yield
    finally:
        dashscope.base_http_api_url, dashscope.api_key = saved


def sdk_submit(image_url: str = SAMPLE_IMAGE, video_url: str = SAMPLE_VIDEO, **parameters):
    return VideoSynthesis.async_call(model="wan2.2-animate-move", task="image2video",
                                     extra_input={"image_url": image_url, "video_url": video_url},
                                     mode="wan-std", **parameters)


def test_each_rule_fails_the_task_over_http_and_through_the_sdk(in_task):
    in_task.reset()
    for name, code in BROKEN_IMAGES:
        in_task.advance(1)  # stay under 5 submits a second
        response = submit(in_task.url, seed_body(image_url=ALIAS + name))
        assert response.status_code == 200, response.text
        output = wait_for(in_task.url, response.json()["output"]["task_id"])["output"]
        assert (output["task_status"], output["code"], output["message"]) == ("FAILED", code, MESSAGES[code])
        with sdk_at(in_task):
            submitted = sdk_submit(image_url=ALIAS + name)
            assert submitted.status_code == 200, submitted
            done = VideoSynthesis.wait(submitted)
        assert done.output.task_status == "FAILED"
        assert (done.output["code"], done.output["message"]) == (code, MESSAGES[code]), name


def test_each_rule_is_a_400_at_submit_over_http_and_through_the_sdk(at_submit):
    at_submit.reset()
    before = len(at_submit.tasks())
    for name, code in BROKEN_IMAGES:
        at_submit.advance(1)
        response = submit(at_submit.url, seed_body(image_url=ALIAS + name))
        assert response.status_code == 400, response.text
        assert (response.json()["code"], response.json()["message"]) == (code, MESSAGES[code])
        with sdk_at(at_submit):
            refused = sdk_submit(image_url=ALIAS + name)
        assert (refused.status_code, refused.code, refused.message) == (400, code, MESSAGES[code])
    assert len(at_submit.tasks()) == before  # nothing was created


def test_a_video_without_a_face_fails_only_in_the_task(in_task, at_submit):
    for server in (in_task, at_submit):
        server.reset()
        with sdk_at(server):
            submitted = sdk_submit(video_url=ALIAS + "nobody.mp4")
            assert submitted.status_code == 200, submitted  # even with the checks at submit
            done = VideoSynthesis.wait(submitted)
        assert (done.output.task_status, done.output["code"], done.output["message"]) == (
            "FAILED", "InvalidImage.NoHumanFace", "No human face detected.")


def test_accepted_people_succeed_and_check_image_false_skips_the_image_check(in_task, at_submit):
    in_task.reset()
    with sdk_at(in_task):
        done = VideoSynthesis.wait(sdk_submit(image_url=ALIAS + "person.jpg", video_url=ALIAS + "good.mp4"))
    assert done.output.task_status == "SUCCEEDED", done
    response = submit(at_submit.url, seed_body())  # the documentation's samples, checked at submit
    assert response.status_code == 200, response.text
    done = wait_for(at_submit.url, response.json()["output"]["task_id"])
    assert done["output"]["task_status"] == "SUCCEEDED", done
    body = seed_body(image_url=ALIAS + "nohuman_cat.jpg", video_url=ALIAS + "good.mp4")
    body["parameters"]["check_image"] = False
    for server in (in_task, at_submit):
        response = submit(server.url, body)
        assert response.status_code == 200, response.text
        done = wait_for(server.url, response.json()["output"]["task_id"])
        assert done["output"]["task_status"] == "SUCCEEDED", done
        timeline = server.admin("GET", f"tasks/{done['output']['task_id']}/events")
        events = [e["event"] for e in timeline["events"]]
        assert "check_image skipped" in events
