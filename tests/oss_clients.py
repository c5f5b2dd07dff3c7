"""Ways to aim the two official OSS SDKs at a live emulator, with each signature version."""

from __future__ import annotations

import alibabacloud_oss_v2 as oss
import oss2

from emulator.testing.server import LiveServer


def oss2_bucket(server: LiveServer, name: str, version: str = "v1", secret: str | None = None,
                access_key_id: str | None = None) -> oss2.Bucket:
    ak, sk = access_key_id or server.access_key_id, secret or server.access_key_secret
    if version == "v4":
        return oss2.Bucket(oss2.AuthV4(ak, sk), server.url, name, region="cn-hangzhou")
    if version == "v2":
        return oss2.Bucket(oss2.AuthV2(ak, sk), server.url, name)
    return oss2.Bucket(oss2.Auth(ak, sk), server.url, name)


def v2_client(server: LiveServer, version: str = "v4", secret: str | None = None) -> oss.Client:
    cfg = oss.config.load_default()
    cfg.credentials_provider = oss.credentials.StaticCredentialsProvider(
        server.access_key_id, secret or server.access_key_secret)
    cfg.region = "cn-hangzhou"
    cfg.endpoint = server.url
    if version == "v1":
        cfg.signature_version = "v1"
    return oss.Client(cfg)
