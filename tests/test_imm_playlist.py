"""GenerateVideoPlaylist (HLS live transcoding) through the official SDKs: playlists at once,
segments transcoded when first read through OSS, and the whole playlist plays."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from alibabacloud_imm20200930 import models as m
from alibabacloud_tea_openapi.exceptions import ClientException

from emulator.media.ffmpeg import ffmpeg_exe
from emulator.testing.server import LiveServer
from tests.imm_support import FIXTURES, world
from tests.media_check import decode, frame_indices_at

TONE = "counter_tone_192x144_25fps_6s.mp4"
VIDEO = {"TranscodeVideo": {"Codec": "h264", "Resolution": "x72"}}
AUDIO = {"TranscodeAudio": {"Codec": "aac", "Bitrate": 64000}}


def generate(client, targets: list[dict], **extra: object):
    request = m.GenerateVideoPlaylistRequest().from_map({
        "ProjectName": "p", "SourceURI": "oss://media/in/tone.mp4", "Targets": targets, **extra})
    return client.generate_video_playlist(request).body


def playlist_segments(text: str) -> list[tuple[float, str]]:
    lines = text.splitlines()
    assert lines[0] == "#EXTM3U" and lines[-1] == "#EXT-X-ENDLIST"
    return [(float(line[8:].rstrip(",")), lines[i + 1]) for i, line in enumerate(lines)
            if line.startswith("#EXTINF:")]


def test_segments_are_transcoded_when_first_read(emulator: LiveServer, tmp_path: Path) -> None:
    client, bucket = world(emulator)
    bucket.put_object_from_file("in/tone.mp4", str(FIXTURES / TONE))
    body = generate(client, [{"URI": "oss://media/hls/v", "Duration": 5, "InitialTranscode": 0,
                              "Video": VIDEO, "Audio": AUDIO}])
    assert body.duration == pytest.approx(6, abs=0.01)
    [video] = body.video_playlist
    assert (video.uri, video.resolution, video.frame_rate) == ("oss://media/hls/v.m3u8", "96x72", "25")
    token = video.token
    segments = playlist_segments(bucket.get_object("hls/v.m3u8").read().decode())
    assert segments == [(5.0, f"v-{token}-0.ts"), (1.0, f"v-{token}-1.ts")]
    assert not bucket.object_exists(f"hls/v-{token}-1.ts")  # nothing transcoded yet
    (tmp_path / "v.m3u8").write_bytes(bucket.get_object("hls/v.m3u8").read())
    for duration, name in reversed(segments):  # a player may start anywhere
        bucket.get_object_to_file(f"hls/{name}", str(tmp_path / name))  # the read makes it
        got = decode(tmp_path / name)
        assert (got.video_codec, got.width, got.height, got.frames) == ("h264", 96, 72, round(duration * 25))
        assert got.audio_codec == "aac"
    whole = decode(tmp_path / "v.m3u8")
    assert whole.frames == 150
    assert frame_indices_at(tmp_path / "v.m3u8", [0, 4.96, 5.0, 5.96]) == [0, 124, 125, 149]
    billing = {i["billable_item"]: i["quantity"] for i in emulator.admin("GET", "billing")["imm"]["items"]}
    assert billing["MediaLiveTranscode"] == pytest.approx(6)


def test_master_playlist_and_initial_transcode(emulator: LiveServer) -> None:
    client, bucket = world(emulator)
    bucket.put_object_from_file("in/tone.mp4", str(FIXTURES / TONE))
    body = generate(client, [{"URI": "oss://media/abr/high/v", "Duration": 5, "Video": VIDEO, "Audio": AUDIO},
                             {"URI": "oss://media/abr/audio", "Duration": 5, "InitialTranscode": 4,
                              "Audio": AUDIO}],
                    MasterURI="oss://media/abr/master.m3u8", SourceStartTime=1)
    assert body.master_uri == "oss://media/abr/master.m3u8" and body.token
    assert body.duration == pytest.approx(5, abs=0.01)
    [audio] = body.audio_playlist
    assert (audio.uri, audio.channels) == ("oss://media/abr/audio.m3u8", 2)
    keys = sorted(o.key for o in bucket.list_objects("abr/").object_list)
    video_token = body.video_playlist[0].token
    # InitialTranscode 30 s (default) covers the whole video; 4 s covers the first segment only.
    assert keys == ["abr/audio-" + audio.token + "-0.ts", "abr/audio.m3u8",
                    f"abr/high/v-{video_token}-0.ts", "abr/high/v.m3u8", "abr/master.m3u8"]
    master = bucket.get_object("abr/master.m3u8").read().decode().splitlines()
    assert master[0] == "#EXTM3U"
    assert [line for line in master if not line.startswith("#")] == ["high/v.m3u8", "audio.m3u8"]
    assert "RESOLUTION=96x72" in master[2]


@pytest.mark.parametrize("change, field", [
    ({"Targets": [{"URI": "oss://media/hls/v.m3u8", "Video": VIDEO}]}, "Targets[0].URI"),
    ({"Targets": [{"URI": "oss://media/hls/v", "Duration": 20, "Video": VIDEO}]}, "Targets[0].Duration"),
    ({"Targets": [{"URI": "oss://media/hls/v"}]}, "Targets[0]"),
    ({"Targets": [{"URI": "oss://media/hls/v", "Audio": {"TranscodeAudio": {"Codec": "mp3"}}}]},
     "Targets[0].Audio.TranscodeAudio.Codec"),
    ({"Targets": [{"URI": "oss://media/hls/v", "Video": {"TranscodeVideo": {"Codec": "vp9"}}}]},
     "Targets[0].Video.TranscodeVideo.Codec"),
    ({"Targets": [{"URI": "oss://media/a/v", "Video": VIDEO}, {"URI": "oss://media/b/v", "Video": VIDEO}]},
     "MasterURI"),
    ({"Targets": [{"URI": "oss://media/b/v", "Video": VIDEO}], "MasterURI": "oss://media/a/m.m3u8"},
     "Targets[0].URI"),
    ({"SourceURI": "oss://media/in/none.mp4"}, "Object"),
    ({"SourceURI": "oss://media/in/tone.mp3"}, "Targets[0]"),  # video only, from an audio file
    ({"Targets": [{"URI": "oss://nobucket/v", "Video": VIDEO}]}, "Targets[0].URI"),
])
def test_invalid_requests(emulator: LiveServer, tmp_path: Path, change: dict, field: str) -> None:
    client, bucket = world(emulator)
    bucket.put_object_from_file("in/tone.mp4", str(FIXTURES / TONE))
    audio_only = tmp_path / "tone.mp3"
    subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-i", str(FIXTURES / TONE), "-vn", str(audio_only)],
                   check=True)
    bucket.put_object_from_file("in/tone.mp3", str(audio_only))
    request = {"Targets": [{"URI": "oss://media/hls/v", "Video": VIDEO}], **change}
    with pytest.raises(ClientException) as err:
        generate(client, request.pop("Targets"), **request)
    assert err.value.status_code == 400
    assert field in err.value.message
    assert [o.key for o in bucket.list_objects().object_list if not o.key.startswith("in/")] == []
