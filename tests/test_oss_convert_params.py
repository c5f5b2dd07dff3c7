"""`video/convert` / `audio/convert` parameters mapped onto the transcoding engine's settings as
plain data (no ffmpeg, no server): defaults, the 0/1/2 options, windows, audio containers, and the
refusals that name the parameter."""

from __future__ import annotations

import pytest

from emulator.core.errors import ServiceError
from emulator.media.transcode import (
    AudioSettings,
    Clip,
    PlanError,
    SourceMedia,
    VideoSettings,
    plan_transcode,
)
from emulator.services.oss.async_convert import plan_parameter
from emulator.services.oss.async_jobs import parse_operation
from emulator.services.oss.concat_params import Concat, ConcatPart, parse_concat
from emulator.services.oss.convert_params import Conversion, parse_conversion
from emulator.services.oss.snapshot_params import (
    Snapshots,
    Sprite,
    parse_snapshots,
    parse_sprite,
    sheet_size,
    snapshot_geometry,
    snapshot_keys,
)

SOURCE = SourceMedia(duration=6.0, width=192, height=144, fps=25.0, video_codec="h264", audio_codec="aac",
                     sample_rate=44100, channels=2)


def test_a_console_preset_maps_onto_the_engine() -> None:
    job = parse_conversion("video", "convert,f_mp4,vcodec_h264,fps_25,fpsopt_1,s_640x,sopt_1,scaletype_fit,"
                                    "arotate_1,crf_25,g_250,acodec_aac,ar_44100,ac_2,ab_64000,abopt_1")
    assert job.operation == "video/convert" and job.clip == Clip(0, 0.0, 0.0)
    assert job.spec.container == "mp4"
    assert job.spec.video == VideoSettings(
        codec="h264", crf=25.0, resolution=(640, None), resolution_option="adaptive", long_short=True,
        scale_type="fit", frame_rate=25.0, frame_rate_option="adaptive", gop=250)
    assert job.spec.audio == AudioSettings(codec="aac", bitrate=64000, bitrate_option="adaptive",
                                           sample_rate=44100, channels=2)


def test_defaults_copy_both_streams_and_the_window_is_in_milliseconds() -> None:
    job = parse_conversion("video", "convert,f_mkv,ss_1500,t_2000")
    assert (job.spec.video, job.spec.audio) == (VideoSettings(), AudioSettings())
    assert job.clip == Clip(0, 1.5, 2.0)
    plan = plan_transcode(job.spec, [SOURCE], [job.clip])
    assert (plan.muxer, plan.video_codec, plan.audio_codec) == ("matroska", "copy", "copy")
    assert plan.duration == 2.0


@pytest.mark.parametrize(("text", "options"), [
    ("fpsopt_0,sopt_0,vbopt_0", ("fixed", "fixed", "fixed")),
    ("fpsopt_1,sopt_1,vbopt_1", ("adaptive", "adaptive", "adaptive")),
    ("fpsopt_2,sopt_2,vbopt_2", ("fall", "fall", "fall"))])
def test_the_source_below_target_options(text: str, options: tuple[str, str, str]) -> None:
    video = parse_conversion("video", f"convert,f_mp4,vcodec_h265,{text}").spec.video
    assert video is not None
    assert (video.frame_rate_option, video.resolution_option, video.bitrate_option) == options


def test_audio_containers_drop_video_and_default_to_their_codec() -> None:
    for family in ("video", "audio"):
        for container, codec in (("mp3", "mp3"), ("oga", "vorbis"), ("amr", "amr"), ("opus", "opus")):
            job = parse_conversion(family, f"convert,f_{container}")
            assert job.spec.video is None and job.spec.audio == AudioSettings(codec=codec)
            assert job.operation == f"{family}/convert"
    plan = plan_transcode(parse_conversion("audio", "convert,f_amr").spec, [SOURCE], [Clip(0)])
    assert (plan.muxer, plan.video_codec, plan.sample_rate, plan.channels) == ("amr", None, 8000, 1)


def test_vn_an_and_webm() -> None:
    assert parse_conversion("video", "convert,f_mp4,vn_1").spec.video is None
    assert parse_conversion("video", "convert,f_mp4,an_1,vcodec_h264").spec.audio is None
    webm = parse_conversion("video", "convert,f_webm,vcodec_vp9,acodec_vorbis,pixfmt_yuva420p").spec
    assert webm.video is not None and webm.audio is not None
    assert (webm.video.codec, webm.video.pixel_format, webm.audio.codec) == ("vp9", "yuva420p", "vorbis")
    plan = plan_transcode(webm, [SOURCE], [Clip(0)])
    assert plan.muxer == "webm" and "libvpx-vp9" in plan.output_args
    assert parse_conversion("video", "convert,f_webm,vcodec_vp9").spec.audio == AudioSettings(codec="opus")


@pytest.mark.parametrize(("family", "text", "parameter"), [
    ("video", "convert,vcodec_h264", "'f'"),
    ("video", "convert,f_avi,vcodec_h264,s_65x64", "'s'"),
    ("video", "convert,f_avi,vcodec_h264,s_4098x", "'s'"),
    ("video", "convert,f_avi,vcodec_h264,s_x", "'s'"),
    ("video", "convert,f_avi,vcodec_h264,fps_0", "'fps'"),
    ("video", "convert,f_avi,vcodec_h264,fps_1e3", "'fps'"),
    ("video", "convert,f_avi,vcodec_h264,vb_2000000,crf_20", "'crf'"),
    ("video", "convert,f_avi,vcodec_h264,maxrate_200000", "'bufsize'"),
    ("video", "convert,f_avi,vcodec_h264,pixfmt_yuva420p", "'pixfmt'"),
    ("video", "convert,f_avi,vcodec_h264,scaletype_zoom", "'scaletype'"),
    ("video", "convert,f_avi,vcodec_h264,arotate_2", "'arotate'"),
    ("video", "convert,f_avi,s_640x480", "'s'"),  # vcodec copy
    ("video", "convert,f_avi,ab_64000", "'ab'"),  # acodec copy
    ("video", "convert,f_mp3,vcodec_h264", "'vcodec'"),
    ("video", "convert,f_mp4,vn_1,fps_30", "'fps'"),
    ("video", "convert,f_mp4,an_1,acodec_aac", "'acodec'"),
    ("video", "convert,f_mp3,an_1", "'an'"),
    ("video", "convert,f_webm,vcodec_vp9,acodec_copy", "'acodec'"),  # opus or vorbis only
    ("video", "convert,f_mp4,acodec_mp3,ac_3", "'ac'"),
    ("video", "convert,f_mp4,acodec_aac,ar_12025", "'ar'"),
    ("video", "convert,f_mp4,acodec_aac,ab_64000,aq_50", "'aq'"),
    ("video", "convert,f_mp4,acodec_aac,adepth_16", "'adepth'"),
    ("video", "convert,f_mp4,acodec_aac,acopt_9", "'acopt'"),
    ("video", "convert,f_mp4,ss_-1", "'ss'"),
    ("video", "convert,f_mp4,t_x", "'t'"),
    ("video", "convert,f_mp4,sn_2", "'sn'"),
    ("video", "convert,f_mxf,vcodec_h264", "'an'"),  # MXF: video only
    ("video", "convert,f_mxf,an_1", "'vcodec'"),
    ("video", "convert,f_asf,vcodec_h265", "'vcodec'"),
    ("video", "convert,f_mov,acodec_opus", "'acodec'"),
    ("video", "convert,f_flv,acodec_amr", "'acodec'"),
    ("video", "convert,f_mp3,acodec_copy", "'acodec'"),
    ("audio", "convert,f_mp3,vn_1", "'vn'"),
    ("audio", "convert,f_mp3,s_640x480", "'s'"),
])
def test_bad_values_name_the_parameter(family: str, text: str, parameter: str) -> None:
    with pytest.raises(ServiceError) as err:
        parse_conversion(family, text)
    assert err.value.status == 400 and err.value.code in ("InvalidArgument", "MissingArgument")
    assert parameter in err.value.message, err.value.message


def test_operations_dispatch() -> None:
    assert isinstance(parse_operation("audio/convert,f_flac"), Conversion)
    assert isinstance(parse_operation("video/concat,f_mp4,vcodec_h264,acodec_aac"), Concat)
    for text in ("video/stitch,f_mp4", "audio/concat,f_mp3", "doc/convert"):
        with pytest.raises(ServiceError) as err:
            parse_operation(text)
        assert err.value.code == "NotImplemented"


def test_engine_refusals_are_named_as_oss_parameters() -> None:
    job = parse_conversion("video", "convert,f_mp4,vcodec_h264,s_1280x720,sopt_2")
    with pytest.raises(PlanError) as err:
        plan_transcode(job.spec, [SOURCE], [job.clip])
    assert plan_parameter(err.value) == "s"
    job = parse_conversion("video", "convert,f_mp4,vcodec_h264,fps_50,fpsopt_2")
    with pytest.raises(PlanError) as err:
        plan_transcode(job.spec, [SOURCE], [job.clip])
    assert plan_parameter(err.value) == "fps"
    job = parse_conversion("video", "convert,f_mp4,an_1,vcodec_h264,fps_50,fpsopt_1,s_1280x720,sopt_1")
    plan = plan_transcode(job.spec, [SOURCE], [job.clip])
    assert (plan.width, plan.height, plan.fps, plan.audio_codec) == (192, 144, 25.0, None)


def test_snapshots_parameters_geometry_and_names() -> None:
    op = parse_snapshots("snapshots,f_png,ss_1500,num_4,inter_500,pw_50,scaletype_fit")
    assert op == Snapshots("png", 1500, 4, 500, None, None, 50, None, "fit")
    g = snapshot_geometry(op, 192, 144)
    assert (g.out_w, g.out_h) == (96, 72)  # pw alone: the height follows the aspect ratio
    g = snapshot_geometry(Snapshots("jpg", w=64, pw=10, ph=200), 192, 144)
    assert (g.out_w, g.out_h) == (64, 288)  # w wins over pw; ph applies to the height
    g = snapshot_geometry(Snapshots("jpg", w=100, h=100, scale_type="crop"), 192, 144)
    assert (g.out_w, g.out_h) == (100, 100)
    assert snapshot_keys("out/v", "jpg", 2) == ["out/v_0_1.jpg", "out/v_0_2.jpg"]
    assert snapshot_keys("out.d/v.png", "png", 2) == ["out.d/v.png", "out.d/v.png"]
    assert isinstance(parse_operation("video/snapshots,f_jpg"), Snapshots)


def test_sprite_parameters_and_sheet_size() -> None:
    sprite = parse_sprite("sprite,f_jpg,sw_100,sh_100,inter_10000,tw_10,th_10,pad_0,margin_0")
    assert sprite == Sprite(Snapshots("jpg", inter_ms=10000, w=100, h=100), "interval", (10, 10, 0, 0))
    assert parse_sprite("sprite,f_png,m_key,psw_50").mode == "keyframe"
    assert parse_sprite("sprite,f_png,m_avg,num_3").tile == (6, 6, 2, 2)
    assert sheet_size((3, 2, 2, 4), 64, 48) == (204, 106)
    for text, parameter in (("sprite,f_jpg,m_dhash", "'m'"), ("sprite,f_jpg,m_x", "'m'"),
                            ("sprite,f_jpg,m_avg", "'num'"), ("sprite,f_jpg,thr_101", "'thr'"),
                            ("sprite,f_jpg,pad_-1", "'pad'"), ("sprite,f_jpg,w_100", "'w'")):
        with pytest.raises(ServiceError) as err:
            parse_sprite(text)
        assert parameter in err.value.message, (text, err.value.message)


def test_concat_parts_in_order_and_its_window() -> None:
    job = parse_concat("concat,ss_500,t_2000,f_mkv,vcodec_h265,acodec_opus,align_2/sur,o_Yw,t_1000/pre,o_YQ"
                       "/pre,o_Yg,ss_250")
    assert job.parts == (ConcatPart("a"), ConcatPart("b", 0.25), ConcatPart(None), ConcatPart("c", 0.0, 1.0))
    assert job.align == 2 and job.conversion.clip == Clip(0, 0.5, 2.0)
    assert job.conversion.operation == "video/concat" and job.conversion.spec.container == "mkv"
    for text, parameter in (("concat,f_mp4,vcodec_h264", "'acodec'"),
                            ("concat,f_mp4,vn_1,acodec_copy", "'acodec'"),
                            ("concat,f_mp3,align_1", "'align'"), ("concat,f_mp3/pre,o_YQ,x_1", "'x'"),
                            ("concat,f_mp3/pre,o_+", "pre object name")):
        with pytest.raises(ServiceError) as err:
            parse_concat(text)
        assert parameter in err.value.message, (text, err.value.message)
    assert parse_concat("concat,f_mp3").parts == (ConcatPart(None),)
