"""OSS state configured through the SDKs is unchanged after a restart on the same data directory;
a deleted bucket takes its styles with it."""

from __future__ import annotations

import alibabacloud_oss_v2 as oss
import httpx
import oss2
import pytest

from emulator.services.oss.callback import PUBLIC_KEY_PATH
from emulator.testing.server import LiveServer
from tests.oss_clients import oss2_bucket, v2_client

PART = 100 * 1024
META = {"x-oss-meta-author": "张三".encode(), "Content-Type": "text/plain",
        "Cache-Control": "max-age=60", "Content-Disposition": 'attachment; filename="a.txt"'}


def _snapshot(server: LiveServer) -> dict:
    """Everything the SDKs can read back about the configured state."""
    service = oss2.Service(oss2.Auth(server.access_key_id, server.access_key_secret), server.url)
    public, private = oss2_bucket(server, "public-media"), oss2_bucket(server, "private-media")
    got = public.get_object("dir/说明.txt")
    uploads = oss2.MultipartUploadIterator(private)
    client = v2_client(server)
    return {
        "buckets": sorted(b.name for b in service.list_buckets().buckets),
        "acls": (public.get_bucket_acl().acl, private.get_bucket_acl().acl),
        "info": (public.get_bucket_info().storage_class, private.get_bucket_info().storage_class),
        "object": (got.read(), {k.lower(): v for k, v in got.headers.items()
                                if k.lower() in ("content-type", "cache-control", "content-disposition",
                                                 "x-oss-meta-author", "etag", "last-modified")}),
        "anonymous": httpx.get(f"{server.url}/public-media/dir/%E8%AF%B4%E6%98%8E.txt").content,
        "objects": sorted(o.key for o in oss2.ObjectIterator(private)),
        "uploads": sorted((u.key, u.upload_id) for u in uploads),
        "parts": {u.upload_id: [(p.part_number, p.size, p.etag) for p in
                                oss2.PartIterator(private, u.key, u.upload_id)]
                  for u in oss2.MultipartUploadIterator(private)},
        "styles": sorted((s.name, s.content) for s in public.list_bucket_style().styles),
        "v2_style": client.get_style(oss.GetStyleRequest(bucket="public-media",
                                                         style_name="thumb")).style.content,
        "callback_key": httpx.get(server.url + PUBLIC_KEY_PATH).content,
    }


def test_configured_state_survives_restart(tmp_path) -> None:
    with LiveServer(data_dir=tmp_path) as server:
        public, private = oss2_bucket(server, "public-media"), oss2_bucket(server, "private-media", "v4")
        public.create_bucket(oss2.BUCKET_ACL_PUBLIC_READ)
        private.create_bucket(oss2.BUCKET_ACL_PRIVATE,
                              oss2.models.BucketCreateConfig(oss2.BUCKET_STORAGE_CLASS_IA))
        public.put_object("dir/说明.txt", b"readme", headers=META)
        private.put_object("a.bin", b"a")
        plain = private.init_multipart_upload("big.bin").upload_id
        private.upload_part("big.bin", plain, 1, b"x" * PART)
        private.upload_part("big.bin", plain, 2, b"y")
        seq = private.init_multipart_upload("seq.bin", params={"sequential": ""}).upload_id
        first = private.upload_part("seq.bin", seq, 1, b"s" * PART)
        public.put_bucket_style("thumb", "image/resize,w_80")
        v2_client(server).put_style(oss.PutStyleRequest(bucket="public-media", style_name="tiny",
                                                        style=oss.StyleContent(content="image/resize,w_8")))
        before = _snapshot(server)
    with LiveServer(data_dir=tmp_path) as server:
        assert _snapshot(server) == before
        private = oss2_bucket(server, "private-media")
        # The uploads go on where they stopped: a sequential one still wants part 2 next.
        with pytest.raises(oss2.exceptions.PartNotSequential):
            private.upload_part("seq.bin", seq, 3, b"t")
        second = private.upload_part("seq.bin", seq, 2, b"t")
        private.complete_multipart_upload("seq.bin", seq, [oss2.models.PartInfo(1, first.etag),
                                                           oss2.models.PartInfo(2, second.etag)])
        assert private.head_object("seq.bin").headers["Content-MD5"]
    assert before["acls"] == ("public-read", "private") and before["info"] == ("Standard", "IA")
    assert len(before["uploads"]) == 2 and before["styles"] == [("thumb", "image/resize,w_80"),
                                                               ("tiny", "image/resize,w_8")]


def test_a_recreated_bucket_has_none_of_the_old_styles(emulator: LiveServer) -> None:
    bucket = oss2_bucket(emulator, "media")
    bucket.create_bucket()
    bucket.put_bucket_style("thumb", "image/resize,w_80")
    bucket.delete_bucket()
    bucket.create_bucket()
    assert bucket.list_bucket_style().styles == []
    with pytest.raises(oss2.exceptions.OssError) as err:
        bucket.get_bucket_style("thumb")
    assert (err.value.status, err.value.code) == (404, "NoSuchStyle")


def test_a_bucket_that_cannot_be_deleted_keeps_its_styles(emulator: LiveServer) -> None:
    bucket = oss2_bucket(emulator, "media")
    bucket.create_bucket()
    bucket.put_bucket_style("thumb", "image/resize,w_80")
    bucket.put_object("k", b"x")
    with pytest.raises(oss2.exceptions.BucketNotEmpty):
        bucket.delete_bucket()
    assert [s.name for s in bucket.list_bucket_style().styles] == ["thumb"]
