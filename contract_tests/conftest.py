"""One suite of the services' observable behaviour, written against the official SDKs only.

Target: the emulator (default; the suite starts one), or with ALIYUN_CONTRACT_TARGET=cloud the
real services, using credentials from the environment (never in CI):

    ALIBABA_CLOUD_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET   AccessKey pair
    ALIYUN_REGION                      e.g. cn-hangzhou (OSS, IMM, MNS)
    ALIYUN_OSS_BUCKET                  an existing bucket the suite may write under contract-tests/
    ALIYUN_MNS_ACCOUNT_ID              the account id in the MNS endpoint
    ALIYUN_IMM_PROJECT                 an existing IMM project bound to that region
    DASHSCOPE_API_KEY                  for the DashScope tests (Beijing)

A test that needs what only the emulator has (its clock, fault rules) is marked `emulator_only`
and skipped against the cloud; a test where the emulator knowingly differs says so.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from emulator.testing.server import LiveServer

CLOUD = os.environ.get("ALIYUN_CONTRACT_TARGET", "emulator") == "cloud"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "emulator_only: needs the emulator's admin API (clock, faults)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if CLOUD:
        skip = pytest.mark.skip(reason="needs the emulator's admin API; not available in the cloud")
        for item in items:
            if "emulator_only" in item.keywords:
                item.add_marker(skip)


def _cloud_env(*names: str) -> dict[str, str]:
    missing = [n for n in names if not os.environ.get(n)]
    if missing:
        pytest.skip(f"ALIYUN_CONTRACT_TARGET=cloud needs {', '.join(missing)} in the environment")
    return {n: os.environ[n] for n in names}


@dataclass
class Target:
    """Where the contract runs, and how each SDK reaches it."""

    name: str  # "emulator" | "cloud"
    access_key_id: str
    access_key_secret: str
    region: str
    oss_endpoint: str
    bucket_name: str
    key_prefix: str
    mns_endpoint: str
    imm_endpoint: str
    imm_protocol: str
    imm_project: str | None
    dashscope_base_url: str
    dashscope_api_key: str
    account_id: str
    server: LiveServer | None = None

    def oss2_bucket(self) -> Any:
        import oss2

        return oss2.Bucket(oss2.Auth(self.access_key_id, self.access_key_secret), self.oss_endpoint,
                           self.bucket_name)

    def mns_account(self) -> Any:
        from mns.account import Account

        return Account(self.mns_endpoint, self.access_key_id, self.access_key_secret)

    def imm_client(self) -> Any:
        from alibabacloud_imm20200930.client import Client
        from alibabacloud_tea_openapi import utils_models as open_api_models

        return Client(open_api_models.Config(access_key_id=self.access_key_id,
                                             access_key_secret=self.access_key_secret,
                                             endpoint=self.imm_endpoint, protocol=self.imm_protocol,
                                             region_id=self.region))


@pytest.fixture(scope="session")
def target() -> Iterator[Target]:
    run = uuid.uuid4().hex[:8]
    if CLOUD:
        env = _cloud_env("ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALIYUN_REGION",
                         "ALIYUN_OSS_BUCKET")
        region = env["ALIYUN_REGION"]
        yield Target(
            "cloud", env["ALIBABA_CLOUD_ACCESS_KEY_ID"], env["ALIBABA_CLOUD_ACCESS_KEY_SECRET"], region,
            f"https://oss-{region}.aliyuncs.com", env["ALIYUN_OSS_BUCKET"], f"contract-tests/{run}/",
            f"https://{os.environ.get('ALIYUN_MNS_ACCOUNT_ID', '')}.mns.{region}.aliyuncs.com",
            f"imm.{region}.aliyuncs.com", "https", os.environ.get("ALIYUN_IMM_PROJECT"),
            "https://dashscope.aliyuncs.com/api/v1", os.environ.get("DASHSCOPE_API_KEY", ""),
            os.environ.get("ALIYUN_MNS_ACCOUNT_ID", ""))
        return
    with LiveServer() as server:
        bucket = f"contract-{run}"
        import oss2

        auth = oss2.Auth(server.access_key_id, server.access_key_secret)
        oss2.Bucket(auth, server.url, bucket).create_bucket()
        yield Target("emulator", server.access_key_id, server.access_key_secret, server.region, server.url,
                     bucket, "", server.url, server.endpoint, "http", None, f"{server.url}/api/v1",
                     "sk-emulator-cn", server.account_id, server)


@pytest.fixture
def unique() -> str:
    """A name no other test run uses (the cloud is shared)."""
    return "ct-" + uuid.uuid4().hex[:10]
