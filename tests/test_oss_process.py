"""x-oss-process through oss2 (V1, V4) and alibabacloud-oss-v2 against a live emulator: every output
opened with Pillow (format, exact size, where the quadrants went), presigned URLs, save-as, styles,
video snapshots read by their frame code, refusals and billing."""

from __future__ import annotations

import io
import json
from pathlib import Path

import alibabacloud_oss_v2 as oss
import httpx
import oss2
import pytest
from PIL import Image

from emulator.media.framecode import read_frame_index
from emulator.testing.server import LiveServer
from tests.oss_clients import oss2_bucket, v2_client

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
RED, GREEN, BLUE, YELLOW = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)


def quadrants(width: int = 400, height: int = 300) -> Image.Image:
    """Red top-left, green top-right, blue bottom-left, yellow bottom-right."""
    image = Image.new("RGB", (width, height), RED)
    image.paste(GREEN, (width // 2, 0, width, height // 2))
    image.paste(BLUE, (0, height // 2, width // 2, height))
    image.paste(YELLOW, (width // 2, height // 2, width, height))
    return image


def encoded(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def near(pixel, color, tolerance: int = 40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel[:3], color, strict=True))


@pytest.fixture(params=["v1", "v4"])
def bucket(request, emulator: LiveServer) -> oss2.Bucket:
    b = oss2_bucket(emulator, "media", request.param)
    b.create_bucket()
    b.put_object("q.png", encoded(quadrants(), "PNG"))
    b.put_object("q.jpg", encoded(quadrants(), "JPEG", quality=90))
    return b


def fetch(bucket: oss2.Bucket, key: str, process: str) -> tuple[Image.Image, str]:
    result = bucket.get_object(key, process=process)
    image = Image.open(io.BytesIO(result.read()))
    image.load()
    return image, result.headers["Content-Type"]


@pytest.mark.parametrize(("process", "size"), [
    ("image/resize,m_lfit,w_100,h_100", (100, 75)), ("image/resize,m_mfit,w_100,h_100", (133, 100)),
    ("image/resize,m_fill,w_100,h_100", (100, 100)), ("image/resize,m_pad,w_100,h_100", (100, 100)),
    ("image/resize,m_fixed,w_100,h_50", (100, 50)), ("image/resize,w_200", (200, 150)),
    ("image/resize,l_200", (200, 150)), ("image/resize,s_60", (80, 60)), ("image/resize,p_25", (100, 75)),
    ("image/resize,w_800", (400, 300)), ("image/resize,w_800,limit_0", (800, 600))])
def test_resize_modes(bucket: oss2.Bucket, process: str, size: tuple[int, int]) -> None:
    image, content_type = fetch(bucket, "q.png", process)
    assert image.format == "PNG" and content_type == "image/png"
    assert image.size == size
    top, bottom = (15, size[1] - 16) if "m_pad" in process else (2, size[1] - 3)  # pad: white bars
    assert near(image.getpixel((2, top)), RED) and near(image.getpixel((size[0] - 3, bottom)), YELLOW)


def test_pad_fills_with_the_colour_and_fill_crops_the_centre(bucket: oss2.Bucket) -> None:
    padded, _ = fetch(bucket, "q.png", "image/resize,m_pad,w_100,h_100,color_00FFFF")
    assert near(padded.getpixel((50, 5)), (0, 255, 255)) and near(padded.getpixel((50, 95)), (0, 255, 255))
    assert near(padded.getpixel((10, 20)), RED)  # the picture starts at y 12
    filled, _ = fetch(bucket, "q.png", "image/resize,m_fill,w_100,h_100")
    # 133x100 cut to its centre 100 columns: the colour boundary stays in the middle.
    assert near(filled.getpixel((45, 10)), RED) and near(filled.getpixel((55, 10)), GREEN)


def test_crop_box_and_gravity(bucket: oss2.Bucket) -> None:
    image, _ = fetch(bucket, "q.png", "image/crop,x_190,y_140,w_20,h_20")
    assert image.size == (20, 20)
    assert near(image.getpixel((2, 2)), RED) and near(image.getpixel((17, 2)), GREEN)
    assert near(image.getpixel((2, 17)), BLUE) and near(image.getpixel((17, 17)), YELLOW)
    corner, _ = fetch(bucket, "q.png", "image/crop,g_se,x_100,y_90")  # from (366, 290) to the edge
    assert corner.size == (34, 10) and near(corner.getpixel((5, 5)), YELLOW)


def test_rotate_flip_and_orientation(bucket: oss2.Bucket) -> None:
    turned, _ = fetch(bucket, "q.png", "image/rotate,90")
    assert turned.size == (300, 400)
    assert near(turned.getpixel((5, 5)), BLUE) and near(turned.getpixel((294, 5)), RED)
    tilted, _ = fetch(bucket, "q.png", "image/rotate,45")
    assert tilted.size == (495, 495)
    flipped, _ = fetch(bucket, "q.png", "image/flip,1")
    assert near(flipped.getpixel((5, 5)), GREEN)
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: shown rotated 90 degrees clockwise
    bucket.put_object("side.jpg", encoded(quadrants(), "JPEG", exif=exif.tobytes()))
    upright, _ = fetch(bucket, "side.jpg", "image/auto-orient,1")
    assert upright.size == (300, 400) and near(upright.getpixel((5, 5)), BLUE)
    kept, _ = fetch(bucket, "side.jpg", "image/auto-orient,0")
    assert kept.size == (400, 300)


def test_indexcrop_circle_and_rounded_corners(bucket: oss2.Bucket) -> None:
    piece, _ = fetch(bucket, "q.png", "image/indexcrop,x_150,i_2")
    assert piece.size == (100, 300) and near(piece.getpixel((50, 250)), YELLOW)
    whole, _ = fetch(bucket, "q.png", "image/indexcrop,x_150,i_9")
    assert whole.size == (400, 300)
    circle, content_type = fetch(bucket, "q.png", "image/circle,r_100")
    assert circle.size == (200, 200) and circle.mode == "RGBA" and content_type == "image/png"
    assert circle.getpixel((1, 1))[3] == 0 and circle.getpixel((100, 100))[3] == 255
    jpg_circle, _ = fetch(bucket, "q.jpg", "image/circle,r_100")
    assert jpg_circle.format == "JPEG" and near(jpg_circle.getpixel((1, 1)), (255, 255, 255))
    rounded, _ = fetch(bucket, "q.png", "image/rounded-corners,r_30")
    assert rounded.size == (400, 300) and rounded.getpixel((0, 0))[3] == 0
    assert rounded.getpixel((30, 30))[3] == 255


def test_formats_quality_and_interlace(bucket: oss2.Bucket) -> None:
    for fmt, pillow, content_type in [("jpg", "JPEG", "image/jpeg"), ("png", "PNG", "image/png"),
                                      ("webp", "WEBP", "image/webp"), ("bmp", "BMP", "image/bmp"),
                                      ("gif", "GIF", "image/gif"), ("tiff", "TIFF", "image/tiff")]:
        image, got_type = fetch(bucket, "q.png", f"image/resize,w_100/format,{fmt}")
        assert (image.format, got_type, image.size) == (pillow, content_type, (100, 75))
    from emulator.media.image import jpeg_quality

    half, _ = fetch(bucket, "q.jpg", "image/quality,q_50")
    assert abs(jpeg_quality(half) - 45) <= 2  # 50% of the source's 90
    absolute, _ = fetch(bucket, "q.png", "image/format,jpg/quality,Q_30")
    assert abs(jpeg_quality(absolute) - 30) <= 2
    progressive, _ = fetch(bucket, "q.jpg", "image/interlace,1")
    assert progressive.info.get("progressive") or progressive.info.get("progression")
    baseline, _ = fetch(bucket, "q.jpg", "image/interlace,0")
    assert not (baseline.info.get("progressive") or baseline.info.get("progression"))


def test_effects_change_pixels_as_asked(bucket: oss2.Bucket) -> None:
    bright, _ = fetch(bucket, "q.png", "image/bright,50")
    assert bright.getpixel((300, 50))[0] >= 120  # green's red channel lifted by about 128
    dark, _ = fetch(bucket, "q.png", "image/contrast,-100")
    assert abs(dark.getpixel((5, 5))[0] - dark.getpixel((395, 5))[0]) < 30
    blurred, _ = fetch(bucket, "q.png", "image/blur,r_10,s_10")
    edge = blurred.getpixel((200, 75))
    assert 40 < edge[0] < 215 and 40 < edge[1] < 215  # the red / green edge is smeared
    sharp, _ = fetch(bucket, "q.png", "image/sharpen,100")
    assert sharp.size == (400, 300)


def test_watermarks_text_and_image(bucket: oss2.Bucket) -> None:
    plain = quadrants().convert("RGB")
    marked, _ = fetch(bucket, "q.png", "image/watermark,text_T1NTIEVtdWxhdG9y,color_FFFFFF,size_40")
    changed = [(x, y) for x in range(0, 400, 2) for y in range(0, 300, 2)
               if marked.getpixel((x, y))[:3] != plain.getpixel((x, y))]
    xs, ys = [x for x, _ in changed], [y for _, y in changed]
    assert changed and min(xs) > 100 and min(ys) > 220  # the se corner, 10 px from both edges
    assert max(xs) <= 390 and max(ys) <= 290
    logo = Image.new("RGBA", (100, 100), (0, 0, 0, 255))
    bucket.put_object("logo.png", encoded(logo, "PNG"))
    import base64

    key = base64.urlsafe_b64encode(b"logo.png?x-oss-process=image/resize,w_40").decode().rstrip("=")
    stamped, _ = fetch(bucket, "q.png", f"image/watermark,image_{key},g_nw,x_0,y_0")
    assert near(stamped.getpixel((20, 20)), (0, 0, 0), 5) and near(stamped.getpixel((45, 45)), RED, 5)
    missing = base64.urlsafe_b64encode(b"none.png").decode().rstrip("=")
    with pytest.raises(oss2.exceptions.OssError) as err:
        bucket.get_object("q.png", process=f"image/watermark,image_{missing}")
    assert (err.value.status, err.value.code) == (400, "WatermarkError")


def test_a_watermark_larger_than_the_image(bucket: oss2.Bucket) -> None:
    """The part inside the image is drawn; margins that push all of it off leave the image as
    it was (both used to answer 500)."""
    bucket.put_object("dot.png", encoded(Image.new("RGB", (24, 24), (0, 0, 255)), "PNG"))
    for process, changed in (("image/watermark,text_SGVsbG8,color_FFFFFF,size_40,g_nw,x_0,y_0", True),
                             ("image/watermark,text_SGVsbG8,size_40,x_30", False)):  # se: 30 px to the left
        marked, _ = fetch(bucket, "dot.png", process)
        assert marked.size == (24, 24)
        assert any(marked.getpixel((x, y)) != (0, 0, 255) for x in range(24) for y in range(24)) == changed


def test_info_and_average_hue(bucket: oss2.Bucket) -> None:
    info = json.loads(bucket.get_object("q.jpg", process="image/info").read())
    size = len(bucket.get_object("q.jpg").read())
    assert info["ImageWidth"] == {"value": "400"} and info["ImageHeight"] == {"value": "300"}
    assert info["Format"] == {"value": "jpg"} and info["FileSize"] == {"value": str(size)}
    assert info["FrameCount"] == {"value": "1"}
    Image.new("RGB", (10, 10), (0x5C, 0x78, 0x3B)).save(buf := io.BytesIO(), "PNG")
    bucket.put_object("hue.png", buf.getvalue())
    assert json.loads(bucket.get_object("hue.png", process="image/average-hue").read()) == {"RGB": "0x5c783b"}


def test_chained_actions_apply_left_to_right(bucket: oss2.Bucket) -> None:
    image, content_type = fetch(bucket, "q.jpg", "image/resize,w_100/rotate,90/format,webp")
    assert (image.format, content_type, image.size) == ("WEBP", "image/webp", (75, 100))
    assert near(image.getpixel((3, 3)), BLUE)


def test_presigned_urls_sign_the_process(bucket: oss2.Bucket) -> None:
    url = bucket.sign_url("GET", "q.png", 600, params={"x-oss-process": "image/resize,w_50"})
    answer = httpx.get(url)
    assert answer.status_code == 200 and Image.open(io.BytesIO(answer.content)).size == (50, 38)
    tampered = url.replace("w_50", "w_60")
    refused = httpx.get(tampered)
    assert refused.status_code == 403 and b"<Code>SignatureDoesNotMatch</Code>" in refused.content


def test_v2_sdk_get_and_presign(emulator: LiveServer) -> None:
    client = v2_client(emulator)
    client.put_bucket(oss.PutBucketRequest(bucket="media"))
    client.put_object(oss.PutObjectRequest(bucket="media", key="q.png", body=encoded(quadrants(), "PNG")))
    result = client.get_object(oss.GetObjectRequest(bucket="media", key="q.png",
                                                    process="image/crop,w_200,h_150/format,jpg"))
    image = Image.open(io.BytesIO(result.body.read()))
    assert (image.format, image.size) == ("JPEG", (200, 150)) and near(image.getpixel((100, 75)), RED)
    signed = client.presign(oss.GetObjectRequest(bucket="media", key="q.png", process="image/resize,h_30"))
    answer = httpx.get(signed.url)
    assert answer.status_code == 200 and Image.open(io.BytesIO(answer.content)).size == (40, 30)
    with pytest.raises(oss.exceptions.OperationError) as err:
        client.get_object(oss.GetObjectRequest(bucket="media", key="q.png", process="image/resize,w_0"))
    assert err.value.unwrap().code == "InvalidArgument"
    v1 = v2_client(emulator, "v1")  # x-oss-process is not in v2's own V1 sub-resource list
    result = v1.get_object(oss.GetObjectRequest(bucket="media", key="q.png", process="image/resize,w_20"))
    assert Image.open(io.BytesIO(result.body.read())).size == (20, 15)
    head = v1.head_object(oss.HeadObjectRequest(bucket="media", key="q.png"))
    assert head.content_type == "image/png"


def test_save_as_with_both_sdks(bucket: oss2.Bucket, emulator: LiveServer) -> None:
    bucket.put_object("dummy", b"")
    target = oss2_bucket(emulator, "thumbs")
    target.create_bucket()
    import base64

    def b64(text: str) -> str:
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    result = bucket.process_object("q.png", f"image/resize,w_100|sys/saveas,o_{b64('small/q.png')},"
                                            f"b_{b64('thumbs')}")
    saved = target.get_object("small/q.png").read()
    assert (result.status, result.bucket, result.object, result.fileSize) == (200, "thumbs", "small/q.png",
                                                                               len(saved))
    assert result.process_status == "OK" and Image.open(io.BytesIO(saved)).size == (100, 75)
    client = v2_client(emulator)
    answer = client.process_object(oss.ProcessObjectRequest(
        bucket="media", key="q.png", process=f"image/rotate,90/format,jpg|sys/saveas,o_{b64('r.jpg')}"))
    assert (answer.bucket, answer.key, answer.process_status) == ("media", "r.jpg", "OK")
    rotated = Image.open(io.BytesIO(bucket.get_object("r.jpg").read()))
    assert (rotated.format, rotated.size) == ("JPEG", (300, 400))
    assert answer.file_size == bucket.head_object("r.jpg").content_length
    before = {o.key for o in oss2.ObjectIterator(bucket)}
    with pytest.raises(oss2.exceptions.NoSuchBucket):
        bucket.process_object("q.png", f"image/resize,w_10|sys/saveas,o_{b64('x.png')},b_{b64('nowhere')}")
    with pytest.raises(oss2.exceptions.OssError) as err:
        bucket.process_object("q.png", f"image/resize,w_0|sys/saveas,o_{b64('x.png')}")
    assert err.value.code == "InvalidArgument"
    assert {o.key for o in oss2.ObjectIterator(bucket)} == before


def test_styles(bucket: oss2.Bucket) -> None:
    bucket.put_bucket_style("thumb", "image/resize,w_80/format,webp")
    got = bucket.get_bucket_style("thumb")
    assert (got.name, got.content) == ("thumb", "image/resize,w_80/format,webp")
    bucket.put_bucket_style("tiny", "image/resize,w_8")
    assert sorted(s.name for s in bucket.list_bucket_style().styles) == ["thumb", "tiny"]
    image, content_type = fetch(bucket, "q.png", "style/thumb")
    assert (image.format, content_type, image.size) == ("WEBP", "image/webp", (80, 60))
    bucket.delete_bucket_style("thumb")
    with pytest.raises(oss2.exceptions.OssError) as err:
        bucket.get_object("q.png", process="style/thumb")
    assert (err.value.status, err.value.code) == (404, "NoSuchStyle")
    with pytest.raises(oss2.exceptions.OssError) as err:
        bucket.put_bucket_style("bad", "image/resize,w_0")
    assert err.value.code == "InvalidArgument"


def test_v2_styles(emulator: LiveServer) -> None:
    client = v2_client(emulator)
    client.put_bucket(oss.PutBucketRequest(bucket="media"))
    client.put_style(oss.PutStyleRequest(bucket="media", style_name="s1",
                                         style=oss.StyleContent(content="image/rotate,90")))
    got = client.get_style(oss.GetStyleRequest(bucket="media", style_name="s1"))
    assert got.style.content == "image/rotate,90" and got.style.category == "image"
    listed = client.list_style(oss.ListStyleRequest(bucket="media"))
    assert [s.name for s in listed.style_list.styles] == ["s1"]
    client.delete_style(oss.DeleteStyleRequest(bucket="media", style_name="s1"))
    assert not client.list_style(oss.ListStyleRequest(bucket="media")).style_list.styles


def test_refusals_are_oss_errors_and_change_nothing(bucket: oss2.Bucket) -> None:
    bucket.put_object("notes.txt", b"hello, not an image")
    cases = [("notes.txt", "image/resize,w_50", 400, "BadRequest"),
             ("q.png", "image/resize,w_abc", 400, "InvalidArgument"),
             ("q.png", "image/crop,x_500", 400, "BadRequest"),
             ("q.png", "image/unknown,1", 400, "InvalidArgument"),
             ("missing.png", "image/resize,w_5", 404, "NoSuchKey"),
             ("q.png", "video/snapshot,t_0,f_jpg", 400, "InvalidArgument"),
             ("q.png", "image/format,heic", 400, "NotImplemented")]
    for key, process, status, code in cases:
        with pytest.raises(oss2.exceptions.OssError) as err:
            bucket.get_object(key, process=process)
        assert (err.value.status, err.value.code) == (status, code), process
    assert bucket.get_object("notes.txt").read() == b"hello, not an image"


def test_video_snapshot_frames(bucket: oss2.Bucket) -> None:
    # 120 frames at 10 fps, a keyframe every 10 frames; each frame shows its index as a code.
    bucket.put_object("v.mp4", (FIXTURES / "counter_320x240_10fps_12s_gop10.mp4").read_bytes())
    cases = [("t_3450,f_jpg", 34, (320, 240), "JPEG"), ("t_3450,f_png,m_fast", 30, (320, 240), "PNG"),
             ("t_0,f_jpg,w_160", 0, (160, 120), "JPEG"), ("t_7000,f_png,h_60", 70, (80, 60), "PNG"),
             ("t_99000,f_jpg", 119, (320, 240), "JPEG"), ("t_5000,f_jpg,w_100,h_100,ar_auto", 50, (100, 100),
                                                          "JPEG")]
    for params, frame, size, fmt in cases:
        image, content_type = fetch(bucket, "v.mp4", f"video/snapshot,{params}")
        assert (image.format, image.size) == (fmt, size), params
        assert content_type == ("image/jpeg" if fmt == "JPEG" else "image/png")
        assert read_frame_index(image.convert("RGB")) == frame, params
    with pytest.raises(oss2.exceptions.OssError) as err:
        bucket.get_object("q.png", process="video/snapshot,t_0,f_jpg")
    assert err.value.code == "InvalidArgument"


def test_snapshot_save_as_and_billing(bucket: oss2.Bucket, emulator: LiveServer) -> None:
    bucket.put_object("v.mov", (FIXTURES / "counter_160x120_25fps_4s_gop50.mov").read_bytes())
    result = bucket.process_object("v.mov", "video/snapshot,t_2000,f_png|sys/saveas,o_Zi5wbmc")
    frame = Image.open(io.BytesIO(bucket.get_object("f.png").read()))
    assert result.object == "f.png" and frame.size == (160, 120)
    assert read_frame_index(frame.convert("RGB")) == 50
    bucket.get_object("q.png", process="image/resize,w_10").read()
    items = {i["billable_item"]: i for i in emulator.admin("GET", "billing")["oss"]["items"]}
    assert items["VideoSnapshot"]["quantity"] == 1 and items["VideoSnapshot"]["unit"] == "count"
    assert items["ImageProcessing"]["quantity"] == bucket.head_object("q.png").content_length


def test_animated_gif_keeps_its_frames_through_resize_and_crop(bucket: oss2.Bucket) -> None:
    from emulator.media.framecode import draw_frame

    frames = [draw_frame(i, 160, 120) for i in range(6)]
    frames[0].save(buf := io.BytesIO(), "GIF", save_all=True, append_images=frames[1:], duration=120, loop=0)
    bucket.put_object("anim.gif", buf.getvalue())
    for process, size in [("image/resize,w_80", (80, 60)), ("image/crop,w_160,h_100", (160, 100)),
                          ("image/resize,w_80/format,webp", (80, 60))]:
        image, _ = fetch(bucket, "anim.gif", process)
        assert image.size == size and image.n_frames == 6, process
        for index in range(6):
            image.seek(index)
            image.load()
            assert image.info["duration"] == 120
            content = (0, 0, 160, 120) if "crop" in process else None
            assert read_frame_index(image.convert("RGB"), content) == index, (process, index)
    still, _ = fetch(bucket, "anim.gif", "image/rotate,90")
    assert getattr(still, "n_frames", 1) == 1 and still.size == (120, 160)


def test_documented_limits(emulator: LiveServer) -> None:
    import os

    bucket = oss2_bucket(emulator, "limits")
    bucket.create_bucket()
    bucket.put_object("wide.png", encoded(Image.new("L", (30_001, 2)), "PNG"))
    noise = Image.frombytes("RGB", (3000, 2500), os.urandom(3000 * 2500 * 3))
    bucket.put_object("heavy.png", encoded(noise, "PNG", compress_level=0))  # over 20 MB
    bucket.put_object("q.png", encoded(quadrants(), "PNG"))
    for key, process, code in [("wide.png", "image/resize,w_10", "ImageTooLarge"),
                               ("heavy.png", "image/info", "ImageTooLarge"),
                               ("q.png", "image/resize,m_fixed,w_5000,h_5000,limit_0", "InvalidArgument")]:
        with pytest.raises(oss2.exceptions.OssError) as err:
            bucket.get_object(key, process=process)
        assert (err.value.status, err.value.code) == (400, code), process
