"""The web console (/_emulator/ui) in a real browser (Playwright driving headless Chromium):
the seed example's task shows Succeeded with its animated WebP rendered, a fault rule is added
and removed, the clock advances, and a file is uploaded through the page. Also its JSON routes
through httpx, and /_emulator/tasks' ISO times and output URIs.

`CONSOLE_SCREENSHOT=docs/console.png` makes the browser test save README's screenshot."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx
import oss2
import pytest
from alibabacloud_imm20200930 import models as imm_models

from emulator.testing.server import LiveServer
from tests.browser import BROWSER_TIMEOUT_MS, chromium_page
from tests.imm_support import imm_client, wait_for_task

ROOT = Path(__file__).resolve().parent.parent
SEED_EXAMPLE = {
    "ProjectName": "test-project", "Notification": {"MNS": {"TopicName": "test-mns-topic"}},
    "Sources": [{"URI": "oss://test-bucket/video-demo/brewing.mov"}],
    "Targets": [{"Image": {"Animations": [{
        "Format": "webp", "FrameRate": 15, "Height": 0.5, "Interval": 1, "ScaleType": "fit",
        "URI": "oss://test-bucket/video-demo/animation.{autoext}", "Width": 0.5}]}}]}


@pytest.fixture(scope="module")
def seeded() -> Iterator[tuple[LiveServer, str]]:
    """An emulator with the seed scenario loaded and the seed example converted; the task id."""
    scenario = ROOT / "fixtures" / "scenarios" / "seed-docs.yaml"
    with LiveServer(extra_args=["--scenario", str(scenario)]) as server:
        client = imm_client(server)
        request = imm_models.CreateMediaConvertTaskRequest().from_map(SEED_EXAMPLE)
        task_id = client.create_media_convert_task(request).body.task_id
        assert wait_for_task(client, "test-project", task_id).status == "Succeeded"
        yield server, task_id


def test_tasks_list_iso_times_and_output_uris(seeded: tuple[LiveServer, str]) -> None:
    server, task_id = seeded
    task = next(t for t in server.tasks() if t["task_id"] == task_id)
    assert task["outputs"] == ["oss://test-bucket/video-demo/animation.webp"]
    assert task["status"] == "Succeeded"
    submitted = datetime.fromisoformat(task["submitted"].replace("Z", "+00:00"))
    ended = datetime.fromisoformat(task["ended"].replace("Z", "+00:00"))
    assert task["submitted"].endswith("Z") and submitted <= ended


def test_console_routes_show_a_task_objects_and_queue_messages(seeded: tuple[LiveServer, str]) -> None:
    server, task_id = seeded
    api = f"{server.url}/_emulator/console"
    detail = httpx.get(f"{api}/tasks/{task_id}").json()
    assert [e["event"] for e in detail["events"]][:2] == ["submitted", "started"]
    assert detail["request"]["Targets"][0]["Image"]["Animations"][0]["Format"] == "webp"
    [output] = detail["outputs"]
    assert output["kind"] == "image"
    webp = httpx.get(server.url + output["url"])
    assert webp.headers["content-type"] == "image/webp" and webp.content[8:12] == b"WEBP"

    listed = httpx.get(f"{api}/buckets/test-bucket/objects", params={"prefix": "video-demo/"}).json()
    assert {o["key"] for o in listed["objects"]} >= {"video-demo/brewing.mov", "video-demo/animation.webp"}
    put = httpx.put(f"{api}/buckets/test-bucket/content", params={"key": "notes/a.txt"}, content=b"hi",
                    headers={"Content-Type": "text/plain"})
    assert put.status_code == 201
    bucket = oss2.Bucket(oss2.Auth(server.access_key_id, server.access_key_secret), server.url, "test-bucket")
    assert bucket.get_object("notes/a.txt").read() == b"hi"  # what the console stored, an SDK reads
    download = httpx.get(f"{api}/buckets/test-bucket/content", params={"key": "notes/a.txt", "download": "1"})
    assert download.headers["content-disposition"].startswith("attachment")
    deleted = httpx.delete(f"{api}/buckets/test-bucket/content", params={"key": "notes/a.txt"})
    assert deleted.status_code == 200
    assert not bucket.object_exists("notes/a.txt")
    missing = httpx.get(f"{api}/buckets/test-bucket/meta", params={"key": "notes/a.txt"})
    assert missing.status_code == 404 and missing.json()["code"] == "NoSuchKey"

    # The completion notification waits in test-mns-queue; peeking twice shows it twice.
    for _ in range(2):
        messages = httpx.get(f"{api}/mns/queues/test-mns-queue/peek").json()["messages"]
        assert any(task_id in m["body"] for m in messages)
    mns = httpx.get(f"{api}/mns").json()
    assert mns["topics"][0]["subscriptions"][0]["endpoint"].endswith("test-mns-queue")
    assert httpx.get(f"{api}/buckets", params={"namespace": "nobody"}).status_code == 404


@pytest.fixture
def page(seeded: tuple[LiveServer, str]):
    with chromium_page(viewport={"width": 1180, "height": 760}) as page:
        yield page


def test_console_in_a_browser(seeded: tuple[LiveServer, str], page, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=BROWSER_TIMEOUT_MS)
    server, task_id = seeded
    page.goto(f"{server.url}/_emulator/ui")

    # Tasks: the seed example's task, Succeeded, its animated WebP rendered.
    page.click(f"tr[data-task='{task_id}']")
    expect(page.locator("#task-status")).to_have_text("Succeeded")
    preview = page.locator("#task-detail img.output-preview")
    expect(preview).to_have_count(1)
    page.wait_for_function("() => document.querySelector('#task-detail img.output-preview').naturalWidth > 0")
    assert preview.evaluate("img => img.naturalWidth") > 0
    if os.environ.get("CONSOLE_SCREENSHOT"):
        page.screenshot(path=os.environ["CONSOLE_SCREENSHOT"])

    # Faults: add one from JSON, see it listed with its counters, remove it.
    page.click("#tabs button[data-tab='faults']")
    page.fill("#fault-json", '{"id": "from-console", "service": "oss", "effect": {"throttle": true}}')
    page.click("#fault-add")
    expect(page.locator("tr[data-fault='from-console']")).to_have_count(1)
    assert [r["id"] for r in server.admin("GET", "faults")["faults"]] == ["from-console"]
    # The report beside it counts the request the rule hit.
    url = oss2.Bucket(oss2.Auth(server.access_key_id, server.access_key_secret), server.url,
                      "console-report").sign_url("GET", "k", 600)
    assert httpx.get(url).status_code == 503
    expect(page.locator("tr[data-report='from-console'] td.hits")).to_have_text("1")
    page.click("button[data-remove='from-console']")
    expect(page.locator("tr[data-fault='from-console']")).to_have_count(0)
    assert server.admin("GET", "faults")["faults"] == []

    # Clock: advance an hour.
    before = server.admin("GET", "clock")["epoch"]
    page.click("#tabs button[data-tab='clock']")
    page.fill("#clock-seconds", "3600")
    page.click("#clock-advance")
    shown = "Date.parse(document.querySelector('#clock-value').textContent) / 1000"
    page.wait_for_function(f"() => {shown} >= {before + 3600}")
    assert server.admin("GET", "clock")["epoch"] >= before + 3600

    # Buckets: upload a file through the page; an SDK reads it back.
    page.click("#tabs button[data-tab='buckets']")
    page.click("li[data-bucket='test-bucket']")
    local = tmp_path / "hello.txt"
    local.write_bytes(b"uploaded through the console")
    page.set_input_files("#upload-file", str(local))
    page.fill("#upload-key", "uploads/hello.txt")
    page.click("#upload-button")
    page.fill("#object-prefix", "uploads/")
    page.click("#object-refresh")
    expect(page.locator("tr[data-key='uploads/hello.txt']")).to_have_count(1)
    bucket = oss2.Bucket(oss2.Auth(server.access_key_id, server.access_key_secret), server.url, "test-bucket")
    assert bucket.get_object("uploads/hello.txt").read() == b"uploaded through the console"
    shutil.rmtree(tmp_path, ignore_errors=True)
