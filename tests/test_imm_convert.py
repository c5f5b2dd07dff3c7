"""Image.Animations / Snapshots / Sprites semantics through the official SDKs against a live
emulator. The source (fixtures/counter_320x240_10fps_12s_gop10.mp4: 120 frames, 10 fps) shows its
frame index in every frame, so each output frame tells which source frame it is."""

from __future__ import annotations

import io
import subprocess

import pytest
from PIL import Image

from emulator.media.ffmpeg import ffmpeg_exe
from emulator.media.framecode import read_frame_index
from emulator.testing.server import LiveServer
from tests.imm_support import FIXTURES, animation_frames, convert, wait_for_task, world

GIF = "oss://media/out/anim.gif"
WEBP = "oss://media/out/anim.webp"


def animation(**fields: object) -> list[dict]:
    return [{"Image": {"Animations": [fields]}}]


@pytest.mark.parametrize("fields, size, indices, duration", [
    # StartTime + k*Interval, Number frames, FrameRate sets the delay; one side keeps the aspect.
    ({"Format": "gif", "URI": GIF, "StartTime": 1, "Interval": 0.5, "Number": 6, "FrameRate": 4,
      "Width": 160}, (160, 120), [10, 15, 20, 25, 30, 35], 250),
    # Number 0 = to the end; FrameRate defaults to 1/Interval.
    ({"Format": "webp", "URI": WEBP, "Interval": 2, "Width": 0.25, "Height": 60},
     (80, 60), [0, 20, 40, 60, 80, 100], 2000),
    # No Interval: every source frame from StartTime; FrameRate defaults to the source's.
    ({"Format": "gif", "URI": GIF, "StartTime": 11, "Height": 0.5}, (160, 120), list(range(110, 120)), 100),
    # Samples that fall between frames take the frame being shown then (not the next one).
    ({"Format": "webp", "URI": WEBP, "StartTime": 0.05, "Interval": 0.33, "Number": 4, "FrameRate": 10},
     (320, 240), [0, 3, 7, 10], 100),
])
def test_animation_sampling_timing_and_size(emulator: LiveServer, fields: dict, size: tuple[int, int],
                                            indices: list[int], duration: int) -> None:
    client, bucket = world(emulator)
    task = wait_for_task(client, "p", convert(client, animation(**fields)))
    assert task.status == "Succeeded", task.message
    image, got, durations = animation_frames(bucket.get_object(fields["URI"][len("oss://media/"):]).read())
    assert image.format == fields["Format"].upper()
    assert image.size == size
    assert got == indices
    assert set(durations) == {duration}


def test_source_window_limits_and_offsets_sampling(emulator: LiveServer) -> None:
    client, bucket = world(emulator)
    task_id = convert(client, animation(Format="gif", URI=GIF, StartTime=0.5, Interval=1),
                      sources=[{"URI": "oss://media/in/counter.mp4", "StartTime": 2, "Duration": 3}])
    assert wait_for_task(client, "p", task_id).status == "Succeeded"
    _, got, _ = animation_frames(bucket.get_object("out/anim.gif").read())
    assert got == [25, 35, 45]


@pytest.mark.parametrize("scale_type, size, content", [
    ("stretch", (100, 100), (0, 0, 100, 100)),
    ("crop", (100, 100), (-16, 0, 117, 100)),  # scaled to 133x100, centre cut
    ("fill", (100, 100), (0, 12, 100, 87)),  # scaled to 100x75, black bars above and below
    ("fit", (100, 75), (0, 0, 100, 75)),  # scaled to 100x75, no bars
])
def test_scale_types(emulator: LiveServer, scale_type: str, size: tuple[int, int],
                     content: tuple[int, int, int, int]) -> None:
    client, bucket = world(emulator)
    task_id = convert(client, animation(Format="gif", URI=GIF, Interval=3, Number=4, Width=100, Height=100,
                                        ScaleType=scale_type))
    assert wait_for_task(client, "p", task_id).status == "Succeeded"
    image, got, _ = animation_frames(bucket.get_object("out/anim.gif").read(), content)
    assert image.size == size
    assert got == [0, 30, 60, 90]
    if scale_type == "fill":
        top_bar = image.convert("RGB").getpixel((50, 3))
        assert max(top_bar) < 40


def test_gif_palette_is_generated_for_the_frames(emulator: LiveServer) -> None:
    client, bucket = world(emulator)
    task_id = convert(client, animation(Format="gif", URI=GIF, Interval=4))
    assert wait_for_task(client, "p", task_id).status == "Succeeded"
    image = Image.open(io.BytesIO(bucket.get_object("out/anim.gif").read()))
    palette = image.getpalette()[: 3 * 256]
    colours = {tuple(palette[i:i + 3]) for i in range(0, len(palette), 3)}
    # ffmpeg's default GIF palette is the fixed 6x6x6 web cube (+ greys); the generated one holds
    # the frames' own colours, e.g. the fixture's (20, 40, 90) background.
    assert any(abs(r - 20) + abs(g - 40) + abs(b - 90) < 12 for r, g, b in colours)


def test_a_still_scene_makes_an_animation_too(emulator: LiveServer, tmp_path) -> None:
    """Identical sampled frames are merged by libwebp, down to one still picture: the task still
    succeeds and meters every sampled frame (it used to fail, counting the frames in the file)."""
    still = tmp_path / "still.mp4"
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
                    "color=c=0x204060:s=64x48:r=10:d=2", "-c:v", "libx264", "-pix_fmt", "yuv420p",
                    str(still)], check=True)
    client, bucket = world(emulator)
    bucket.put_object_from_file("in/still.mp4", str(still))
    for fmt, stored in (("webp", 1), ("gif", 4)):
        uri = f"oss://media/out/still.{fmt}"
        task = wait_for_task(client, "p", convert(client, animation(Format=fmt, URI=uri, Interval=0.5),
                                                  sources=[{"URI": "oss://media/in/still.mp4"}]))
        assert task.status == "Succeeded", task.message
        image = Image.open(io.BytesIO(bucket.get_object(f"out/still.{fmt}").read()))
        assert (image.format, image.size, getattr(image, "n_frames", 1)) == (fmt.upper(), (64, 48), stored)
    billing = emulator.admin("GET", "billing")["imm"]["items"]
    assert [i["quantity"] for i in billing if i["billable_item"] == "MediaAnimation"] == [8]


def test_snapshots_and_uri_placeholders(emulator: LiveServer) -> None:
    client, bucket = world(emulator)
    targets = [{"Image": {"Snapshots": [
        {"Format": "jpg", "URI": "oss://{bucket}/snaps/{dirname}/{barename}-{tags.run}-{index}.{autoext}",
         "StartTime": 1, "Interval": 2, "Number": 3},
        {"Format": "png", "URI": "oss://media/snaps/t{t_year}-{streamindex}-{index}.png", "StartTime": 11.5,
         "Width": 0.5}]}}]
    task = wait_for_task(client, "p", convert(client, targets, Tags={"run": "r1"}))
    assert task.status == "Succeeded", task.message
    for index, frame in zip([1, 2, 3], [10, 30, 50], strict=True):
        image = Image.open(io.BytesIO(bucket.get_object(f"snaps/in/counter-r1-{index}.jpg").read()))
        assert (image.format, image.size) == ("JPEG", (320, 240))
        assert read_frame_index(image.convert("RGB")) == frame
    year = task.start_time[:4]
    for index, frame in zip(range(1, 6), range(115, 120), strict=True):
        image = Image.open(io.BytesIO(bucket.get_object(f"snaps/t{year}-0-{index}.png").read()))
        assert (image.format, image.size) == ("PNG", (160, 120))
        assert read_frame_index(image.convert("RGB")) == frame


def counter_as(bucket, tmp_path, name: str, seconds: float, encoding: list[str]) -> str:
    """The frame-numbered fixture's first `seconds`, encoded with `encoding` into a file `name`,
    uploaded as in/<name>; its URI."""
    source = tmp_path / name
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-i",
                    str(FIXTURES / "counter_320x240_10fps_12s_gop10.mp4"), "-t", str(seconds), *encoding,
                    str(source)], check=True)
    bucket.put_object_from_file(f"in/{name}", str(source))
    return f"oss://media/in/{name}"


@pytest.mark.parametrize("name, encoding", [
    ("mjpeg.avi", ["-c:v", "mjpeg", "-q:v", "2"]),  # AVI counts time in frames
    ("tb.mp4", ["-c:v", "libx264", "-g", "5", "-video_track_timescale", "10"]),  # an MP4 that does too
])
def test_sources_whose_time_base_is_the_frame_rate(emulator: LiveServer, tmp_path, name: str,
                                                   encoding: list[str]) -> None:
    """Seeks land on the planned keyframe even where the demuxer rounds `-ss` to whole frames
    (half a frame past a keyframe used to land on the next frame)."""
    client, bucket = world(emulator)
    uri = counter_as(bucket, tmp_path, name, 2, encoding)
    snapshots = {"Format": "png", "URI": "oss://media/s/{index}.png", "StartTime": 0.7, "Interval": 0.6}
    targets = [{"Image": {"Animations": [{"Format": "gif", "URI": GIF, "Interval": 0.3}],
                          "Snapshots": [snapshots]}}]
    task = wait_for_task(client, "p", convert(client, targets, sources=[{"URI": uri}]))
    assert task.status == "Succeeded", task.message
    assert animation_frames(bucket.get_object("out/anim.gif").read())[1] == [0, 3, 6, 9, 12, 15, 18]
    shown = [read_frame_index(Image.open(io.BytesIO(bucket.get_object(f"s/{i}.png").read())).convert("RGB"))
             for i in (1, 2, 3)]
    assert shown == [7, 13, 19]


@pytest.mark.parametrize("name, encoding", [
    ("h264.ts", ["-c:v", "libx264", "-g", "6"]),  # MPEG-TS
    ("mpeg2.mpg", ["-c:v", "mpeg2video", "-g", "6", "-q:v", "2"]),  # MPEG-PS
])
def test_sources_without_an_index(emulator: LiveServer, tmp_path, name: str, encoding: list[str]) -> None:
    """Frames come out right where ffmpeg cannot seek to a keyframe (it used to land past one, and
    the decoder started at the next: frames 12.. instead of 10..)."""
    client, bucket = world(emulator)
    uri = counter_as(bucket, tmp_path, name, 3, encoding)
    targets = [{"Image": {"Animations": [{"Format": "gif", "URI": GIF, "StartTime": 1.05, "Interval": 0.1,
                                          "Number": 6}]}}]
    task = wait_for_task(client, "p", convert(client, targets, sources=[{"URI": uri}]))
    assert task.status == "Succeeded", task.message
    assert animation_frames(bucket.get_object("out/anim.gif").read())[1] == [10, 11, 12, 13, 14, 15]
    for t_ms, frame in ((120, 1), (1500, 15), (2250, 22)):  # OSS video/snapshot reads the same way
        shot = bucket.get_object(f"in/{name}", process=f"video/snapshot,t_{t_ms},f_png").read()
        assert read_frame_index(Image.open(io.BytesIO(shot)).convert("RGB")) == frame


@pytest.mark.parametrize("name", ["gop6.mkv", "gop6.flv", "gop6.ts", "gop6.avi"])
def test_keyframes_of_any_container(emulator: LiveServer, tmp_path, name: str) -> None:
    """Snapshots in keyframe mode and OSS's m_fast find the real keyframes outside MP4 too (every
    frame used to count as one there)."""
    codec = ["-c:v", "mpeg4", "-q:v", "2"] if name.endswith(".avi") else ["-c:v", "libx264"]
    client, bucket = world(emulator)
    uri = counter_as(bucket, tmp_path, name, 3, [*codec, "-g", "6", "-keyint_min", "6", "-sc_threshold", "0"])
    keyframes = {"Format": "png", "URI": "oss://media/k/{index}.png", "Mode": "keyframe"}
    targets = [{"Image": {"Snapshots": [keyframes]}}]
    task = wait_for_task(client, "p", convert(client, targets, sources=[{"URI": uri}]))
    assert task.status == "Succeeded", task.message
    shown = [read_frame_index(Image.open(io.BytesIO(bucket.get_object(o.key).read())).convert("RGB"))
             for o in bucket.list_objects("k/").object_list]
    assert sorted(shown) == [0, 6, 12, 18, 24]
    shot = bucket.get_object(f"in/{name}", process="video/snapshot,t_1500,f_png,m_fast").read()
    assert read_frame_index(Image.open(io.BytesIO(shot)).convert("RGB")) == 12


@pytest.mark.parametrize("fields, frames", [
    ({"Mode": "keyframe", "StartTime": 5.5, "Number": 3}, [60, 70, 80]),  # keyframes every second
    ({"Mode": "keyframe", "StartTime": 9}, [90, 100, 110]),
    ({"Mode": "average", "Number": 4, "Interval": 0.1}, [15, 45, 75, 105]),  # Interval is ignored
])
def test_snapshot_modes(emulator: LiveServer, fields: dict, frames: list[int]) -> None:
    client, bucket = world(emulator)
    targets = [{"Image": {"Snapshots": [{"Format": "jpg", "URI": "oss://media/m/{index}.jpg", **fields}]}}]
    task = wait_for_task(client, "p", convert(client, targets))
    assert task.status == "Succeeded", task.message
    keys = sorted((o.key for o in bucket.list_objects("m/").object_list), key=lambda k: int(k[2:-4]))
    assert keys == [f"m/{i}.jpg" for i in range(1, len(frames) + 1)]
    assert [read_frame_index(Image.open(io.BytesIO(bucket.get_object(k).read())).convert("RGB"))
            for k in keys] == frames


def test_sprites_tile_frames_with_pad_and_margin(emulator: LiveServer) -> None:
    client, bucket = world(emulator)
    targets = [{"Image": {"Sprites": [{
        "Format": "png", "URI": "oss://media/sprites/s-{index}.png", "Interval": 1, "Number": 5,
        "ScaleWidth": 0.25, "ScaleHeight": 0.25, "TileWidth": 2, "TileHeight": 2, "Pad": 4, "Margin": 3}]}}]
    assert wait_for_task(client, "p", convert(client, targets)).status == "Succeeded"
    found = []
    for sheet in (1, 2):
        image = Image.open(io.BytesIO(bucket.get_object(f"sprites/s-{sheet}.png").read())).convert("RGB")
        assert image.size == (3 + 80 + 4 + 80 + 3, 3 + 60 + 4 + 60 + 3)
        for row in range(2):
            for column in range(2):
                left, top = 3 + column * 84, 3 + row * 64
                found.append(read_frame_index(image, (left, top, left + 80, top + 60)))
    assert found[:5] == [0, 10, 20, 30, 40]
    assert not bucket.object_exists("sprites/s-3.png")
