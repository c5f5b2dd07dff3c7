"""x-oss-process plans as data: parsing, geometry, saveas bodies and refusals, without images."""

from __future__ import annotations

import pytest

from emulator.core.errors import ServiceError
from emulator.media.plan import SourceFrames
from emulator.media.snapshot import plan_snapshot
from emulator.services.oss import process as p
from emulator.services.oss.async_jobs import AsyncJob, parse_async_body


def test_chained_actions_become_typed_operations() -> None:
    job = p.parse("image/resize,m_fill,h_100,w_120/rotate,90/format,webp/quality,Q_70/interlace,1")
    assert job == p.ImageJob((p.Resize(mode="fill", w=120, h=100), p.Rotate(90), p.Format("webp"),
                              p.Quality(70, absolute=True), p.Interlace(True)))


def test_later_duplicate_key_overrides() -> None:
    assert p.parse("image/resize,w_10,w_20") == p.ImageJob((p.Resize(w=20),))


@pytest.mark.parametrize(("mode", "size"), [
    ("lfit", (100, 75)), ("mfit", (133, 100)), ("fill", (100, 100)), ("pad", (100, 100)),
    ("fixed", (100, 100))])
def test_resize_modes_on_a_4_by_3_source(mode: str, size: tuple[int, int]) -> None:
    g = p.resize_geometry(400, 300, p.Resize(mode=mode, w=100, h=100))
    assert (g.out_w, g.out_h) == size
    if mode == "fill":
        assert (g.scale_w, g.scale_h) == (133, 100)  # cover, then the centre 100x100
    if mode == "pad":
        assert (g.scale_w, g.scale_h) == (100, 75)  # fit, then padded to 100x100


@pytest.mark.parametrize(("op", "size"), [
    (p.Resize(w=200), (200, 150)), (p.Resize(h=100), (133, 100)), (p.Resize(l=200), (200, 150)),
    (p.Resize(s=100), (133, 100)), (p.Resize(p=50), (200, 150)), (p.Resize(w=800), (400, 300)),
    (p.Resize(w=800, limit=False), (800, 600)), (p.Resize(p=200), (400, 300)),
    (p.Resize(mode="fixed", w=50), (50, 38)), (p.Resize(w=200, p=50), (100, 75))])
def test_resize_sizes(op: p.Resize, size: tuple[int, int]) -> None:
    g = p.resize_geometry(400, 300, op)
    assert (g.out_w, g.out_h) == size


def test_longer_side_follows_orientation() -> None:
    g = p.resize_geometry(300, 400, p.Resize(l=200))
    assert (g.out_w, g.out_h) == (150, 200)


def test_resize_past_the_output_limit_is_refused() -> None:
    with pytest.raises(ServiceError) as err:
        p.resize_geometry(4000, 4000, p.Resize(mode="fixed", w=5000, h=5000, limit=False))
    assert err.value.code == "InvalidArgument" and err.value.details["EC"] == "0040-00000007"


@pytest.mark.parametrize(("op", "box"), [
    (p.Crop(x=10, y=20, w=100, h=50), (10, 20, 110, 70)),
    (p.Crop(w=0, h=0, x=390), (390, 0, 400, 300)),
    (p.Crop(g="center", w=50, h=50), (133, 100, 183, 150)),
    (p.Crop(g="se", x=10, y=10), (276, 210, 400, 300)),
    (p.Crop(w=1000, h=1000, x=300, y=200), (300, 200, 400, 300))])
def test_crop_boxes(op: p.Crop, box: tuple[int, int, int, int]) -> None:
    assert p.crop_box(400, 300, op) == box


def test_crop_origin_outside_is_bad_request() -> None:
    with pytest.raises(ServiceError) as err:
        p.crop_box(400, 300, p.Crop(x=400))
    assert (err.value.code, err.value.message) == ("BadRequest", "Advance cut's position is out of image.")


def test_index_crop_slices_and_past_the_end() -> None:
    assert p.index_crop_box(400, 300, p.IndexCrop("x", 150, 2)) == (300, 0, 400, 300)
    assert p.index_crop_box(400, 300, p.IndexCrop("y", 100, 1)) == (0, 100, 400, 200)
    assert p.index_crop_box(400, 300, p.IndexCrop("x", 150, 3)) is None


def test_circle_radius_is_cut_to_half_the_shorter_side() -> None:
    assert p.circle_radius(400, 300, 500) == 150
    assert p.circle_radius(400, 300, 40) == 40


def test_rotated_canvas() -> None:
    assert p.rotated_size(400, 300, 90) == (300, 400)
    assert p.rotated_size(400, 300, 180) == (400, 300)
    assert p.rotated_size(100, 100, 45) == (142, 142)


def test_quality() -> None:
    assert p.relative_quality(90, p.Quality(50, absolute=False)) == 45
    assert p.relative_quality(70, p.Quality(90, absolute=True)) == 70
    assert p.relative_quality(None, p.Quality(30, absolute=False)) == 30


def test_watermark_parameters_are_decoded() -> None:
    job = p.parse("image/watermark,text_SGVsbG8gT1NT,color_FF0000,size_30,g_nw,x_5,y_6,t_50")
    mark = job.ops[0]
    assert isinstance(mark, p.Watermark)
    assert (mark.text, mark.color, mark.size, mark.g, mark.x, mark.y, mark.t) == \
        ("Hello OSS", "FF0000", 30, "nw", 5, 6, 50)
    image = p.parse("image/watermark,image_bG9nby5wbmc_eC1vc3MtcHJvY2Vzcz1pbWFnZS9yZXNpemUsUF8zMA")
    assert image.watermark_objects == ["logo.png"]


def test_snapshot_job() -> None:
    assert p.parse("video/snapshot,t_7000,f_jpg,w_800,h_600,m_fast,ar_auto") == \
        p.SnapshotJob(7000, "jpg", 800, 600, True, "auto")


def test_saveas_body() -> None:
    process, save = p.parse_post_body(b"x-oss-process=image/resize,w_100|sys/saveas,o_b3V0LmpwZw,b_bWVkaWE")
    assert process == "image/resize,w_100" and save == p.SaveAs("out.jpg", "media")
    assert p.parse_post_body(b"x-oss-process=image/info") == ("image/info", None)
    _, padded = p.parse_post_body(b"x-oss-process=image/info|sys/saveas,o_b3V0LmpwZw==")
    assert padded == p.SaveAs("out.jpg")


@pytest.mark.parametrize(("text", "code"), [
    ("image/resize", "MissingArgument"), ("image/resize,w_0", "InvalidArgument"),
    ("image/resize,w_abc", "InvalidArgument"), ("image/resize,m_abc,w_10", "InvalidArgument"),
    ("image/resize,w_10,zz_1", "InvalidArgument"), ("image/rotate,a_90", "InvalidArgument"),
    ("image/rotate,400", "InvalidArgument"), ("image/format,f_png", "InvalidArgument"),
    ("image/format,heic", "NotImplemented"), ("image/bright,200", "InvalidArgument"),
    ("image/sharpen,10", "InvalidArgument"), ("image/blur,r_3", "MissingArgument"),
    ("image/nope", "InvalidArgument"), ("image/", "InvalidArgument"), ("image/resize,w_10//rotate,9",
                                                                      "InvalidArgument"),
    ("image/info/resize,w_10", "InvalidArgument"), ("image/indexcrop,x_10,y_10", "InvalidArgument"),
    ("image/watermark,text_a+b", "InvalidArgument"), ("image/watermark,size_10", "MissingArgument"),
    ("image/faces", "NotImplemented"), ("video/snapshot,t_10", "MissingArgument"),
    ("video/snapshot,f_jpg", "MissingArgument"), ("video/snapshot,t_1,f_gif", "InvalidArgument"),
    ("video/info", "NotImplemented"), ("audio/info", "NotImplemented"), ("hello", "InvalidArgument"),
    ("style/", "InvalidArgument")])
def test_refusals(text: str, code: str) -> None:
    with pytest.raises(ServiceError) as err:
        p.parse(text)
    assert err.value.code == code and err.value.status == 400


@pytest.mark.parametrize("body", [b"", b"x-oss-process=", b"process=image/info", b"\xff",
                                  b"x-oss-process=image/info|sys/saveas,b_bWVkaWE",
                                  b"x-oss-process=image/info|sys/saveas,o_@@",
                                  b"x-oss-process=image/info|sys/other,o_b3V0"])
def test_bad_saveas_bodies(body: bytes) -> None:
    with pytest.raises(ServiceError) as err:
        p.parse_post_body(body)
    assert err.value.status == 400


def _frames() -> SourceFrames:
    # 10 fps, 120 frames, a keyframe every 10 frames, 320x240
    return SourceFrames(tuple(i / 10 for i in range(120)), tuple(range(0, 120, 10)), 320, 240)


def test_snapshot_plans_the_frame_at_t_or_the_keyframe_before() -> None:
    assert plan_snapshot(_frames(), 3450).frame == 34
    assert plan_snapshot(_frames(), 3450, fast=True).frame == 30
    assert plan_snapshot(_frames(), 99_000).frame == 119  # past the end: the last frame
    assert plan_snapshot(_frames(), 99_000, fast=True).frame == 110
    g = plan_snapshot(_frames(), 0, width=160).geometry
    assert (g.out_w, g.out_h) == (160, 120)
    g = plan_snapshot(_frames(), 0, width=100, height=100).geometry
    assert (g.out_w, g.out_h) == (100, 100)


def test_async_body_with_saveas_and_notify() -> None:
    job = parse_async_body(b"x-oss-async-process=video/animation,f_gif,w_160,inter_500,num_4,ss_1000,"
                           b"fps_8,scaletype_crop|sys/saveas,o_b3V0LmdpZg,b_bWVkaWE/notify,topic_ZG9uZQ")
    assert job == AsyncJob(p.Animation("gif", 160, None, 500, 8.0, 4, 1000, "crop"),
                           p.SaveAs("out.gif", "media"), "done")
    assert job.name == "video/animation"
    assert parse_async_body(b"x-oss-async-process=video/animation,f_webp|sys/saveas,o_b3V0").notify_topic \
        is None
