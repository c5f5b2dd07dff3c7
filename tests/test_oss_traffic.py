"""x-oss-traffic-limit: the pacing plan as data, the pacer on a fake clock, and the limit's
validation through oss2 and alibabacloud-oss-v2 (no timing is asserted)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import alibabacloud_oss_v2 as oss
import httpx
import oss2
import pytest

from emulator.services.oss import traffic
from emulator.testing.server import LiveServer
from tests.oss_clients import oss2_bucket, v2_client

LOWEST, HIGHEST = 819200, 838860800


def test_plan_moves_every_byte_in_small_pieces_when_due() -> None:
    total = 1024 * 1024 + 5
    pieces = traffic.plan(total, LOWEST)
    assert sum(p.size for p in pieces) == total
    assert [p.offset for p in pieces] == [sum(q.size for q in pieces[:i]) for i in range(len(pieces))]
    assert max(p.size for p in pieces) == LOWEST // 8 // 10  # a tenth of a second's worth
    assert pieces[1].at == pytest.approx(0.1)
    assert pieces[-1].at == pytest.approx(pieces[-1].offset * 8 / LOWEST)  # ~10.2 s for 1 MiB at 100 KB/s
    assert traffic.plan(total, HIGHEST)[-1].at < 0.02


async def _chunks(*chunks: bytes) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


def test_pacer_holds_each_piece_until_its_time() -> None:
    clock = [100.0]
    moved: list[tuple[float, int]] = []

    async def sleep(seconds: float) -> None:
        clock[0] += seconds

    async def run() -> None:
        body = _chunks(b"a" * 25000, b"b" * 10000)
        async for piece in traffic.paced(body, LOWEST, sleep=sleep, now=lambda: clock[0]):
            moved.append((clock[0] - 100.0, len(piece)))

    asyncio.run(run())
    # Pieces of at most 10240 bytes within each chunk; each leaves when the bytes before it
    # have had their time at 100 KB/s, never earlier.
    assert [size for _, size in moved] == [10240, 10240, 4520, 10000]
    assert [at for at, _ in moved] == pytest.approx([0, 0.1, 0.2, 25000 * 8 / LOWEST])


def test_pacer_without_limit_passes_chunks_through() -> None:
    async def run() -> list[bytes]:
        return [c async for c in traffic.paced(_chunks(b"x" * 10**6, b"y"), None)]
    assert asyncio.run(run()) == [b"x" * 10**6, b"y"]


@pytest.fixture
def bucket(emulator: LiveServer) -> oss2.Bucket:
    b = oss2_bucket(emulator, "media")
    b.create_bucket()
    return b


@pytest.mark.parametrize("value", ["819199", "838860801", "fast", "-1"])
def test_a_limit_outside_the_range_is_invalid_argument(bucket: oss2.Bucket, value: str) -> None:
    bucket.put_object("k.bin", b"original")
    limit = {traffic.HEADER: value}
    with pytest.raises(oss2.exceptions.InvalidArgument) as put:
        bucket.put_object("k.bin", b"changed", headers=limit)
    assert put.value.details["ArgumentName"] == traffic.HEADER
    with pytest.raises(oss2.exceptions.InvalidArgument):
        bucket.get_object("k.bin", headers=limit)
    upload_id = bucket.init_multipart_upload("m.bin").upload_id
    with pytest.raises(oss2.exceptions.InvalidArgument):
        bucket.upload_part("m.bin", upload_id, 1, b"part", headers=limit)
    assert bucket.list_parts("m.bin", upload_id).parts == []
    assert bucket.get_object("k.bin").read() == b"original"
    refused = httpx.get(bucket.sign_url("GET", "k.bin", 600, params={traffic.HEADER: value}))
    assert refused.status_code == 400 and b"<Code>InvalidArgument</Code>" in refused.content


def test_limited_transfers_through_both_sdks(emulator: LiveServer, bucket: oss2.Bucket) -> None:
    data = bytes(range(256)) * 40  # 10 KiB: a tenth of a second at the lowest limit
    assert bucket.put_object("k.bin", data, headers={traffic.HEADER: str(LOWEST)}).status == 200
    assert bucket.get_object("k.bin", headers={traffic.HEADER: str(HIGHEST)}).read() == data
    upload_id = bucket.init_multipart_upload("m.bin").upload_id
    bucket.upload_part("m.bin", upload_id, 1, data, headers={traffic.HEADER: str(HIGHEST)})
    assert [p.size for p in bucket.list_parts("m.bin", upload_id).parts] == [len(data)]
    client = v2_client(emulator)
    client.put_object(oss.PutObjectRequest(bucket="media", key="v2.bin", body=data, traffic_limit=LOWEST))
    got = client.get_object(oss.GetObjectRequest(bucket="media", key="v2.bin", traffic_limit=HIGHEST))
    assert got.body.read() == data
    url = bucket.sign_url("GET", "v2.bin", 600, params={traffic.HEADER: str(LOWEST)})
    assert httpx.get(url).content == data
