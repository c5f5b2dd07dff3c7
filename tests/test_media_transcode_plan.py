"""Transcoding plans as data (no ffmpeg): output size, rates, filter graphs, codec and muxer
arguments, and the runtime refusals of the `fall` options."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.core.errors import ServiceError
from emulator.media.transcode import (
    AudioSettings,
    Clip,
    OutputSpec,
    PlanError,
    Segment,
    SourceMedia,
    VideoSettings,
    plan_transcode,
    target_size,
)
from emulator.services.imm.transcode_request import parse_transcode_target
from emulator.services.imm.transcoding import billable_item, billable_minutes, master_playlist
from tests.strategies import json_scalars

TONE = SourceMedia(6.0, 192, 144, 25.0, "h264", 55000, "yuv420p", "aac", 96000, 44100, 2)
MUTE = SourceMedia(12.0, 320, 240, 10.0, "h264", 40000, "yuv420p")
H264 = VideoSettings(codec="h264")
AAC = AudioSettings(codec="aac")


def option(args: tuple[str, ...], name: str) -> str:
    return args[args.index(name) + 1]


@pytest.mark.parametrize("video, size", [
    (VideoSettings(), (320, 240, "stretch")),
    (VideoSettings(resolution=(100, 100)), (100, 100, "stretch")),
    (VideoSettings(resolution=(100, 100), scale_type="fit"), (100, 76, "fit")),
    (VideoSettings(resolution=(100, 100), scale_type="fill"), (100, 100, "fill")),
    (VideoSettings(resolution=(100, 100), scale_type="crop"), (100, 100, "crop")),
    (VideoSettings(resolution=(None, 60)), (80, 60, "stretch")),
    (VideoSettings(resolution=(161, None)), (160, 120, "stretch")),  # even sides for 4:2:0
    (VideoSettings(rotation=90), (240, 320, "stretch")),
    (VideoSettings(resolution=(640, 480), resolution_option="adaptive"), (320, 240, "stretch")),
    (VideoSettings(resolution=(160, 120), resolution_option="adaptive"), (160, 120, "stretch")),
    (VideoSettings(rotation=270, resolution=(160, 120), long_short=True), (120, 160, "stretch")),
])
def test_target_size(video: VideoSettings, size: tuple[int, int, str]) -> None:
    assert target_size(video, 320, 240, "Targets[0]") == size


def test_fall_options_name_the_field() -> None:
    cases = [
        (VideoSettings(codec="h264", resolution=(640, 480), resolution_option="fall"), None,
         "Targets[2].Video.TranscodeVideo.Resolution"),
        (VideoSettings(codec="h264", frame_rate=30, frame_rate_option="fall"), None,
         "Targets[2].Video.TranscodeVideo.FrameRate"),
        (VideoSettings(codec="h264", bitrate=10**6, bitrate_option="fall"), None,
         "Targets[2].Video.TranscodeVideo.Bitrate"),
        (None, AudioSettings(codec="aac", sample_rate=48000, sample_rate_option="fall"),
         "Targets[2].Audio.TranscodeAudio.SampleRate"),
    ]
    for video, audio, field in cases:
        with pytest.raises(PlanError) as err:
            plan_transcode(OutputSpec("mp4", video, audio, field="Targets[2]"), [TONE], [Clip(0)])
        assert err.value.field == field
    lenient = VideoSettings(codec="h264", frame_rate=30, frame_rate_option="adaptive", bitrate=10**6,
                            bitrate_option="adaptive")
    adaptive = plan_transcode(OutputSpec("mp4", lenient, None), [TONE], [Clip(0)])
    assert (adaptive.fps, option(adaptive.output_args, "-b:v")) == (25, "55000")


def test_a_copied_stream_must_fit_the_container() -> None:
    """A copy of what the container cannot hold is refused by the plan, naming Container, before
    ffmpeg fails halfway; codecs IMM does not encode are left to the muxer."""
    hevc = SourceMedia(6.0, 192, 144, 25.0, "hevc", 55000, "yuv420p", "pcm_s16le", 768000, 48000, 1)
    cases = [
        (OutputSpec("flac", None, AudioSettings()), [TONE], "aac audio cannot be stored in Container flac"),
        (OutputSpec("mxf", VideoSettings(), AudioSettings()), [TONE], "(it keeps no audio IMM can encode)"),
        (OutputSpec("asf", VideoSettings(), None), [hevc], "h265 video cannot be stored in Container asf")]
    for spec, sources, reason in cases:
        with pytest.raises(PlanError) as err:
            plan_transcode(spec, sources, [Clip(0)])
        assert err.value.field == "Targets[0].Container" and reason in err.value.message
    # PCM audio is not an IMM codec: the muxer decides.
    plan_transcode(OutputSpec("mov", VideoSettings(), AudioSettings()), [hevc], [Clip(0)])



def test_remux_copies_the_first_streams() -> None:
    plan = plan_transcode(OutputSpec("mkv", VideoSettings(), AudioSettings()), [TONE], [Clip(0, 1, 2)])
    assert plan.filter_complex is None
    assert plan.maps == ("0:v:0", "0:a:0")
    assert plan.inputs == (("-ss", "1", "-t", "2"),)
    assert plan.command("ffmpeg", ["in.mp4"], [], "out.mkv") == [
        "ffmpeg", "-y", "-ss", "1", "-t", "2", "-i", "in.mp4", "-map", "0:v:0", "-map", "0:a:0",
        "-c:v", "copy", "-c:a", "copy", "-f", "matroska", "out.mkv"]
    assert (plan.duration, plan.width, plan.video_codec) == (2, 192, "copy")


def test_encoding_arguments() -> None:
    video = VideoSettings(codec="h265", crf=28, max_bitrate=500000, buffer_size=1000000, gop=50, bframes=0,
                          refs=4, pixel_format="yuv444p", frame_rate=12.5)
    audio = AudioSettings(codec="mp3", bitrate=128000, sample_rate=22050, channels=1)
    args = plan_transcode(OutputSpec("mp4", video, audio), [TONE], [Clip(0)]).output_args
    expected = {"-c:v": "libx265", "-crf": "28", "-maxrate": "500000", "-bufsize": "1000000", "-g": "50",
                "-bf": "0", "-refs": "4", "-pix_fmt": "yuv444p", "-r": "12.5", "-tag:v": "hvc1",
                "-movflags": "+faststart", "-c:a": "libmp3lame", "-b:a": "128000", "-ar": "22050", "-ac": "1"}
    assert {name: option(args, name) for name in expected} == expected


def test_codec_limits_pick_the_audio_defaults() -> None:
    opus = plan_transcode(OutputSpec("opus", None, AudioSettings(codec="opus")), [TONE], [Clip(0)])
    assert (opus.sample_rate, opus.channels, opus.video_codec) == (48000, 2, None)
    mono = plan_transcode(OutputSpec("mp3", H264, AudioSettings(codec="mp3", mixing=True)), [TONE], [Clip(0)])
    assert (mono.channels, mono.video_codec) == (1, None)  # an audio container keeps no video


def test_speed_slows_video_and_audio() -> None:
    plan = plan_transcode(OutputSpec("mp4", H264, AAC, speed=0.5), [TONE], [Clip(0, 2, 2)])
    assert plan.duration == 4
    assert "setpts=PTS/0.5,fps=25:round=up" in plan.filter_complex
    assert "atempo=0.5[aout]" in plan.filter_complex


def test_concatenation_graph() -> None:
    clips = [Clip(0, 1, 2), Clip(1, 0, 2), Clip(0, 11)]
    plan = plan_transcode(OutputSpec("mp4", H264, AAC), [MUTE, TONE], clips, primary=1)
    graph = plan.filter_complex.split(";")
    assert (plan.width, plan.height, plan.fps, plan.sample_rate) == (192, 144, 25, 44100)
    assert plan.clip_durations == (2, 2, 1) and plan.duration == 5
    assert graph[0] == "[0:v:0]setpts=PTS-STARTPTS,scale=192:144,setsar=1,fps=25:round=up[v0]"
    assert graph[3] == "[v0][v1][v2]concat=n=3:v=1:a=0,format=yuv420p[vout]"
    assert graph[4] == "anullsrc=r=44100:cl=stereo,atrim=duration=2.000000[a0]"  # MUTE has no audio
    assert graph[7] == "[a0][a1][a2]concat=n=3:v=0:a=1[aout]"


def test_segmented_outputs() -> None:
    hls = plan_transcode(OutputSpec("ts", H264, AAC, segment=Segment("hls", 6, 3)), [TONE], [Clip(0)],
                         playlist_stem="/work/movie")
    args = hls.output_args
    assert (option(args, "-f"), option(args, "-hls_time"), option(args, "-start_number")) == ("hls", "6", "3")
    assert option(args, "-hls_segment_filename") == "/work/movie-%d.ts"
    assert option(args, "-force_key_frames") == "expr:gte(t,n_forced*6)"
    dash = plan_transcode(OutputSpec("mp4", VideoSettings(), AAC, segment=Segment("dash", 4)), [TONE],
                          [Clip(0)], playlist_stem="/work/movie")
    args = dash.output_args
    assert (option(args, "-f"), option(args, "-seg_duration")) == ("dash", "4")
    assert option(args, "-media_seg_name") == "movie-$RepresentationID$-$Number$.m4s"
    assert "-force_key_frames" not in args  # a copied video is cut at its own keyframes


def test_billing_items_and_master_playlist() -> None:
    sd = plan_transcode(OutputSpec("mp4", VideoSettings(codec="h264", resolution=(1280, 720)), AAC), [TONE],
                        [Clip(0)])
    assert (billable_item(sd), billable_minutes(sd)) == ("MediaTranscodeH264SD", 1)
    hd = plan_transcode(OutputSpec("mp4", VideoSettings(codec="h265", resolution=(1080, 1920)), None),
                        [MUTE], [Clip(0)])
    assert billable_item(hd) == "MediaTranscodeH265HD"  # long x short side decides the tier
    audio_only = plan_transcode(OutputSpec("mp3", None, AudioSettings("mp3")), [TONE], [Clip(0)])
    remux = plan_transcode(OutputSpec("mkv", VideoSettings(), None), [TONE], [Clip(0)])
    assert (billable_item(audio_only), billable_item(remux)) == ("MediaTranscodeAudio", "MediaTranscodeRemux")
    assert master_playlist([("720/index.m3u8", sd, 900000, 800000)]).splitlines() == [
        "#EXTM3U", "#EXT-X-VERSION:3",
        "#EXT-X-STREAM-INF:BANDWIDTH=900000,AVERAGE-BANDWIDTH=800000,RESOLUTION=1280x720,FRAME-RATE=25.000",
        "720/index.m3u8"]


KEYS = ["URI", "Container", "Video", "Audio", "Segment", "Speed", "TranscodeVideo", "TranscodeAudio",
        "FilterVideo", "Codec", "CRF", "Bitrate", "Resolution", "FrameRate", "SampleRate", "Channel",
        "Format", "Duration", "Watermarks", "Delogos", "Type", "Content", "Width", "Dx", "ReferPos",
        "DisableVideo", "Rotation"]
VALUES = ["oss://media/o", "mp4", "ts", "mp3", "h264", "aac", "opus", "hls", "dash", "640x", "x", "text"]
fields = st.recursive(
    st.one_of(json_scalars, st.sampled_from(VALUES)),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=5),
    max_leaves=16)


@settings(max_examples=300, deadline=None)
@given(target=st.dictionaries(st.sampled_from(KEYS), fields, max_size=6))
def test_malformed_targets_are_refused_naming_a_field(target: dict) -> None:
    """Any target either parses and plans, or is an InvalidArgument naming a Targets[0] field."""
    try:
        parsed = parse_transcode_target(target, "Targets[0]")
    except ServiceError as err:
        assert (err.status, err.code) == (400, "InvalidArgument")
        assert err.message.startswith("The parameter Targets[0]")
        return
    try:
        plan_transcode(parsed.spec, [TONE], [Clip(0)], playlist_stem="/w/out")
    except PlanError as err:
        assert err.field.startswith("Targets[0]")
