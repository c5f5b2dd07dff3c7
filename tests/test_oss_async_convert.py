"""x-oss-async-process `video/convert` and `audio/convert` through oss2 and oss-v2 against a live
server: the output decoded with PyAV (container, codecs, size, rate, frames, duration, audio), the
MNS notification, task fault rules, resume after a killed server, and refusals at submit that name
the parameter and create nothing."""

from __future__ import annotations

import io
import json
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import alibabacloud_oss_v2 as oss
import av
import oss2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulator.media.framecode import read_frame_index
from emulator.testing.server import LiveServer
from tests.oss_async_support import b64, media_bucket, subscribed_queue, v2_succeeded, wait_for
from tests.oss_clients import oss2_bucket, v2_client

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
# 192x144, 25 fps, 6 s, h264 + aac 44.1 kHz; every frame shows its index.
FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "counter_tone_192x144_25fps_6s.mp4"






def events(emulator: LiveServer, task_id: str) -> list[dict]:
    return emulator.admin("GET", f"tasks/{task_id}/events")["events"]


@dataclass
class Decoded:
    container: str
    duration: float
    video: str | None = None
    width: int = 0
    height: int = 0
    fps: float = 0.0
    frames: int = 0
    first_index: int | None = None
    audio: str | None = None
    sample_rate: int = 0
    channels: int = 0


def decode(data: bytes) -> Decoded:
    with av.open(io.BytesIO(data)) as container:
        found = Decoded(container.format.name, container.duration / 1_000_000 if container.duration else 0.0)
        if container.streams.audio:
            ctx = container.streams.audio[0].codec_context
            found.audio, found.sample_rate = ctx.codec.canonical_name, ctx.sample_rate
            found.channels = ctx.channels
        if container.streams.video:
            stream = container.streams.video[0]
            found.video = stream.codec_context.codec.canonical_name
            found.width, found.height = stream.width, stream.height
            found.fps = float(stream.average_rate or 0)
            for frame in container.decode(stream):
                if found.first_index is None:
                    found.first_index = read_frame_index(frame.to_image())
                found.frames += 1
    return found


@pytest.fixture
def bucket(emulator: LiveServer) -> oss2.Bucket:
    return media_bucket(emulator, FIXTURE)




def test_oss2_mp4_h264_window_resized_and_notified(bucket: oss2.Bucket, emulator: LiveServer) -> None:
    queue = subscribed_queue(emulator, "done", "inbox")
    process = (f"video/convert,f_mp4,vcodec_h264,s_128x96,fps_10,ss_2000,t_3000,acodec_aac,ar_22050,ac_1,"
               f"ab_64000|sys/saveas,o_{b64('out/v.mp4')},b_{b64('media')}/notify,topic_{b64('done')}")
    result = bucket.async_process_object("v.mp4", process)
    assert result.status == 200 and result.event_id and result.async_request_id
    assert result.task_id.startswith("MediaConvert-")
    task = wait_for(emulator, result.task_id)
    assert (task["status"], task["task_type"]) == ("Success", "AsyncProcessObject"), task
    stored = bucket.get_object("out/v.mp4")
    assert stored.headers["Content-Type"] == "video/mp4"
    found = decode(stored.read())
    assert "mp4" in found.container
    assert (found.video, found.width, found.height, found.fps) == ("h264", 128, 96, 10.0)
    assert found.frames == 30 and found.first_index == 50  # 2 s in at 25 fps, 3 s at 10 fps
    assert (found.audio, found.sample_rate, found.channels) == ("aac", 22050, 1)
    assert found.duration == pytest.approx(3.0, abs=0.15)
    message = json.loads(queue.receive_message(wait_seconds=10).message_body)
    assert (message["TaskId"], message["EventId"], message["Status"]) == (result.task_id, result.event_id,
                                                                          "Success")
    assert message["Targets"] == [{"URI": "oss://media/out/v.mp4"}]
    assert message["Process"].startswith("video/convert,f_mp4")
    names = [e["event"] for e in events(emulator, result.task_id)]
    assert names[0] == "submitted" and "transcoding" in names and "output written" in names
    assert "notification published" in names


def test_v2_sdk_audio_convert_and_a_remux(bucket: oss2.Bucket, emulator: LiveServer) -> None:
    client = v2_client(emulator)
    audio = client.async_process_object(oss.AsyncProcessObjectRequest(
        bucket="media", key="v.mp4",
        process=f"audio/convert,f_mp3,ab_96000,ar_44100|sys/saveas,o_{b64('a.mp3')}"))
    remux = client.async_process_object(oss.AsyncProcessObjectRequest(
        bucket="media", key="v.mp4", process=f"video/convert,f_mkv,t_2000|sys/saveas,o_{b64('v.mkv')}"))
    assert wait_for(emulator, audio.task_id)["status"] == "Success"
    assert wait_for(emulator, remux.task_id)["status"] == "Success"
    sound = decode(bucket.get_object("a.mp3").read())
    assert (sound.container, sound.video, sound.audio, sound.sample_rate) == ("mp3", None, "mp3", 44100)
    assert sound.duration == pytest.approx(6.0, abs=0.15)
    copied = decode(bucket.get_object("v.mkv").read())
    assert "matroska" in copied.container
    assert (copied.video, copied.width, copied.height, copied.audio) == ("h264", 192, 144, "aac")
    assert copied.first_index == 0 and copied.duration == pytest.approx(2.0, abs=0.3)


def test_webm_vp9_opus_and_audio_only_video_convert(bucket: oss2.Bucket, emulator: LiveServer) -> None:
    webm = bucket.async_process_object(
        "v.mp4", f"video/convert,f_webm,vcodec_vp9,acodec_opus,s_128x,t_1000|sys/saveas,o_{b64('v.webm')}")
    no_video = bucket.async_process_object(
        "v.mp4", f"video/convert,f_mp4,vn_1,acodec_aac,ac_2|sys/saveas,o_{b64('sound.mp4')}")
    assert wait_for(emulator, webm.task_id)["status"] == "Success"
    assert wait_for(emulator, no_video.task_id)["status"] == "Success"
    found = decode(bucket.get_object("v.webm").read())
    assert "webm" in found.container
    assert (found.video, found.width, found.height, found.audio) == ("vp9", 128, 96, "opus")
    assert found.frames == 25
    sound = decode(bucket.get_object("sound.mp4").read())
    assert (sound.video, sound.audio, sound.channels) == (None, "aac", 2)


CONTAINERS = {"mp4": "mp4", "mkv": "matroska", "mov": "mov", "asf": "asf", "avi": "avi", "mxf": "mxf",
              "ts": "mpegts", "flv": "flv"}


def test_every_video_container(bucket: oss2.Bucket, emulator: LiveServer) -> None:
    submitted = {f: bucket.async_process_object(
        "v.mp4", f"video/convert,f_{f},vcodec_h264,t_1000{',an_1' if f == 'mxf' else ''}"
                 f"|sys/saveas,o_{b64('all/v.' + f)}").task_id for f in CONTAINERS}
    for container, muxer in CONTAINERS.items():
        assert wait_for(emulator, submitted[container])["status"] == "Success", container
        found = decode(bucket.get_object(f"all/v.{container}").read())
        assert muxer in found.container and found.video == "h264" and found.frames == 25, found
        assert found.audio == (None if container == "mxf" else "aac"), found


def test_source_below_the_target_follows_the_options(bucket: oss2.Bucket, emulator: LiveServer) -> None:
    adaptive = bucket.async_process_object(
        "v.mp4", f"video/convert,f_mp4,vcodec_h264,s_1280x720,sopt_1,fps_50,fpsopt_1,an_1"
                 f"|sys/saveas,o_{b64('adaptive.mp4')}")
    fall = bucket.async_process_object(
        "v.mp4", f"video/convert,f_mp4,vcodec_h264,s_1280x720,sopt_2|sys/saveas,o_{b64('fall.mp4')}")
    assert wait_for(emulator, adaptive.task_id)["status"] == "Success"
    found = decode(bucket.get_object("adaptive.mp4").read())
    assert (found.width, found.height, found.fps, found.audio) == (192, 144, 25.0, None)
    task = wait_for(emulator, fall.task_id)
    assert (task["status"], task["code"]) == ("Failed", "InvalidArgument")
    finished = next(e for e in events(emulator, fall.task_id) if e["event"] == "finished")
    assert finished["message"].startswith("The parameter 's' cannot be met: the source resolution 192x144")
    assert not bucket.object_exists("fall.mp4")


def test_fault_rule_on_the_task_type(bucket: oss2.Bucket, emulator: LiveServer) -> None:
    emulator.add_fault({"service": "oss", "match": {"task_type": "video/convert"},
                        "effect": {"task_fail": {"code": "InternalError", "message": "boom"}}})
    failed = bucket.async_process_object("v.mp4", f"video/convert,f_mp4|sys/saveas,o_{b64('never.mp4')}")
    animated = bucket.async_process_object("v.mp4", f"video/animation,f_gif,inter_2000"
                                                    f"|sys/saveas,o_{b64('a.gif')}")
    assert (wait_for(emulator, failed.task_id)["code"], wait_for(emulator, animated.task_id)["status"]) \
        == ("InternalError", "Success")
    assert not bucket.object_exists("never.mp4")


REFUSALS = [
    ("video/convert,vcodec_h264", 400, "MissingArgument", "video/convert needs the parameter 'f'"),
    ("video/convert,f_wmv", 400, "InvalidArgument", "The value of 'f' of convert must be one of"),
    ("video/convert,f_mp4,vcodec_h264,s_100x7", 400, "InvalidArgument",
     "The parameter 's' of convert must have even sides in [64, 4096], not '100x7'."),
    ("video/convert,f_mp4,fps_30", 400, "InvalidArgument",
     "The parameter 'fps' of convert needs vcodec set to an encoder"),
    ("video/convert,f_mp4,vcodec_h264,fps_300", 400, "InvalidArgument",
     "The parameter 'fps' of convert must be a frame rate in (0, 240], not '300'."),
    ("video/convert,f_mp4,vcodec_h264,crf_60", 400, "InvalidArgument", "The value of 'crf' of convert"),
    ("video/convert,f_mp4,vcodec_h264,fpsopt_3", 400, "InvalidArgument",
     "The parameter 'fpsopt' of convert must be 0, 1 or 2, not '3'."),
    ("video/convert,f_webm", 400, "InvalidArgument", "The parameter 'vcodec' of convert must be vp9"),
    ("video/convert,f_mov,vcodec_vp9", 400, "InvalidArgument",
     "The parameter 'vcodec' of convert must be one of h264, h265 with f_mov, not 'vp9'."),
    ("video/convert,f_mp3,acodec_aac", 400, "InvalidArgument",
     "The parameter 'acodec' of convert must be mp3"),
    ("video/convert,f_mp4,acodec_opus,ar_44100", 400, "InvalidArgument", "The parameter 'ar' of convert"),
    ("video/convert,f_mp4,vn_1,an_1", 400, "InvalidArgument", "The parameter 'an' of convert"),
    ("video/convert,f_mp4,bogus_1", 400, "InvalidArgument", "The parameter 'bogus' of convert is not"),
    ("audio/convert,f_mp4", 400, "InvalidArgument", "The value of 'f' of convert must be one of"),
    ("audio/convert,f_mp3,vcodec_h264", 400, "InvalidArgument", "The parameter 'vcodec' of convert is not"),
    ("video/convert,f_mp4", 400, "InvalidArgument", "Asynchronous processing needs one sys/saveas."),
    ("audio/concat,f_mp3", 400, "NotImplemented", "The emulator does not serve 'audio/concat' processing."),
]


@pytest.mark.parametrize(("process", "status", "code", "message"), REFUSALS)
def test_refused_at_submit_naming_the_parameter(bucket: oss2.Bucket, emulator: LiveServer, process: str,
                                                status: int, code: str, message: str) -> None:
    if "sys/saveas" not in message:
        process += f"|sys/saveas,o_{b64('x.mp4')}"
    with pytest.raises(oss2.exceptions.OssError) as err:
        bucket.async_process_object("v.mp4", process)
    assert (err.value.status, err.value.code) == (status, code)
    assert err.value.message.startswith(message), err.value.message
    assert not [t for t in emulator.tasks() if t["service"] == "oss"]
    assert not bucket.object_exists("x.mp4")


def test_v2_sdk_sees_the_refusal(bucket: oss2.Bucket, emulator: LiveServer) -> None:
    client = v2_client(emulator)
    with pytest.raises(oss.exceptions.OperationError) as err:
        client.async_process_object(oss.AsyncProcessObjectRequest(
            bucket="media", key="v.mp4",
            process=f"video/convert,f_mp4,vcodec_h264,g_0|sys/saveas,o_{b64('x')}"))
    service_error = err.value.unwrap()
    assert (service_error.status_code, service_error.code) == (400, "InvalidArgument")
    assert "'g'" in service_error.message


VOCABULARY = ["ss", "t", "f", "vn", "vcodec", "fps", "fpsopt", "pixfmt", "s", "sopt", "scaletype", "arotate",
              "g", "vb", "vbopt", "crf", "maxrate", "bufsize", "an", "acodec", "ar", "aropt", "ac", "acopt",
              "ab", "abopt", "aq", "adepth", "sn", "num", "inter", "w", "h", "pw", "ph", "m", "thr", "sw",
              "sh", "psw", "psh", "tw", "th", "pad", "margin", "align", "o", "x", ""]
VALUES = ["", "0", "1", "2", "-1", "mp4", "webm", "mp3", "jpg", "png", "avg", "dhash", "h264", "vp9", "copy",
          "opus", "aac", "640x", "x480",
          "64x64", "1e3", "29.97", "44100", "yuva420p", "fit", "99999999999", "%00", "_", ",", "é"]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operation=st.sampled_from(["video/convert", "audio/convert", "video/snapshots", "video/sprite",
                                   "video/concat", "video/concat,f_mp4,vcodec_h264,acodec_aac/pre"]),
       pairs=st.lists(st.tuples(st.sampled_from(VOCABULARY), st.sampled_from(VALUES) | st.text(max_size=6)),
                      max_size=8),
       tail=st.sampled_from(["|sys/saveas,o_eA", "|sys/saveas,o_eA/notify,topic_dA", "", "|sys/saveas",
                             "|sys/saveas,o_eA|sys/saveas,o_eA"]))
def test_malformed_strings_never_get_a_5xx(bucket: oss2.Bucket, emulator: LiveServer, operation: str,
                                           pairs: list[tuple[str, str]], tail: str) -> None:
    # The source does not exist: a string that parses is answered 404 NoSuchKey, so no task runs.
    process = f"{operation}," + ",".join(f"{k}_{v}" for k, v in pairs) + tail
    try:
        bucket.async_process_object("missing.mp4", process)
    except oss2.exceptions.OssError as err:
        assert 400 <= err.status < 500, (process, err.status, err.code, err.message)
    else:
        raise AssertionError(f"{process!r} was accepted for a missing source")
    assert not [t for t in emulator.tasks() if t["service"] == "oss"]


def test_a_task_left_running_by_a_killed_server_is_resumed(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with LiveServer(data_dir=data) as first:
        bucket = oss2_bucket(first, "media")
        bucket.create_bucket()
        bucket.put_object_from_file("v.mp4", str(FIXTURE))
        first.add_fault({"service": "oss", "effect": {"task_stall": True}, "times": 1})
        task_id = bucket.async_process_object(
            "v.mp4", f"video/convert,f_ts,vcodec_h265,s_96x72,t_1000|sys/saveas,o_{b64('v.ts')}").task_id
        deadline = time.monotonic() + 60
        while "fault applied" not in [e["event"] for e in events(first, task_id)]:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        first.process.send_signal(signal.SIGKILL)  # the task is left Running on disk
        assert first.process.wait(10) == -signal.SIGKILL
    with LiveServer(data_dir=data) as second:
        second.admin("DELETE", "faults")
        task = wait_for(second, task_id)
        assert task["status"] == "Success", task
        assert "resumed" in [e["event"] for e in events(second, task_id)]
        found = decode(oss2_bucket(second, "media").get_object("v.ts").read())
        assert (found.container, found.video, found.width, found.height) == ("mpegts", "hevc", 96, 72)
        assert found.first_index == 0 and found.frames == 25


# ---- video/snapshots ------------------------------------------------------------------------------


def test_snapshots_numbered_and_notified(bucket: oss2.Bucket, emulator: LiveServer) -> None:
    from PIL import Image

    queue = subscribed_queue(emulator, "shots", "shots-inbox")
    result = bucket.async_process_object(
        "v.mp4", f"video/snapshots,f_jpg,ss_2000,inter_1000,num_3,w_96"
                 f"|sys/saveas,o_{b64('shots/v')}/notify,topic_{b64('shots')}")
    assert result.task_id.startswith("MediaConvert-")
    assert wait_for(emulator, result.task_id)["status"] == "Success"
    names = [f"shots/v_0_{n}.jpg" for n in (1, 2, 3)]
    assert sorted(o.key for o in oss2.ObjectIterator(bucket, prefix="shots/")) == names
    for name, index in zip(names, (50, 75, 100), strict=True):  # 2 s, 3 s, 4 s at 25 fps
        stored = bucket.get_object(name)
        assert stored.headers["Content-Type"] == "image/jpeg"
        image = Image.open(io.BytesIO(stored.read()))
        assert (image.format, image.size) == ("JPEG", (96, 72))
        assert read_frame_index(image.convert("RGB")) == index
    message = json.loads(queue.receive_message(wait_seconds=10).message_body)
    assert message["Targets"] == [{"URI": f"oss://media/{n}"} for n in names]


def test_v2_snapshots_to_one_name_keep_the_last(bucket: oss2.Bucket, emulator: LiveServer) -> None:
    from PIL import Image

    client = v2_client(emulator)
    v2_succeeded(emulator, client,
                 f"video/snapshots,f_png,ss_4000,pw_50,scaletype_crop|sys/saveas,o_{b64('last.png')}")
    image = Image.open(io.BytesIO(bucket.get_object("last.png").read()))
    assert (image.format, image.size) == ("PNG", (96, 72))
    assert read_frame_index(image.convert("RGB")) == 149  # every frame from 4 s: the last one stays
    assert [o.key for o in oss2.ObjectIterator(bucket) if o.key != "v.mp4"] == ["last.png"]


@pytest.mark.parametrize(("process", "code", "message"), [
    ("video/snapshots,w_96", "MissingArgument", "video/snapshots needs the parameter 'f'"),
    ("video/snapshots,f_gif", "InvalidArgument", "The value of 'f' of snapshots must be one of jpg, png"),
    ("video/snapshots,f_jpg,w_20", "InvalidArgument", "The value of 'w' of snapshots must be an integer in"),
    ("video/snapshots,f_jpg,pw_201", "InvalidArgument", "The value of 'pw' of snapshots"),
    ("video/snapshots,f_jpg,m_fast", "InvalidArgument", "The parameter 'm' of snapshots is not supported."),
])
def test_snapshots_refused_at_submit(bucket: oss2.Bucket, emulator: LiveServer, process: str, code: str,
                                     message: str) -> None:
    with pytest.raises(oss2.exceptions.OssError) as err:
        bucket.async_process_object("v.mp4", f"{process}|sys/saveas,o_{b64('s')}")
    assert (err.value.status, err.value.code) == (400, code)
    assert err.value.message.startswith(message), err.value.message
    assert not [t for t in emulator.tasks() if t["service"] == "oss"]


# ---- video/sprite ---------------------------------------------------------------------------------


def tiles(sheet, columns: int, rows: int, width: int, height: int, pad: int, margin: int) -> list[int]:
    """The frame index shown in each tile, row by row."""
    return [read_frame_index(sheet.convert("RGB").crop((
        margin + c * (width + pad), margin + r * (height + pad),
        margin + c * (width + pad) + width, margin + r * (height + pad) + height)))
        for r in range(rows) for c in range(columns)]


def test_sprite_sheet_laid_out_as_asked(bucket: oss2.Bucket, emulator: LiveServer) -> None:
    from PIL import Image

    result = bucket.async_process_object(
        "v.mp4", f"video/sprite,f_png,sw_64,inter_1000,tw_3,th_2,pad_2,margin_4"
                 f"|sys/saveas,o_{b64('sprites/v')}")
    assert wait_for(emulator, result.task_id)["status"] == "Success"
    sheet = Image.open(io.BytesIO(bucket.get_object("sprites/v_0_1.png").read()))
    assert (sheet.format, sheet.size) == ("PNG", (3 * 64 + 2 * 2 + 2 * 4, 2 * 48 + 2 + 2 * 4))
    assert tiles(sheet, 3, 2, 64, 48, 2, 4) == [0, 25, 50, 75, 100, 125]
    assert not bucket.object_exists("sprites/v_0_2.png")


def test_v2_sprite_average_mode_over_two_sheets(bucket: oss2.Bucket, emulator: LiveServer) -> None:
    from PIL import Image

    client = v2_client(emulator)
    v2_succeeded(emulator, client,
                 f"video/sprite,f_jpg,m_avg,num_4,psw_50,tw_2,th_1,pad_0,margin_0|sys/saveas,o_{b64('avg')}")
    shown = []
    for n in (1, 2):
        sheet = Image.open(io.BytesIO(bucket.get_object(f"avg_0_{n}.jpg").read()))
        assert (sheet.format, sheet.size) == ("JPEG", (192, 72))
        shown += tiles(sheet, 2, 1, 96, 72, 0, 0)
    assert shown == [18, 56, 93, 131]  # the middle of each quarter of 6 s at 25 fps


def test_sprite_refusals_and_a_sheet_too_large(bucket: oss2.Bucket, emulator: LiveServer) -> None:
    for process, parameter in (("video/sprite,f_jpg,m_dhash", "'m'"), ("video/sprite,f_jpg,m_avg", "'num'"),
                               ("video/sprite,f_jpg,tw_101", "'tw'"), ("video/sprite,sw_64", "'f'")):
        with pytest.raises(oss2.exceptions.OssError) as err:
            bucket.async_process_object("v.mp4", f"{process}|sys/saveas,o_{b64('s')}")
        assert err.value.status == 400 and parameter in err.value.message, err.value.message
    assert not [t for t in emulator.tasks() if t["service"] == "oss"]
    result = bucket.async_process_object("v.mp4",
                                         f"video/sprite,f_jpg,sw_4096,tw_5|sys/saveas,o_{b64('big')}")
    task = wait_for(emulator, result.task_id)
    assert (task["status"], task["code"]) == ("Failed", "InvalidArgument")
    assert not bucket.object_exists("big_0_1.jpg")


# ---- video/concat ---------------------------------------------------------------------------------

SMALL = FIXTURE.parent / "counter_64x48_5fps_4s.mp4"  # no audio
BIG = FIXTURE.parent / "counter_320x240_10fps_12s_gop10.mp4"  # no audio
JOINED = (f"f_mp4,vcodec_h264,fps_10,acodec_aac,ac_1,ar_44100,align_1/pre,o_{b64('small.mp4')},ss_1000,"
          f"t_1000/sur,o_{b64('big.mp4')},t_1000")


def frame_indices(data: bytes, positions: tuple[int, ...]) -> list[int]:
    with av.open(io.BytesIO(data)) as container:
        images = [f.to_image() for f in container.decode(container.streams.video[0])]
    return [read_frame_index(images[p]) for p in positions]


def test_concat_pre_source_sur_aligned_on_the_source(bucket: oss2.Bucket, emulator: LiveServer) -> None:
    bucket.put_object_from_file("small.mp4", str(SMALL))
    bucket.put_object_from_file("big.mp4", str(BIG))
    result = bucket.async_process_object("v.mp4", f"video/concat,{JOINED}|sys/saveas,o_{b64('joined.mp4')}")
    assert result.task_id.startswith("MediaConvert-")
    assert wait_for(emulator, result.task_id)["status"] == "Success"
    data = bucket.get_object("joined.mp4").read()
    found = decode(data)
    assert (found.video, found.width, found.height, found.fps) == ("h264", 192, 144, 10.0)
    assert found.frames == 80 and found.duration == pytest.approx(8.0, abs=0.15)  # 1 s + 6 s + 1 s
    assert (found.audio, found.channels, found.sample_rate) == ("aac", 1, 44100)
    # small.mp4 from 1 s (5 fps: frame 5), then v.mp4 from its start, then big.mp4 from its start
    assert frame_indices(data, (0, 10, 40, 70)) == [5, 0, 75, 0]


def test_v2_concat_cut_to_its_own_window(bucket: oss2.Bucket, emulator: LiveServer) -> None:
    bucket.put_object_from_file("small.mp4", str(SMALL))
    bucket.put_object_from_file("big.mp4", str(BIG))
    client = v2_client(emulator)
    v2_succeeded(
        emulator, client, f"video/concat,ss_6000,t_1500,{JOINED}|sys/saveas,o_{b64('cut.mp4')}")
    data = bucket.get_object("cut.mp4").read()
    found = decode(data)
    assert found.frames == 15 and found.duration == pytest.approx(1.5, abs=0.15)
    assert frame_indices(data, (0, 10)) == [125, 0]  # 5 s into v.mp4, then big.mp4's start


def test_concat_refusals_and_a_missing_part(bucket: oss2.Bucket, emulator: LiveServer) -> None:
    for process, code, parameter in (
            (f"video/concat,f_mp4/pre,o_{b64('x.mp4')}", "InvalidArgument", "'vcodec'"),
            ("video/concat,f_mp4,vcodec_h264,acodec_aac/mid,o_eA", "InvalidArgument", "'mid'"),
            ("video/concat,f_mp4,vcodec_h264,acodec_aac/pre,ss_10", "MissingArgument", "'o'"),
            ("video/concat,f_mp4,vcodec_h264,acodec_aac,align_2/pre,o_eA", "InvalidArgument", "'align'"),
            ("video/concat,f_mp4,vcodec_h264,acodec_aac" + "/sur,o_eA" * 11, "InvalidArgument", "at most 11"),
            ("video/concat,f_mp4,vcodec_h264,acodec_aac,bogus_1/pre,o_eA", "InvalidArgument", "'bogus'")):
        with pytest.raises(oss2.exceptions.OssError) as err:
            bucket.async_process_object("v.mp4", f"{process}|sys/saveas,o_{b64('c.mp4')}")
        assert (err.value.status, err.value.code) == (400, code)
        assert parameter in err.value.message, err.value.message
    assert not [t for t in emulator.tasks() if t["service"] == "oss"]
    result = bucket.async_process_object(
        "v.mp4", f"video/concat,f_mp4,vcodec_h264,acodec_aac/pre,o_{b64('gone.mp4')}"
                 f"|sys/saveas,o_{b64('c.mp4')}")
    task = wait_for(emulator, result.task_id)
    assert (task["status"], task["code"]) == ("Failed", "NoSuchKey")
    assert not bucket.object_exists("c.mp4")
