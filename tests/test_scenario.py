"""Scenario files seed state, faults and the clock at start; bad ones stop the start naming the field."""

from __future__ import annotations

import httpx
import oss2
import pytest

from emulator.testing.server import LiveServer
from tests.oss_clients import oss2_bucket

SCENARIO = """
clock: {set: "2030-01-01T00:00:00Z", frozen: true}
namespaces: [team-a]
faults:
  - {id: flaky-head, service: oss, match: {action: HeadObject}, times: 1,
     effect: {http_error: {status: 503, code: ServiceUnavailable, message: busy}}}
buckets:
  - name: test-bucket
    objects:
      - {key: video-demo/brewing.mov, file: media/clip.bin, content_type: video/quicktime}
      - {key: notes.txt, content: hello}
  - {name: team-bucket, namespace: team-a}
"""


def test_scenario_seeds_state_faults_and_clock(tmp_path) -> None:
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / "clip.bin").write_bytes(b"\x00video\x01")
    scenario = tmp_path / "seed.yaml"
    scenario.write_text(SCENARIO)
    data = tmp_path / "data"
    with LiveServer(data_dir=data, extra_args=["--scenario", str(scenario)]) as server:
        bucket = oss2_bucket(server, "test-bucket")
        got = bucket.get_object("video-demo/brewing.mov")
        assert got.read() == b"\x00video\x01" and got.headers["Content-Type"] == "video/quicktime"
        assert bucket.get_object("notes.txt").read() == b"hello"
        with pytest.raises(oss2.exceptions.ServerError) as err:
            bucket.head_object("notes.txt")
        assert err.value.status == 503
        clock = server.admin("GET", "clock")
        assert clock["now"].startswith("2030-01-01T00:00:00") and clock["frozen"]
        team = next(n for n in server.admin("GET", "namespaces")["namespaces"] if n["namespace"] == "team-a")
        team_bucket = oss2.Bucket(oss2.Auth(team["access_key_id"], team["access_key_secret"]), server.url,
                                  "team-bucket")
        assert team_bucket.get_bucket_info().name == "team-bucket"
        server.advance(60)
    with LiveServer(data_dir=data, extra_args=["--scenario", str(scenario)]) as server:
        assert server.admin("GET", "clock")["now"].startswith("2030-01-01T00:01:00")  # kept, not re-set
        assert oss2_bucket(server, "test-bucket").head_object("notes.txt").content_length == 5  # used up


@pytest.mark.parametrize(("text", "field"), [
    ("buckets: [{name: Bad_Name}]", "buckets[0]"),
    ("faults: [{service: oss, effect: {delay_ms: -1}}]", "faults[0].effect.delay_ms"),
    ("clock: {advance_seconds: soon}", "clock.advance_seconds"),
    ("buckets: [{name: ok-bucket, objects: [{key: a, file: missing.bin}]}]", "buckets[0].objects[0].file"),
    ("weather: sunny", "weather"),
    ("[1, 2", "file"),
])
def test_bad_scenario_stops_the_start_naming_the_field(tmp_path, text, field) -> None:
    scenario = tmp_path / "bad.yaml"
    scenario.write_text(text)
    with pytest.raises(RuntimeError) as err:
        LiveServer(extra_args=["--scenario", str(scenario)]).start()
    assert f"scenario: {field}:" in str(err.value)


def test_health_answers_without_a_scenario() -> None:
    with LiveServer() as server:
        assert httpx.get(server.url + "/_emulator/health").json()["status"] == "ok"


def test_scenario_seeds_mns(tmp_path) -> None:
    from mns.account import Account
    from mns.topic import TopicMessage

    scenario = tmp_path / "mns.yaml"
    scenario.write_text("""
queues: [{name: imm-done, VisibilityTimeout: 60}]
topics: [{name: test-mns-topic}]
subscriptions:
  - {topic: test-mns-topic, name: to-queue, endpoint: "queue:imm-done", notify_content_format: SIMPLIFIED}
""")
    with LiveServer(extra_args=["--scenario", str(scenario)]) as server:
        account = Account(server.url, server.access_key_id, server.access_key_secret)
        assert account.get_queue("imm-done").get_attributes().visibility_timeout == 60
        account.get_topic("test-mns-topic").publish_message(TopicMessage("done"))
        queue = account.get_queue("imm-done")
        queue.set_encoding(False)
        assert queue.receive_message(1).message_body == "done"


def test_seed_docs_scenario_makes_both_seed_examples_runnable(tmp_path) -> None:
    import json
    from pathlib import Path

    from alibabacloud_imm20200930 import models as m
    from mns.account import Account

    from tests.dashscope_support import fetch_video, seed_body, submit, wait_for
    from tests.imm_support import animation_frames, imm_client, wait_for_task

    scenario = Path(__file__).resolve().parent.parent / "fixtures" / "scenarios" / "seed-docs.yaml"
    with LiveServer(extra_args=["--scenario", str(scenario)]) as server:
        client = imm_client(server)
        request = m.CreateMediaConvertTaskRequest().from_map({
            "ProjectName": "test-project", "Notification": {"MNS": {"TopicName": "test-mns-topic"}},
            "Sources": [{"Duration": 25, "StartTime": 5, "URI": "oss://test-bucket/video-demo/brewing.mov"}],
            "Targets": [{"Image": {"Animations": [{
                "Format": "webp", "FrameRate": 15, "Height": 0.5, "Interval": 1, "ScaleType": "fit",
                "URI": "oss://test-bucket/video-demo/animation.{autoext}", "Width": 0.5}]}}]})
        task_id = client.create_media_convert_task(request).body.task_id
        assert wait_for_task(client, "test-project", task_id).status == "Succeeded"
        webp = oss2_bucket(server, "test-bucket").get_object("video-demo/animation.webp").read()
        image, indices, durations = animation_frames(webp)  # the seeded brewing.mov, 10 fps
        assert (image.format, image.size) == ("WEBP", (160, 90))
        assert indices == [(5 + k) * 10 for k in range(25)] and set(durations) == {67}
        account = Account(server.url, server.access_key_id, server.access_key_secret)
        queue = account.get_queue("test-mns-queue")
        queue.set_encoding(False)
        assert json.loads(json.loads(queue.receive_message(10).message_body)["content"])["TaskId"] == task_id
        dashscope_task = submit(server.url, seed_body()).json()["output"]["task_id"]
        done = wait_for(server.url, dashscope_task)
        assert done["output"]["task_status"] == "SUCCEEDED"
        video = fetch_video(done["output"]["results"]["video_url"], tmp_path / "result.mp4")
        assert (video.video_codec, video.width, video.height, video.frame_count) == ("h264", 480, 640, 130)
