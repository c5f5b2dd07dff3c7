"""pytest plugin (registered through the `pytest11` entry point when aliyun-emulator is installed).

Fixtures:
- `aliyun_emulator` (session): a live emulator on a free port (`.url`, `.port`, `.endpoint`,
  `.access_key_id`, `.access_key_secret`, `.dashscope_api_key`, `.reset()`, `.advance(s)`,
  `.add_fault(rule)`, `.requests()`, `.tasks()`).
- `aliyun_namespace` (function): fresh, isolated credentials for one test, dropped afterwards.
- Ready clients bound to that namespace: `imm_client`, `oss_bucket` (a factory: name -> oss2
  Bucket, created), `mns_account`, and `dashscope_env` (points the dashscope SDK at the emulator
  with the namespace's key, and restores everything after the test).

The SDKs are imported only by the fixtures that need them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from emulator.testing.server import LiveServer, Namespace


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("aliyun-emulator")
    group.addoption("--aliyun-emulator-args", default="",
                    help="extra `aliyun-emulator serve` arguments for the aliyun_emulator fixture")
    group.addoption("--aliyun-emulator-admin-token", default=os.environ.get("EMULATOR_ADMIN_TOKEN"),
                    help="admin token the aliyun_emulator fixture starts its server with and sends "
                         "(default $EMULATOR_ADMIN_TOKEN)")


@pytest.fixture(scope="session")
def aliyun_emulator(pytestconfig: pytest.Config) -> Iterator[LiveServer]:
    """A live emulator on a free port for the whole test session (one per xdist worker)."""
    extra = pytestconfig.getoption("--aliyun-emulator-args", default="") or ""
    token = pytestconfig.getoption("--aliyun-emulator-admin-token", default=None) or None
    with LiveServer(extra_args=extra.split(), admin_token=token) as server:
        yield server


@pytest.fixture
def aliyun_namespace(aliyun_emulator: LiveServer) -> Iterator[Namespace]:
    """Credentials of a new, empty namespace: nothing another test does is visible in it."""
    namespace = aliyun_emulator.create_namespace()
    yield namespace
    namespace.delete()


@pytest.fixture
def imm_client(aliyun_namespace: Namespace) -> Any:
    from alibabacloud_imm20200930.client import Client
    from alibabacloud_tea_openapi import utils_models as open_api_models

    return Client(open_api_models.Config(
        access_key_id=aliyun_namespace.access_key_id, access_key_secret=aliyun_namespace.access_key_secret,
        endpoint=aliyun_namespace.endpoint, protocol="http"))


@pytest.fixture
def oss_bucket(aliyun_namespace: Namespace) -> Callable[[str], Any]:
    """`oss_bucket("test-bucket")`: an oss2.Bucket in the test's namespace, created."""
    import oss2

    auth = oss2.Auth(aliyun_namespace.access_key_id, aliyun_namespace.access_key_secret)

    def make(name: str, create: bool = True) -> oss2.Bucket:
        bucket = oss2.Bucket(auth, aliyun_namespace.url, name)
        if create:
            bucket.create_bucket()
        return bucket

    return make


@pytest.fixture
def mns_account(aliyun_namespace: Namespace) -> Any:
    from mns.account import Account

    return Account(aliyun_namespace.url, aliyun_namespace.access_key_id, aliyun_namespace.access_key_secret)


@pytest.fixture
def dashscope_env(aliyun_namespace: Namespace) -> Iterator[Namespace]:
    """The dashscope SDK aimed at the emulator (base URL and API key), restored afterwards."""
    import dashscope

    base = f"{aliyun_namespace.url}/api/v1"
    saved_env = {k: os.environ.get(k) for k in ("DASHSCOPE_HTTP_BASE_URL", "DASHSCOPE_API_KEY")}
    saved = (dashscope.base_http_api_url, dashscope.api_key)
    os.environ["DASHSCOPE_HTTP_BASE_URL"] = base
    os.environ["DASHSCOPE_API_KEY"] = aliyun_namespace.dashscope_api_key
    dashscope.base_http_api_url = base
    dashscope.api_key = aliyun_namespace.dashscope_api_key
    try:
        yield aliyun_namespace
    finally:
        dashscope.base_http_api_url, dashscope.api_key = saved
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
