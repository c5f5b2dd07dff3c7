"""Where inputs may come from and the media rules, against a live emulator with a user alias
file and an allowed loopback file server; nothing outside is ever fetched."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
import yaml
from dashscope_support import SAMPLE_IMAGE, SAMPLE_VIDEO, fetch_video, seed_body, submit, wait_for
from PIL import Image

from emulator.testing.server import LiveServer

ALIAS = "https://media.example.com/"
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "dashscope"


def make_media(root: Path) -> None:
    """The committed rule breakers (fixtures/make_dashscope_assets.py), and an image over 5 MB."""
    for path in FIXTURES.iterdir():
        shutil.copy(path, root / path.name)
    noise = np.random.default_rng(0).integers(0, 256, (1400, 1400, 3), np.uint8)
    Image.fromarray(noise).save(root / "big.png", compress_level=0)


class EndlessHandler(SimpleHTTPRequestHandler):
    """Serves files, and /endless.png as a body that never ends (only a limit stops it)."""

    def do_GET(self) -> None:
        if self.path != "/endless.png":
            return super().do_GET()
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()
        chunk = b"\0" * 65536
        try:
            while True:
                self.wfile.write(chunk)
        except OSError:
            return

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def media_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("dashscope-media")
    make_media(root)
    aliases = {ALIAS + p.name: p.name for p in root.iterdir()}
    (root / "aliases.yaml").write_text(yaml.safe_dump(aliases))
    return root


@pytest.fixture(scope="module")
def file_server(media_dir: Path) -> Iterator[str]:
    handler = lambda *a, **k: EndlessHandler(*a, directory=str(media_dir), **k)  # noqa: E731
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def custom_server(media_dir: Path, file_server: str) -> Iterator[LiveServer]:
    env = {"EMULATOR_DASHSCOPE_URL_ALIASES": str(media_dir / "aliases.yaml"),
           "EMULATOR_DASHSCOPE_FETCH_HOSTS": file_server}
    with LiveServer(env=env) as server:
        yield server


@pytest.fixture
def custom(custom_server: LiveServer) -> LiveServer:
    custom_server.reset()
    return custom_server


def failure(server: LiveServer, **inputs) -> tuple[str, str]:
    server.advance(1)  # stay under 5 submits a second: these tasks fail fast
    response = submit(server.url, seed_body(**inputs))
    assert response.status_code == 200, response.text
    output = wait_for(server.url, response.json()["output"]["task_id"])["output"]
    assert output["task_status"] == "FAILED", output
    return output["code"], output["message"]


IMAGE_CASES = [
    ("small.png", "InvalidFile.Resolution"),
    ("wide.png", "InvalidFile.AspectRatio"),
    ("still.gif", "InvalidFile.Format"),
    ("garbage.jpg", "InvalidImage.FileFormat"),
    ("big.png", "InvalidFile.Size"),
]
VIDEO_CASES = [
    ("short.mp4", "InvalidFile.Duration"),
    ("tiny.mp4", "InvalidFile.Resolution"),
    ("text.mp4", "InvalidFile.Openerror"),
    ("clip.mkv", "InvalidFile.Format"),
]


def test_image_rules(custom):
    for name, code in IMAGE_CASES:
        assert failure(custom, image_url=ALIAS + name)[0] == code, name
    assert failure(custom, image_url=ALIAS + "big.png")[1] == (
        "Invalid file size, The image file size must be smaller than 5MB.")


def test_video_rules(custom):
    for name, code in VIDEO_CASES:
        assert failure(custom, video_url=ALIAS + name)[0] == code, name
    assert failure(custom, video_url=ALIAS + "short.mp4")[1] == (
        "Invalid file duration. The file duration must be 2 s ~ 30 s.")


def test_only_allowed_places_are_fetched(custom, file_server):
    refused = "http://127.0.0.1:9/person.jpg"  # loopback, but not an allowed host
    assert failure(custom, image_url=refused) == (
        "InvalidURL.ConnectionRefused", f"Connection to {refused} refused, please provide available URL")
    assert failure(custom, image_url="https://help-static-aliyun-doc.aliyuncs.com/other.jpeg")[0] == (
        "InvalidURL.ConnectionRefused")
    missing = f"http://{file_server}/missing.png"
    assert failure(custom, image_url=missing)[0] == "InvalidParameter.DataInspection"
    # The size limit stops a download that would never end.
    assert failure(custom, image_url=f"http://{file_server}/endless.png")[0] == "InvalidFile.Size"


def test_allowed_loopback_and_alias_inputs_render(custom, file_server, tmp_path):
    """good.mp4 (3 s at 25 fps) fetched from the loopback server drives a 75-frame render sized
    from the seed's portrait image."""
    response = submit(custom.url, seed_body(video_url=f"http://{file_server}/good.mp4", watermark=True))
    done = wait_for(custom.url, response.json()["output"]["task_id"])
    assert done["output"]["task_status"] == "SUCCEEDED", done
    assert done["usage"]["video_duration"] == 3.0
    video = fetch_video(done["output"]["results"]["video_url"], tmp_path / "result.mp4")
    assert (video.video_codec, video.width, video.height, video.frame_count) == ("h264", 480, 640, 75)
    assert video.duration == 3.0


def test_checks_can_run_at_submit(media_dir):
    env = {"EMULATOR_DASHSCOPE_URL_ALIASES": str(media_dir / "aliases.yaml"),
           "EMULATOR_DASHSCOPE_CHECK_INPUTS_AT_SUBMIT": "true"}
    with LiveServer(env=env) as server:
        response = submit(server.url, seed_body(image_url=ALIAS + "small.png"))
        assert response.status_code == 400
        assert response.json()["code"] == "InvalidFile.Resolution"
        good = seed_body(image_url=SAMPLE_IMAGE, video_url=SAMPLE_VIDEO)
        assert submit(server.url, good).status_code == 200


def test_fetch_hosts_keep_only_loopback_names(media_dir, file_server):
    """EMULATOR_DASHSCOPE_FETCH_HOSTS takes `localhost` (a loopback name) but drops a DNS name,
    even one that would resolve to 127.0.0.1: it is never looked up, the input is refused."""
    port = file_server.rsplit(":", 1)[1]
    env = {"EMULATOR_DASHSCOPE_FETCH_HOSTS": f"localhost:{port},127.0.0.1.nip.io:{port}"}
    with LiveServer(env=env) as server:
        by_name = f"http://localhost:{port}/good.mp4"
        task_id = submit(server.url, seed_body(video_url=by_name)).json()["output"]["task_id"]
        done = wait_for(server.url, task_id)
        assert done["output"]["task_status"] == "SUCCEEDED", done
        assert done["usage"]["video_duration"] == 3.0  # good.mp4 was fetched by that name
        dns = f"http://127.0.0.1.nip.io:{port}/good.mp4"
        task_id = submit(server.url, seed_body(video_url=dns)).json()["output"]["task_id"]
        failed = wait_for(server.url, task_id)
        assert (failed["output"]["code"], failed["output"]["message"]) == (
            "InvalidURL.ConnectionRefused", f"Connection to {dns} refused, please provide available URL")
