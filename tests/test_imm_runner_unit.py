"""In-process unit tests of the MediaConvert runner: the MNS notification envelope (with a fake
MNS model), failed deliveries, RocketMQ, and Progress moving. The ASGI app is driven directly
(signatures off); the OSS model is called in process."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from emulator.config import Config
from emulator.core.errors import ServiceError
from emulator.core.pipeline import asgi_app
from emulator.core.runtime import Runtime
from emulator.services.imm.routes import build_imm
from emulator.services.oss.model import OssModel
from tests.imm_support import animation_frames

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "counter_320x240_10fps_12s_gop10.mp4"


@dataclass
class FakeMns:
    fail_with: Exception | None = None
    published: list[tuple[str, str, str]] = field(default_factory=list)

    def publish_message(self, ns: str, topic_name: str, body: str, tag: str | None = None) -> str:
        if self.fail_with:
            raise self.fail_with
        self.published.append((ns, topic_name, body))
        return "MSG-1"


@dataclass
class Harness:
    runtime: Runtime
    client: httpx.AsyncClient
    model: Any
    oss: OssModel

    async def call(self, action: str, **params: Any) -> httpx.Response:
        query = {k: json.dumps(v) if isinstance(v, (dict, list)) else str(v) for k, v in params.items()}
        return await self.client.post("/", params=query, headers={"x-acs-action": action,
                                                                  "x-acs-version": "2020-09-30"})

    async def convert(self, targets: list[dict], **extra: Any) -> str:
        response = await self.call("CreateMediaConvertTask", ProjectName="p", Targets=targets,
                                   Sources=[{"URI": "oss://media/in/counter.mp4"}], **extra)
        assert response.status_code == 200, response.text
        return response.json()["TaskId"]

    async def finished(self, task_id: str, timeout: float = 30) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            response = await self.call("GetTask", ProjectName="p", TaskType="MediaConvert", TaskId=task_id)
            body = response.json()
            if body["Status"] != "Running":
                return body
            await asyncio.sleep(0.02)
        raise AssertionError("task did not finish")

    def events(self, task_id: str) -> list[dict[str, Any]]:
        return self.runtime.events.list("default", task_id)

    def written(self, task_id: str) -> list[bytes]:
        """The bytes of every output the task wrote, in order."""
        uris = [e["uri"] for e in self.events(task_id) if e["event"] == "output written"]
        return [self.oss.object_path("default", "media", uri[len("oss://media/"):]).read_bytes()
                for uri in uris]


async def harness(mns: Any, store: type[OssModel] = OssModel) -> AsyncIterator[Harness]:
    runtime = Runtime(Config(ephemeral=True, verify_signatures=False))
    oss = store(runtime)
    oss.create_bucket("default", "media")
    oss.put_file("default", "media", "in/counter.mp4", FIXTURE, "video/mp4")
    built = build_imm(runtime, oss, mns)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi_app(built, runtime)),
                                 base_url="http://imm.local") as client:
        h = Harness(runtime, client, built.model, oss)
        assert (await h.call("CreateProject", ProjectName="p")).status_code == 200
        yield h
        assert built.shutdown is not None
        await built.shutdown()
    runtime.close()


def run(coro_fn, mns: Any = None, store: type[OssModel] = OssModel) -> None:
    async def main() -> None:
        async for h in harness(mns, store):
            await coro_fn(h)
    asyncio.run(main())


ANIMATION = [{"Image": {"Animations": [{"Format": "gif", "URI": "oss://media/out/{barename}.{autoext}",
                                        "Interval": 3}]}}]


def test_mns_envelope_on_success() -> None:
    mns = FakeMns()

    async def check(h: Harness) -> None:
        task_id = await h.convert(ANIMATION, Notification={"MNS": {"TopicName": "test-mns-topic"}},
                                  UserData="ud")
        task = await h.finished(task_id)
        assert task["Status"] == "Succeeded"
        [(ns, topic, body)] = mns.published
        assert (ns, topic) == ("default", "test-mns-topic")
        envelope = json.loads(body)
        assert envelope["source"] == "acs.imm"
        assert envelope["type"] == "imm:Task:MediaConvert"
        assert envelope["subject"] == "acs:imm:cn-hangzhou:1234567890123456:p/imm:Task:MediaConvert"
        assert envelope["id"] == task["EventId"]
        assert envelope["time"].isdigit()
        content = json.loads(envelope["content"])
        assert {k: content[k] for k in ("ProjectName", "TaskId", "TaskType", "Status", "Code", "Message",
                                        "UserData")} == {
            "ProjectName": "p", "TaskId": task_id, "TaskType": "MediaConvert", "Status": "Succeeded",
            "Code": "", "Message": "", "UserData": "ud"}
        assert content["StartTime"] == task["StartTime"] and content["EndTime"] == task["EndTime"]
        assert content["Sources"] == [{"URI": "oss://media/in/counter.mp4", "SubtitleSources": None}]
        assert content["Targets"] == [{"URI": "", "Subtitle": {"Extract": {"URI": ""}}, "Image": {
            "Sprites": None, "Snapshots": None, "Animations": [{"URI": "oss://media/out/counter.gif"}]}}]
        assert [e["event"] for e in h.events(task_id)][-1] == "notification published"

    run(check, mns)


def test_mns_envelope_on_failure() -> None:
    mns = FakeMns()

    async def check(h: Harness) -> None:
        response = await h.call("CreateMediaConvertTask", ProjectName="p", Targets=ANIMATION,
                                Sources=[{"URI": "oss://media/in/none.mp4"}],
                                Notification={"MNS": {"TopicName": "t"}})
        task = await h.finished(response.json()["TaskId"])
        assert task["Status"] == "Failed"
        content = json.loads(json.loads(mns.published[0][2])["content"])
        assert (content["Status"], content["Code"]) == ("Failed", "ResourceNotFound")
        assert content["Targets"][0]["Image"]["Animations"] is None

    run(check, mns)


@pytest.mark.parametrize("mns, reason", [
    (FakeMns(fail_with=ServiceError(404, "TopicNotExist", "The topic you provided does not exist.")),
     "TopicNotExist"),
    (FakeMns(fail_with=RuntimeError("broken")), "broken"),
    (None, "MNS is not available"),
])
def test_failed_delivery_is_recorded_and_the_task_still_succeeds(mns: Any, reason: str) -> None:
    async def check(h: Harness) -> None:
        task_id = await h.convert(ANIMATION, Notification={"MNS": {"TopicName": "gone"}})
        assert (await h.finished(task_id))["Status"] == "Succeeded"
        failed = [e for e in h.events(task_id) if e["event"] == "notification failed"]
        assert len(failed) == 1
        assert reason in json.dumps(failed[0])

    run(check, mns)


def test_rocketmq_is_recorded() -> None:
    async def check(h: Harness) -> None:
        task_id = await h.convert(ANIMATION, Notification={"RocketMQ": {"InstanceId": "i", "TopicName": "t"}})
        await h.finished(task_id)
        [event] = [e for e in h.events(task_id) if e["event"] == "notification recorded"]
        assert (event["InstanceId"], event["TopicName"]) == ("i", "t")
        assert json.loads(event["message"])["type"] == "imm:Task:MediaConvert"

    run(check)


def test_progress_moves_then_reaches_100() -> None:
    async def check(h: Harness) -> None:
        seen: list[int] = []
        update = h.model.update_task

        def spy(ns: str, project: str, task_id: str, **changes: Any):
            if "Progress" in changes:
                seen.append(changes["Progress"])
            return update(ns, project, task_id, **changes)

        h.model.update_task = spy
        outputs = [{"Format": "gif", "URI": f"oss://media/out/{i}.gif", "Interval": 0.5} for i in range(3)]
        task_id = await h.convert([{"Image": {"Animations": outputs}}])
        assert (await h.finished(task_id))["Progress"] == 100
        assert seen == sorted(seen) and len(set(seen)) == len(seen)
        assert len([p for p in seen if 0 < p < 100]) >= 3
        assert seen[-1] == 100

    run(check)


def test_billing_counts_animation_frames_per_project() -> None:
    async def check(h: Harness) -> None:
        await h.finished(await h.convert(ANIMATION))  # 12 s / 3 s = 4 frames
        snapshots = [{"Image": {"Snapshots": [{"Format": "jpg", "URI": "oss://media/s-{index}.jpg",
                                               "Interval": 3}]}}]
        await h.finished(await h.convert(snapshots))  # not an animation: not metered
        assert h.model.billing(None)["items"] == [{"namespace": "default", "project": "p",
                                                   "billable_item": "MediaAnimation", "quantity": 4,
                                                   "unit": "frame"}]

    run(check)


animation_fields = st.fixed_dictionaries({
    "Format": st.sampled_from(["gif", "webp"]),
    "URI": st.just("oss://media/out/{barename}-{index}.{autoext}"),
}, optional={
    "StartTime": st.floats(0, 15, allow_nan=False),
    "Interval": st.floats(0.001, 20, allow_nan=False),
    "Number": st.integers(0, 50),
    "FrameRate": st.floats(0.5, 240, allow_nan=False),
    "Width": st.one_of(st.floats(0.001, 0.999), st.integers(1, 400)),
    "Height": st.one_of(st.floats(0.001, 0.999), st.integers(1, 400)),
    "ScaleType": st.sampled_from(["stretch", "crop", "fill", "fit"]),
})


@settings(max_examples=20, deadline=None)
@given(fields=animation_fields)
def test_any_valid_animation_succeeds_or_fails_cleanly(fields: dict) -> None:
    """Valid requests never end in InternalError; a success has the planned frame count."""
    async def check(h: Harness) -> None:
        task = await h.finished(await h.convert([{"Image": {"Animations": [fields]}}]))
        assert task["Code"] != "InternalError", task["Message"]
        if task["Status"] == "Succeeded":
            [planned] = [e["frames"] for e in h.events(task["TaskId"]) if e["event"] == "rendering"]
            assert 1 <= planned <= (fields.get("Number") or planned)
            [data] = h.written(task["TaskId"])
            image, indices, durations = animation_frames(data)
            assert image.format == fields["Format"].upper()
            if image.size == (320, 240):  # frame numbers are legible at the source's size
                first = int(fields.get("StartTime", 0) * 10 + 1e-6)  # the fixture: 10 fps, frames 0..119
                assert indices == sorted(indices) and first <= indices[0] and indices[-1] <= 119
            if fields["Format"] == "gif":
                assert len(indices) == planned  # every planned frame is in the file
            else:
                assert len(indices) <= planned  # WebP merges identical neighbours, keeping the time
            # Each planned frame shows 1/FrameRate; the default rate follows the sampling, which
            # never goes finer than the 10 fps source.
            delay = 1000 / fields["FrameRate"] if "FrameRate" in fields else 1000 * max(
                fields.get("Interval", 0.1), 0.1)
            if len(durations) > 1 or fields["Format"] == "gif":  # a one-frame WebP has no duration
                assert abs(sum(durations) - planned * delay) <= planned * 10, (durations, planned, delay)
        else:
            assert fields.get("StartTime", 0) > 11.99 and "beyond the end" in task["Message"], (fields, task)

    run(check)


image_fields = st.fixed_dictionaries({
    "Format": st.sampled_from(["jpg", "png"]),
    "URI": st.just("oss://media/out/{barename}-{index}.{autoext}"),
}, optional={
    "StartTime": st.floats(0, 11.5, allow_nan=False),
    "Interval": st.floats(0.001, 20, allow_nan=False),
    "Number": st.integers(0, 12),
    "ScaleType": st.sampled_from(["stretch", "crop", "fill", "fit"]),
    "Width": st.one_of(st.floats(0.001, 0.999), st.integers(1, 300)),
    "Height": st.one_of(st.floats(0.001, 0.999), st.integers(1, 300)),
})
sprite_extra = st.fixed_dictionaries({}, optional={
    "TileWidth": st.integers(1, 7), "TileHeight": st.integers(1, 7), "Pad": st.integers(0, 9),
    "Margin": st.integers(0, 9), "ScaleWidth": st.floats(0.01, 1), "ScaleHeight": st.integers(1, 100)})


@settings(max_examples=12, deadline=None)
@given(kind=st.sampled_from(["Snapshots", "Sprites"]), fields=image_fields, extra=sprite_extra)
def test_any_valid_snapshot_or_sprite_succeeds(kind: str, fields: dict, extra: dict) -> None:
    if kind == "Sprites":
        fields = {k: v for k, v in fields.items() if k not in ("Width", "Height")} | extra

    async def check(h: Harness) -> None:
        task = await h.finished(await h.convert([{"Image": {kind: [fields]}}]))
        assert (task["Status"], task["Code"]) == ("Succeeded", ""), task["Message"]
        [planned] = [e["frames"] for e in h.events(task["TaskId"]) if e["event"] == "rendering"]
        files = h.written(task["TaskId"])
        per_file = 1 if kind == "Snapshots" else fields.get("TileWidth", 6) * fields.get("TileHeight", 6)
        assert len(files) == -(-planned // per_file)  # one image per frame, or per full sheet
        for data in files:
            image = Image.open(io.BytesIO(data))
            image.load()  # decodes the whole image
            assert image.format == {"jpg": "JPEG", "png": "PNG"}[fields["Format"]]

    run(check)
