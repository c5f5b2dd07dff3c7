"""DetectMediaMeta through the official SDK against a live emulator: the documented response for
audio/video objects, and IMM's errors for everything else."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from alibabacloud_imm20200930 import models as m
from alibabacloud_tea_openapi.exceptions import ClientException

from emulator.media.ffmpeg import ffmpeg_exe
from emulator.testing.server import LiveServer
from tests.imm_support import FIXTURES, convert, wait_for_task, world

TONE = "counter_tone_192x144_25fps_6s.mp4"


def detect(client, uri: str, project: str = "p"):
    return client.detect_media_meta(m.DetectMediaMetaRequest(project_name=project, source_uri=uri)).body


def test_video_with_audio(emulator: LiveServer) -> None:
    client, bucket = world(emulator)
    bucket.put_object_from_file("in/tone.mp4", str(FIXTURES / TONE))
    body = detect(client, "oss://media/in/tone.mp4")
    assert body.request_id
    assert (body.format_name, body.format_long_name) == ("mov,mp4,m4a,3gp,3g2,mj2", "QuickTime / MOV")
    assert body.size == (FIXTURES / TONE).stat().st_size
    assert body.duration == pytest.approx(6.0, abs=0.03)
    assert (body.stream_count, body.video_width, body.video_height) == (2, 192, 144)
    assert 100_000 < body.bitrate < 300_000
    [video] = body.video_streams
    assert (video.index, video.codec_name, video.codec_tag, video.codec_tag_string) == (
        0, "h264", "0x31637661", "avc1")
    assert (video.width, video.height, video.pixel_format, video.profile) == (192, 144, "yuv420p", "High")
    assert (video.frame_rate, video.average_frame_rate, video.frame_count) == ("25/1", "25/1", 150)
    assert (video.has_bframes, video.bit_depth, video.display_aspect_ratio) == (2, 8, "4:3")
    assert video.duration == pytest.approx(6.0)
    [audio] = body.audio_streams
    assert (audio.index, audio.codec_name, audio.codec_tag_string) == (1, "aac", "mp4a")
    assert (audio.sample_rate, audio.channels, audio.channel_layout, audio.sample_format) == (
        44100, 2, "stereo", "fltp")
    assert body.subtitles == []
    billing = emulator.admin("GET", "billing")["imm"]["items"]
    assert [(i["billable_item"], i["quantity"], i["unit"]) for i in billing] == [
        ("DetectMediaMeta", 1, "request")]


def test_audio_only_and_rotated_video(emulator: LiveServer, tmp_path: Path) -> None:
    client, bucket = world(emulator)
    audio, rotated = tmp_path / "a.mp3", tmp_path / "r.mp4"
    source = str(FIXTURES / TONE)
    subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-i", source, "-vn", "-c:a", "libmp3lame",
                    "-ar", "22050", "-ac", "1", str(audio)], check=True)
    subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-display_rotation", "-90", "-i", source,
                    "-c", "copy", str(rotated)], check=True)
    bucket.put_object_from_file("in/a.mp3", str(audio))
    bucket.put_object_from_file("in/r.mp4", str(rotated))
    body = detect(client, "oss://media/in/a.mp3")
    assert (body.format_name, body.video_streams, body.video_width) == ("mp3", [], None)
    [stream] = body.audio_streams
    assert (stream.codec_name, stream.sample_rate, stream.channels) == ("mp3", 22050, 1)
    assert body.duration == pytest.approx(6.0, abs=0.1)
    [video] = detect(client, "oss://media/in/r.mp4").video_streams
    assert (video.width, video.height, video.rotate) == (192, 144, "90")


@pytest.mark.parametrize("uri, project, code, words", [
    ("oss://media/in/nothing.mp4", "p", "ResourceNotFound", "Object"),
    ("oss://nobucket/in/x.mp4", "p", "ResourceNotFound", "Object"),
    ("oss://media/in/not_video.txt", "p", "InvalidArgument", "SourceURI"),
    ("oss://media/in/corrupt.mp4", "p", "InvalidArgument", "SourceURI"),
    ("http://media/in/x.mp4", "p", "InvalidArgument", "SourceURI"),
    ("oss://media/in/not_video.txt", "nope", "ResourceNotFound", "Project"),
])
def test_errors(emulator: LiveServer, uri: str, project: str, code: str, words: str) -> None:
    client, bucket = world(emulator)
    for name in ("not_video.txt", "corrupt.mp4"):
        bucket.put_object_from_file(f"in/{name}", str(FIXTURES / name))
    with pytest.raises(ClientException) as err:
        detect(client, uri, project)
    assert (err.value.code, err.value.status_code) == (code, 400)
    assert words in err.value.message


def _cut_before_its_codec(tmp_path: Path) -> Path:
    """An MP4 with its index at the end, cut where the index still names the video stream but
    no longer its codec."""
    import av

    whole = tmp_path / "late.mp4"
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-i",
                    str(FIXTURES / "counter_64x48_5fps_4s.mp4"), "-c", "copy", str(whole)], check=True)
    data, cut = whole.read_bytes(), tmp_path / "cut.mp4"
    for end in range(len(data) - 1, 0, -1):
        cut.write_bytes(data[:end])
        try:
            with av.open(str(cut)) as container:
                if any(s.codec_context is None for s in container.streams.video):
                    return cut
        except av.FFmpegError:
            continue
    raise AssertionError("no cut leaves a video stream without its codec")


def test_a_cut_file_is_refused_not_an_internal_error(emulator: LiveServer, tmp_path: Path) -> None:
    client, bucket = world(emulator)
    bucket.put_object_from_file("in/cut.mp4", str(_cut_before_its_codec(tmp_path)))
    with pytest.raises(ClientException) as err:
        detect(client, "oss://media/in/cut.mp4")
    assert (err.value.code, err.value.status_code) == ("InvalidArgument", 400)
    assert "SourceURI" in err.value.message and "no audio or video stream can be read" in err.value.message
    task = wait_for_task(client, "p", convert(client, [{"URI": "oss://media/out/x", "Container": "mkv"}],
                                              sources=[{"URI": "oss://media/in/cut.mp4"}]))
    assert (task.status, task.code) == ("Failed", "InvalidArgument")
    assert "no audio or video stream can be read" in task.message
