"""CreateMediaConvertTask transcoding targets through the official SDK against a live emulator;
every output is decoded (codecs, size, frame rate, duration, audio, which source frame shows)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from alibabacloud_imm20200930 import models as m
from alibabacloud_tea_openapi.exceptions import ClientException

from emulator.media.ffmpeg import ffmpeg_exe, probe
from emulator.testing.server import LiveServer
from tests.imm_support import FIXTURES, convert, imm_client, wait_for_task, world
from tests.media_check import decode, decode_bytes, frame_indices_at

TONE = "counter_tone_192x144_25fps_6s.mp4"  # 150 frames at 25 fps, stereo 44.1 kHz AAC
TONE_URI = "oss://media/in/tone.mp4"
COUNTER_URI = "oss://media/in/counter.mp4"  # 320x240, 10 fps, 120 frames, no audio


def tone_world(server: LiveServer):
    client, bucket = world(server)
    bucket.put_object_from_file("in/tone.mp4", str(FIXTURES / TONE))
    return client, bucket


def fetch(bucket, key: str, tmp: Path) -> Path:
    path = tmp / key.replace("/", "_")
    bucket.get_object_to_file(key, str(path))
    return path


def succeeded(client, task_id: str):
    task = wait_for_task(client, "p", task_id)
    assert (task.status, task.code) == ("Succeeded", ""), task.message
    return task


def test_h264_mp4_with_resolution_frame_rate_and_crf(emulator: LiveServer, tmp_path: Path) -> None:
    client, bucket = world(emulator)
    succeeded(client, convert(client, [{
        "URI": "oss://media/out/small", "Container": "mp4",
        "Video": {"TranscodeVideo": {"Codec": "h264", "Resolution": "160x120", "FrameRate": 5, "CRF": 30,
                                     "GOPSize": 10}}}]))
    path = fetch(bucket, "out/small.mp4", tmp_path)  # no extension in URI: Container's is added
    got = decode(path)
    assert (got.format.split(",")[0], got.video_codec, got.width, got.height) == ("mov", "h264", 160, 120)
    assert got.fps == 5 and got.frames == 60
    assert got.video_duration == pytest.approx(12, abs=0.2)
    assert got.audio_codec is None  # the source has no audio
    # At 5 fps every other source frame (10 fps) is kept.
    assert frame_indices_at(path, [0, 3.0, 11.8]) == [0, 30, 118]
    assert bucket.head_object("out/small.mp4").content_type == "video/mp4"


def test_h265_mkv_and_opus_audio(emulator: LiveServer, tmp_path: Path) -> None:
    client, bucket = tone_world(emulator)
    succeeded(client, convert(client, [{
        "URI": "oss://media/out/clip.mkv", "Container": "mkv",
        "Video": {"TranscodeVideo": {"Codec": "h265", "Bitrate": 200000}},
        "Audio": {"TranscodeAudio": {"Codec": "opus", "SampleRate": 48000, "Channel": 1, "Bitrate": 32000}}}],
        sources=[{"URI": TONE_URI}]))
    got = decode(fetch(bucket, "out/clip.mkv", tmp_path))
    assert (got.format, got.video_codec, got.width, got.height) == ("matroska,webm", "hevc", 192, 144)
    assert (got.fps, got.frames) == (25, 150)
    assert (got.audio_codec, got.sample_rate, got.channels) == ("opus", 48000, 1)
    assert got.audio_duration == pytest.approx(6, abs=0.05)


@pytest.mark.parametrize("container, codec, fmt, audio_codec", [
    ("mp3", "mp3", "mp3", "mp3"),
    ("aac", "aac", "aac", "aac"),
    ("flac", "flac", "flac", "flac"),
    ("oga", "vorbis", "ogg", "vorbis"),
    ("ac3", "ac3", "ac3", "ac3"),
    ("opus", "opus", "ogg", "opus"),
])
def test_audio_only_containers(emulator: LiveServer, container: str, codec: str, fmt: str,
                               audio_codec: str) -> None:
    client, bucket = tone_world(emulator)
    succeeded(client, convert(client, [{
        "URI": "oss://media/audio/clip", "Container": container, "Video": {"DisableVideo": True},
        "Audio": {"TranscodeAudio": {"Codec": codec, "SampleRate": 48000, "Channel": 2}}}],
        sources=[{"URI": TONE_URI}]))
    got = decode_bytes(bucket.get_object(f"audio/clip.{container}").read(), f".{container}")
    assert (got.format, got.video_codec) == (fmt, None)
    assert (got.audio_codec, got.sample_rate, got.channels) == (audio_codec, 48000, 2)
    assert got.audio_duration == pytest.approx(6, abs=0.1)


@pytest.mark.parametrize("container, fmt", [("mov", "mov,mp4,m4a,3gp,3g2,mj2"), ("flv", "flv"),
                                            ("ts", "mpegts"), ("avi", "avi"), ("mkv", "matroska,webm")])
def test_video_containers(emulator: LiveServer, tmp_path: Path, container: str, fmt: str) -> None:
    client, bucket = tone_world(emulator)
    succeeded(client, convert(client, [{
        "URI": "oss://media/out/v", "Container": container,
        "Video": {"TranscodeVideo": {"Codec": "h264", "Resolution": "x72"}},
        "Audio": {"TranscodeAudio": {"Codec": "aac", "Bitrate": 64000}}}], sources=[{"URI": TONE_URI}]))
    got = decode(fetch(bucket, f"out/v.{container}", tmp_path))
    assert (got.format, got.video_codec, got.width, got.height) == (fmt, "h264", 96, 72)
    assert got.frames == 150
    assert (got.audio_codec, got.sample_rate, got.channels) == ("aac", 44100, 2)


def test_default_video_and_audio_are_copied(emulator: LiveServer, tmp_path: Path) -> None:
    client, bucket = tone_world(emulator)
    succeeded(client, convert(client, [{"URI": "oss://media/out/remux", "Container": "mkv"}],
                              sources=[{"URI": TONE_URI}]))
    path = fetch(bucket, "out/remux.mkv", tmp_path)
    got = decode(path)
    assert (got.format, got.video_codec, got.frames, got.width) == ("matroska,webm", "h264", 150, 192)
    assert (got.audio_codec, got.sample_rate) == ("aac", 44100)
    assert frame_indices_at(path, [0, 5.96]) == [0, 149]


def test_speed_and_source_window(emulator: LiveServer, tmp_path: Path) -> None:
    client, bucket = tone_world(emulator)
    succeeded(client, convert(client, [{
        "URI": "oss://media/out/slow.mp4", "Container": "mp4", "Speed": 0.5,
        "Video": {"TranscodeVideo": {"Codec": "h264"}}, "Audio": {"TranscodeAudio": {"Codec": "aac"}}}],
        sources=[{"URI": TONE_URI, "StartTime": 2, "Duration": 2}]))
    path = fetch(bucket, "out/slow.mp4", tmp_path)
    got = decode(path)
    assert got.fps == 25 and got.frames == 100  # 2 s of source played at half speed: 4 s
    assert got.audio_duration == pytest.approx(4, abs=0.05)
    # Output time t shows the source at 2 + t/2: frame 50 + 12.5 t.
    assert frame_indices_at(path, [0, 1.0, 2.0, 3.96]) == [50, 62, 75, 99]


@pytest.mark.parametrize("video, size", [
    ({"Resolution": "100x100", "ScaleType": "fill"}, (100, 100)),
    ({"Resolution": "100x100", "ScaleType": "fit"}, (100, 76)),
    ({"Resolution": "100x100", "ScaleType": "crop"}, (100, 100)),
    ({"Resolution": "x60"}, (80, 60)),
    ({"Rotation": 90}, (240, 320)),
    ({"Resolution": "640x480", "ResolutionOption": "adaptive"}, (320, 240)),
    # Rotated to portrait; the Resolution is then long x short.
    ({"Rotation": 90, "Resolution": "160x120", "AdaptiveResolutionDirection": True}, (120, 160)),
])
def test_output_size(emulator: LiveServer, tmp_path: Path, video: dict, size: tuple[int, int]) -> None:
    client, bucket = world(emulator)
    succeeded(client, convert(client, [{"URI": "oss://media/out/s.mp4", "Container": "mp4", "Video": {
        "TranscodeVideo": {"Codec": "h264", **video}}}], sources=[{"URI": COUNTER_URI, "Duration": 1}]))
    got = decode(fetch(bucket, "out/s.mp4", tmp_path))
    assert (got.width, got.height) == size
    assert got.frames == 10


def test_fall_options_fail_the_task_and_store_nothing(emulator: LiveServer) -> None:
    client, bucket = world(emulator)
    task = wait_for_task(client, "p", convert(client, [
        {"URI": "oss://media/out/first.mp4", "Container": "mp4",
         "Video": {"TranscodeVideo": {"Codec": "h264"}}},
        {"URI": "oss://media/out/second.mp4", "Container": "mp4", "Video": {"TranscodeVideo": {
            "Codec": "h264", "Resolution": "640x480", "ResolutionOption": "fall"}}}]))
    assert (task.status, task.code) == ("Failed", "InvalidArgument")
    assert "Targets[1].Video.TranscodeVideo.Resolution" in task.message
    # The first target was made, but nothing is stored when the task fails.
    assert [o.key for o in bucket.list_objects("out/").object_list] == []


def test_a_copied_stream_the_container_cannot_hold_fails_the_task(emulator: LiveServer) -> None:
    client, bucket = world(emulator, fixture="counter_tone_192x144_25fps_6s.mp4")  # AAC audio
    task = wait_for_task(client, "p", convert(client, [{"URI": "oss://media/out/x", "Container": "flac"}]))
    assert (task.status, task.code) == ("Failed", "InvalidArgument")
    assert task.message.startswith("The parameter Targets[0].Container ")
    assert "the source's aac audio cannot be stored in Container flac (only flac)" in task.message
    assert list(bucket.list_objects("out/").object_list) == []


def test_undecodable_source_fails_the_task(emulator: LiveServer) -> None:
    client, bucket = world(emulator)
    bucket.put_object_from_file("in/bad.mp4", str(FIXTURES / "not_video.txt"))
    task = wait_for_task(client, "p", convert(client, [{"URI": "oss://media/out/x", "Container": "mp4"}],
                                              sources=[{"URI": "oss://media/in/bad.mp4"}]))
    assert (task.status, task.code) == ("Failed", "InvalidArgument")
    assert "oss://media/in/bad.mp4" in task.message
    assert list(bucket.list_objects("out/").object_list) == []


def _target(**fields: object) -> dict:
    return {"URI": "oss://media/out/x", "Container": "mp4", **fields}


def _video(**fields: object) -> dict:
    return _target(Video={"TranscodeVideo": {"Codec": "h264", **fields}})


def _filtered(**fields: object) -> dict:
    return _target(Video={"TranscodeVideo": {"Codec": "h264"}, "FilterVideo": fields})


def _audio(**fields: object) -> dict:
    return _target(Audio={"TranscodeAudio": {"Codec": "aac", **fields}})


@pytest.mark.parametrize("targets, field", [
    ([{"URI": "oss://media/out/x"}], "Targets[0].Container"),
    ([{"Container": "mp4"}], "Targets[0].URI"),
    ([_target(Container="webm")], "Targets[0].Container"),
    ([_target(URI="http://x/y")], "Targets[0].URI"),
    ([_target(Speed=2)], "Targets[0].Speed"),
    ([_target(Speed=0.5)], "Targets[0].Speed"),  # copied streams cannot be slowed
    ([_video(CRF=52)], "Targets[0].Video.TranscodeVideo.CRF"),
    ([_video(CRF=20, Bitrate=100000)], "Targets[0].Video.TranscodeVideo.CRF"),
    ([_video(Codec="av1")], "Targets[0].Video.TranscodeVideo.Codec"),
    ([_video(Codec="vp9") | {"Container": "ts"}], "Targets[0].Video.TranscodeVideo.Codec"),
    ([_video(Codec="h265") | {"Container": "asf"}], "Targets[0].Video.TranscodeVideo.Codec"),
    ([_audio(Codec="ac3") | {"Container": "flac"}], "Targets[0].Audio.TranscodeAudio.Codec"),
    ([_audio(Codec="opus") | {"Container": "mov"}], "Targets[0].Audio.TranscodeAudio.Codec"),
    ([_audio() | {"Container": "mxf"}], "Targets[0].Audio.TranscodeAudio.Codec"),
    ([_video(FrameRate=0)], "Targets[0].Video.TranscodeVideo.FrameRate"),
    ([_video(FrameRate=500)], "Targets[0].Video.TranscodeVideo.FrameRate"),
    ([_video(Resolution="640by480")], "Targets[0].Video.TranscodeVideo.Resolution"),
    ([_video(Resolution="5000x")], "Targets[0].Video.TranscodeVideo.Resolution"),
    ([_video(ResolutionOption="maybe")], "Targets[0].Video.TranscodeVideo.ResolutionOption"),
    ([_video(ScaleType="zoom")], "Targets[0].Video.TranscodeVideo.ScaleType"),
    ([_video(Rotation=45)], "Targets[0].Video.TranscodeVideo.Rotation"),
    ([_video(PixelFormat="yuva420p")], "Targets[0].Video.TranscodeVideo.PixelFormat"),
    ([_video(MaxBitrate=100000)], "Targets[0].Video.TranscodeVideo.BufferSize"),
    ([_video(GOPSize=0)], "Targets[0].Video.TranscodeVideo.GOPSize"),
    ([_audio(Bitrate=999)], "Targets[0].Audio.TranscodeAudio.Bitrate"),
    ([_audio(Bitrate=64000, Quality=50)], "Targets[0].Audio.TranscodeAudio.Quality"),
    ([_audio(SampleRate=44000)], "Targets[0].Audio.TranscodeAudio.SampleRate"),
    ([_audio(Codec="opus", SampleRate=44100)], "Targets[0].Audio.TranscodeAudio.SampleRate"),
    ([_audio(Channel=9)], "Targets[0].Audio.TranscodeAudio.Channel"),
    ([_audio(Codec="mp3", Channel=6)], "Targets[0].Audio.TranscodeAudio.Channel"),
    ([_audio(BitsPerSample=24)], "Targets[0].Audio.TranscodeAudio.BitsPerSample"),
    ([_audio(Codec="wma")], "Targets[0].Audio.TranscodeAudio.Codec"),
    ([_target(Video={"DisableVideo": True}, Audio={"DisableAudio": True})], "Targets[0]"),
    ([_target(Container="flv", Segment={"Format": "hls"})], "Targets[0].Segment.Format"),
    ([_target(Container="mkv", Segment={"Format": "hls"})], "Targets[0].Segment.Format"),
    ([_target(Container="ts", Segment={"Format": "dash"})], "Targets[0].Segment.Format"),
    ([_target(Container="ts", Segment={"Format": "hls", "Duration": 0})], "Targets[0].Segment.Duration"),
    ([_filtered(Speed=2)], "Targets[0].Video.FilterVideo.Speed"),
    ([_filtered(Watermarks=[{"Type": "text"}])], "Targets[0].Video.FilterVideo.Watermarks[0].Content"),
    ([_filtered(Watermarks=[{"Type": "file", "URI": "oss://media/w.png", "Width": 5000}])],
     "Targets[0].Video.FilterVideo.Watermarks[0].Width"),
    ([_filtered(Delogos=[{"ReferPos": "middle"}])], "Targets[0].Video.FilterVideo.Delogos[0].ReferPos"),
    ([_filtered(Desensitization={"Face": {}})], "Targets[0].Video.FilterVideo.Desensitization"),
    ([_target(Subtitle={"ExtractSubtitle": {"Format": "sub", "URI": "oss://media/s"}})],
     "Targets[0].Subtitle.ExtractSubtitle.Format"),
    ([_target(), _video(CRF=-1)], "Targets[1].Video.TranscodeVideo.CRF"),
])
def test_invalid_targets_name_the_field(emulator: LiveServer, targets: list[dict], field: str) -> None:
    client = imm_client(emulator)
    client.create_project(m.CreateProjectRequest(project_name="p"))
    with pytest.raises(ClientException) as err:
        convert(client, targets)
    assert (err.value.code, err.value.status_code) == ("InvalidArgument", 400)
    assert f"The parameter {field} " in err.value.message
    assert client.list_tasks(m.ListTasksRequest(project_name="p")).body.tasks == []


def test_task_is_listed_metered_and_notified_like_animations(emulator: LiveServer) -> None:
    client, bucket = world(emulator)
    task_id = convert(client, [{"URI": "oss://media/out/m", "Container": "mp4",
                                "Video": {"TranscodeVideo": {"Codec": "h264", "Resolution": "1280x720"}}}],
                      sources=[{"URI": COUNTER_URI, "Duration": 2}])
    task = succeeded(client, task_id)
    assert task.progress == 100
    listed = client.list_tasks(m.ListTasksRequest(project_name="p", task_types=["MediaConvert"])).body.tasks
    assert [t.task_id for t in listed] == [task_id]
    items = emulator.admin("GET", "billing")["imm"]["items"]
    assert [(i["billable_item"], i["quantity"], i["unit"]) for i in items] == [
        ("MediaTranscodeH264SD", 1, "minute")]


# ---- segmented outputs --------------------------------------------------------------------------


def fetch_prefix(bucket, prefix: str, tmp: Path) -> dict[str, Path]:
    """Every object under `prefix`, downloaded keeping names relative to it."""
    files = {}
    for obj in bucket.list_objects(prefix, max_keys=1000).object_list:
        path = tmp / obj.key[len(prefix):]
        path.parent.mkdir(parents=True, exist_ok=True)
        bucket.get_object_to_file(obj.key, str(path))
        files[obj.key[len(prefix):]] = path
    return files


def media_playlist(path: Path) -> list[tuple[float, str]]:
    lines = path.read_text().splitlines()
    assert lines[0] == "#EXTM3U" and lines[-1] == "#EXT-X-ENDLIST"
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in lines
    return [(float(line[8:].rstrip(",")), lines[i + 1]) for i, line in enumerate(lines)
            if line.startswith("#EXTINF:")]


@pytest.mark.parametrize("video, segment_names", [
    ({"TranscodeVideo": {"Codec": "h264", "Resolution": "x72"}}, ["movie-3.ts", "movie-4.ts", "movie-5.ts"]),
    ({}, ["movie-3.ts", "movie-4.ts", "movie-5.ts"]),  # copied: cut at the source's 1 s keyframes
])
def test_hls_segments(emulator: LiveServer, tmp_path: Path, video: dict, segment_names: list[str]) -> None:
    client, bucket = tone_world(emulator)
    succeeded(client, convert(client, [{
        "URI": "oss://media/hls/movie", "Container": "ts", "Video": video,
        "Segment": {"Format": "hls", "Duration": 2, "StartNumber": 3}}], sources=[{"URI": TONE_URI}]))
    files = fetch_prefix(bucket, "hls/", tmp_path)
    assert sorted(files) == [*segment_names, "movie.m3u8"]
    assert bucket.head_object("hls/movie.m3u8").content_type == "application/vnd.apple.mpegurl"
    segments = media_playlist(files["movie.m3u8"])
    assert [name for _, name in segments] == segment_names
    assert "#EXT-X-MEDIA-SEQUENCE:3" in files["movie.m3u8"].read_text()
    for duration, name in segments:
        got = decode(files[name])
        assert duration == pytest.approx(2, abs=0.04)
        assert got.frames == 50 and got.video_duration == pytest.approx(2, abs=0.04)
        assert got.audio_codec == "aac"
    whole = decode(files["movie.m3u8"])  # the playlist plays end to end
    assert whole.frames == 150 and whole.format == "hls"
    assert frame_indices_at(files["movie.m3u8"], [0, 2.0, 4.0, 5.96]) == [0, 50, 100, 149]


def test_hls_fmp4_and_dash(emulator: LiveServer, tmp_path: Path) -> None:
    client, bucket = tone_world(emulator)
    encode = {"Video": {"TranscodeVideo": {"Codec": "h264"}}, "Audio": {"TranscodeAudio": {"Codec": "aac"}}}
    succeeded(client, convert(client, [
        {"URI": "oss://media/fmp4/movie", "Container": "mp4", "Segment": {"Format": "hls", "Duration": 3},
         **encode},
        {"URI": "oss://media/dash/movie", "Container": "mp4", "Segment": {"Format": "dash", "Duration": 3},
         **encode}], sources=[{"URI": TONE_URI}]))
    fmp4 = fetch_prefix(bucket, "fmp4/", tmp_path / "fmp4")
    assert sorted(fmp4) == ["movie-0.m4s", "movie-1.m4s", "movie-init.mp4", "movie.m3u8"]
    assert [d for d, _ in media_playlist(fmp4["movie.m3u8"])] == pytest.approx([3, 3], abs=0.04)
    assert decode(fmp4["movie.m3u8"]).frames == 150
    dash = fetch_prefix(bucket, "dash/", tmp_path / "dash")
    assert "movie.mpd" in dash and "movie-init-0.m4s" in dash
    assert sorted(n for n in dash if n.startswith("movie-0-")) == ["movie-0-1.m4s", "movie-0-2.m4s"]
    assert bucket.head_object("dash/movie.mpd").content_type == "application/dash+xml"
    # The bundled ffmpeg plays the manifest (PyAV's libavformat has no DASH demuxer).
    got = probe(dash["movie.mpd"], count_frames=True)
    assert (got.format, got.frame_count, got.has_audio) == ("dash", 150, True)


def test_target_groups_write_a_master_playlist(emulator: LiveServer, tmp_path: Path) -> None:
    client, bucket = tone_world(emulator)

    def rendition(height: int, bitrate: int) -> dict:
        return {"URI": f"oss://media/abr/{height}/index.m3u8", "Container": "ts",
                "Segment": {"Format": "hls", "Duration": 2},
                "Video": {"TranscodeVideo": {"Codec": "h264", "Resolution": f"x{height}",
                                             "Bitrate": bitrate}},
                "Audio": {"TranscodeAudio": {"Codec": "aac", "Bitrate": 64000}}}

    succeeded(client, convert(client, [], sources=[{"URI": TONE_URI}], TargetGroups=[
        {"URI": "oss://media/abr/master.m3u8", "Targets": [rendition(144, 300000), rendition(72, 100000)]}]))
    files = fetch_prefix(bucket, "abr/", tmp_path)
    assert sorted(files) == [*(f"144/index{s}" for s in ("-0.ts", "-1.ts", "-2.ts", ".m3u8")),
                             *(f"72/index{s}" for s in ("-0.ts", "-1.ts", "-2.ts", ".m3u8")), "master.m3u8"]
    lines = files["master.m3u8"].read_text().splitlines()
    assert lines[0] == "#EXTM3U"
    variants = [(lines[i], lines[i + 1]) for i, line in enumerate(lines)
                if line.startswith("#EXT-X-STREAM-INF:")]
    assert [uri for _, uri in variants] == ["144/index.m3u8", "72/index.m3u8"]
    assert "RESOLUTION=192x144" in variants[0][0] and "RESOLUTION=96x72" in variants[1][0]
    bandwidths = [int(info.split("BANDWIDTH=")[1].split(",")[0]) for info, _ in variants]
    assert bandwidths[0] > bandwidths[1] > 64000
    for height, width in ((144, 192), (72, 96)):
        got = decode(files[f"{height}/index.m3u8"])
        assert (got.width, got.height, got.frames) == (width, height, 150)
    whole = decode(files["master.m3u8"])  # ffmpeg opens the master and plays a variant
    assert whole.frames == 150


MASTER = "oss://media/abr/master.m3u8"


@pytest.mark.parametrize("group, field", [
    ({"URI": MASTER, "Targets": [{"URI": "oss://media/other/a.m3u8", "Container": "ts"}]},
     "TargetGroups[0].Targets[0].URI"),
    ({"URI": MASTER, "Targets": [{"URI": "oss://media/abr/a.m3u8", "Container": "mkv"}]},
     "TargetGroups[0].Targets[0].Container"),
    ({"URI": MASTER, "Targets": [{"URI": "oss://media/abr/a", "Container": "ts",
                                  "Segment": {"Format": "dash"}}]},
     "TargetGroups[0].Targets[0].Segment.Format"),
    ({"URI": "oss://media/abr/master.m3u8"}, "TargetGroups[0].Targets"),
    ({"Targets": []}, "TargetGroups[0].URI"),
])
def test_invalid_target_groups_name_the_field(emulator: LiveServer, group: dict, field: str) -> None:
    client = imm_client(emulator)
    client.create_project(m.CreateProjectRequest(project_name="p"))
    with pytest.raises(ClientException) as err:
        convert(client, [], TargetGroups=[group])
    assert (err.value.code, f"The parameter {field} " in err.value.message) == ("InvalidArgument", True)


# ---- concatenation ------------------------------------------------------------------------------


@pytest.mark.parametrize("alignment, size, fps", [(1, (192, 144), 25), (0, (320, 240), 10)])
def test_concatenation_in_order_with_the_primary_deciding_size_and_rate(
        emulator: LiveServer, tmp_path: Path, alignment: int, size: tuple[int, int], fps: int) -> None:
    client, bucket = tone_world(emulator)
    succeeded(client, convert(client, [{
        "URI": "oss://media/out/joined.mp4", "Container": "mp4",
        "Video": {"TranscodeVideo": {"Codec": "h264"}}, "Audio": {"TranscodeAudio": {"Codec": "aac"}}}],
        sources=[{"URI": COUNTER_URI, "StartTime": 1, "Duration": 2},  # no audio: silence
                 {"URI": TONE_URI, "Duration": 2}, {"URI": COUNTER_URI, "StartTime": 11}],
        AlignmentIndex=alignment))
    path = fetch(bucket, "out/joined.mp4", tmp_path)
    got = decode(path)
    assert (got.width, got.height, got.fps) == (*size, fps)
    assert got.frames == 5 * fps
    assert got.video_duration == pytest.approx(5, abs=1 / fps)
    assert (got.audio_codec, got.sample_rate, got.channels) == ("aac", 44100, 2)
    assert got.audio_duration == pytest.approx(5, abs=0.05)
    # counter 1-3 s (frames 10-29), tone 0-2 s (frames 0-49), counter 11-12 s (frames 110-119)
    assert frame_indices_at(path, [0, 1.95, 2.0, 2.4, 3.9, 4.0, 4.95]) == [10, 29, 0, 10, 47, 110, 119]


def test_a_primary_source_without_video_leaves_the_picture_to_the_next(emulator: LiveServer,
                                                                       tmp_path: Path) -> None:
    """An audio-only primary source: size and rate come from the first source with video, and
    its window is black (the plan used to ask ffmpeg for a 0x0 picture)."""
    client, bucket = tone_world(emulator)
    sound = tmp_path / "sound.m4a"
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
                    "sine=frequency=330:sample_rate=48000:duration=1", "-c:a", "aac", str(sound)], check=True)
    bucket.put_object_from_file("in/sound.m4a", str(sound))
    succeeded(client, convert(client, [{
        "URI": "oss://media/out/joined.mp4", "Container": "mp4",
        "Video": {"TranscodeVideo": {"Codec": "h264"}}, "Audio": {"TranscodeAudio": {"Codec": "aac"}}}],
        sources=[{"URI": "oss://media/in/sound.m4a"}, {"URI": TONE_URI, "Duration": 2}]))
    got = decode(fetch(bucket, "out/joined.mp4", tmp_path))
    assert (got.width, got.height, got.fps, got.frames) == (192, 144, 25, 75)
    assert (got.audio_codec, got.sample_rate) == ("aac", 48000)


def test_concatenation_refuses_copied_streams_and_twelve_sources(emulator: LiveServer) -> None:
    client = imm_client(emulator)
    client.create_project(m.CreateProjectRequest(project_name="p"))
    two = [{"URI": COUNTER_URI}, {"URI": TONE_URI}]
    cases = [
        ([{"URI": "oss://media/o", "Container": "mp4"}], two, "Targets[0].Video"),
        ([_video()], two, "Targets[0].Audio"),
        ([_target(Video={"TranscodeVideo": {"Codec": "copy"}})], two,
         "Targets[0].Video.TranscodeVideo.Codec"),
        ([_video(VideoSlim=1) | {"Audio": {"DisableAudio": True}}], two,
         "Targets[0].Video.TranscodeVideo.VideoSlim"),
        ([_video()], [{"URI": COUNTER_URI}] * 12, "Sources"),
    ]
    for targets, sources, field in cases:
        with pytest.raises(ClientException) as err:
            convert(client, targets, sources=sources)
        assert err.value.code == "InvalidArgument"
        assert f"The parameter {field} " in err.value.message


# ---- filters and subtitles ----------------------------------------------------------------------


def test_watermarks_and_delogo(emulator: LiveServer, tmp_path: Path) -> None:
    from PIL import Image

    client, bucket = world(emulator)
    mark = tmp_path / "mark.png"
    Image.new("RGB", (20, 20), (255, 0, 0)).save(mark)
    bucket.put_object_from_file("marks/red.png", str(mark))
    succeeded(client, convert(client, [{
        "URI": "oss://media/out/marked.mp4", "Container": "mp4",
        "Video": {"TranscodeVideo": {"Codec": "h264", "CRF": 10}, "FilterVideo": {
            "Watermarks": [{"Type": "file", "URI": "oss://media/marks/red.png", "Dx": 4, "Dy": 4},
                           {"Type": "text", "Content": "EMU", "FontSize": 40, "FontColor": "#00FF00",
                            "ReferPos": "bottomright", "Dx": 2, "Dy": 2}],
            "Delogos": [{"Dx": 0.1, "Dy": 0.1, "Width": 0.2, "Height": 0.2, "ReferPos": "topright"}]}}}],
        sources=[{"URI": COUNTER_URI, "Duration": 1}]))
    path = fetch(bucket, "out/marked.mp4", tmp_path)
    import av

    with av.open(str(path)) as container:
        frame = next(container.decode(video=0)).to_image().convert("RGB")
    red = frame.getpixel((14, 14))
    assert red[0] > 200 and red[1] < 60 and red[2] < 60
    greens = [frame.getpixel((x, y)) for x in range(250, 318) for y in range(200, 238)]
    assert any(g > 200 and r < 80 and b < 80 for r, g, b in greens)  # the text, bottom right
    assert frame_indices_at(path, [0.5]) == [5]  # the frame code in the middle is untouched


def test_extract_subtitles(emulator: LiveServer, tmp_path: Path) -> None:
    client, bucket = tone_world(emulator)
    srt = tmp_path / "s.srt"
    srt.write_text("1\n00:00:01,000 --> 00:00:02,500\nHello emulator\n")
    source = tmp_path / "with_subs.mkv"
    import subprocess

    from emulator.media.ffmpeg import ffmpeg_exe

    subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-i", str(FIXTURES / TONE), "-i", str(srt),
                    "-map", "0", "-map", "1", "-c", "copy", "-c:s", "srt", str(source)], check=True)
    bucket.put_object_from_file("in/subs.mkv", str(source))
    succeeded(client, convert(client, [{
        "URI": "oss://media/out/v.mp4", "Container": "mp4",
        "Subtitle": {"ExtractSubtitle": {"Format": "webvtt", "URI": "oss://media/subs/out"}}}],
        sources=[{"URI": "oss://media/in/subs.mkv"}]))
    vtt = bucket.get_object("subs/out_0.vtt").read().decode()
    assert vtt.startswith("WEBVTT") and "00:01.000 --> 00:02.500\nHello emulator" in vtt
    assert decode(fetch(bucket, "out/v.mp4", tmp_path)).frames == 150
    # A target with only ExtractSubtitle (no URI, no Container) extracts and makes nothing else.
    succeeded(client, convert(client, [{"Subtitle": {"ExtractSubtitle": {"Format": "srt", "URI": "oss://media/s/x"}}}],
                              sources=[{"URI": "oss://media/in/subs.mkv"}]))
    assert [o.key for o in bucket.list_objects("s/").object_list] == ["s/x_0.srt"]
    assert "Hello emulator" in bucket.get_object("s/x_0.srt").read().decode()
