"""The pytest plugin's fixtures, as a user's test suite would use them."""

from __future__ import annotations

import uuid

import oss2
import pytest


def test_oss_bucket_factory_is_isolated_per_test(oss_bucket, aliyun_namespace, aliyun_emulator) -> None:
    # A name no other test uses: the default namespace is shared by every test on this worker.
    name = f"isolated-{uuid.uuid4().hex[:12]}"
    bucket = oss_bucket(name)
    bucket.put_object("hello.txt", b"hi")
    assert bucket.get_object("hello.txt").read() == b"hi"
    default = oss2.Bucket(oss2.Auth(aliyun_emulator.access_key_id, aliyun_emulator.access_key_secret),
                          aliyun_emulator.url, name)
    with pytest.raises(oss2.exceptions.NoSuchBucket):
        default.get_object("hello.txt")  # another namespace sees nothing


LEAK_SUITE = '''
import oss2
import pytest

SEEN = {}


def test_first_writes(oss_bucket, aliyun_namespace):
    oss_bucket("test-bucket").put_object("left-behind.txt", b"x")
    SEEN["creds"] = (aliyun_namespace.access_key_id, aliyun_namespace.access_key_secret)


def test_second_sees_nothing(oss_bucket, aliyun_emulator):
    bucket = oss_bucket("test-bucket")  # the same name, created again
    assert list(oss2.ObjectIterator(bucket)) == []
    old = oss2.Bucket(oss2.Auth(*SEEN["creds"]), aliyun_emulator.url, "test-bucket")
    with pytest.raises(oss2.exceptions.NoSuchBucket):  # the first test's namespace is gone...
        old.get_object("left-behind.txt")
    with pytest.raises(oss2.exceptions.ServerError) as err:  # ...and its key with it
        oss2.Service(oss2.Auth(*SEEN["creds"]), aliyun_emulator.url).list_buckets()
    assert err.value.code == "InvalidAccessKeyId"
'''


def test_namespaces_do_not_leak_between_tests(tmp_path) -> None:
    """Two tests of a user's suite, in order in one process: the second sees nothing of the first,
    and the first one's credentials are dropped when it ends."""
    result = _run_user_suite(tmp_path, LEAK_SUITE)
    assert result.returncode == 0 and "2 passed" in result.stdout, result.stdout[-3000:]


def test_mns_account_fixture(mns_account) -> None:
    from mns.queue import Message, QueueMeta

    queue = mns_account.get_queue("jobs")
    queue.create(QueueMeta())
    queue.send_message(Message("job-1"))
    assert queue.receive_message(1).message_body == b"job-1"


def test_dashscope_env_points_the_sdk_at_the_emulator(dashscope_env, aliyun_emulator) -> None:
    import os

    import dashscope
    from dashscope import VideoSynthesis

    from tests.dashscope_support import SAMPLE_IMAGE, SAMPLE_VIDEO

    assert dashscope.base_http_api_url == f"{dashscope_env.url}/api/v1"
    assert os.environ["DASHSCOPE_API_KEY"] == dashscope_env.dashscope_api_key
    rsp = VideoSynthesis.async_call(model="wan2.2-animate-move", task="image2video", mode="wan-std",
                                    extra_input={"image_url": SAMPLE_IMAGE, "video_url": SAMPLE_VIDEO})
    assert rsp.status_code == 200, rsp  # no api_key passed: the fixture's key reached the emulator
    owners = {t["task_id"]: t["namespace"] for t in aliyun_emulator.tasks() if t["service"] == "dashscope"}
    assert owners[rsp.output.task_id] == dashscope_env.namespace


def test_fault_and_clock_helpers(aliyun_emulator, oss_bucket) -> None:
    bucket = oss_bucket("faulty")
    rule = aliyun_emulator.add_fault({"service": "oss", "match": {"bucket": "faulty", "action": "PutObject"},
                                      "effect": {"http_error": {"status": 500, "code": "InternalError",
                                                                "message": "boom"}}, "times": 1})
    with pytest.raises(oss2.exceptions.ServerError):
        bucket.put_object("k", b"v")
    bucket.put_object("k", b"v")
    assert any(r["fault"] and r["fault"]["id"] == rule["id"] for r in aliyun_emulator.requests())
    aliyun_emulator.admin("DELETE", f"faults/{rule['id']}")


USER_SUITE = '''
import oss2
import pytest


@pytest.mark.parametrize("n", range(6))
def test_same_bucket_name_everywhere(oss_bucket, aliyun_namespace, n):
    bucket = oss_bucket("shared-name")
    bucket.put_object("owner.txt", aliyun_namespace.namespace.encode())
    keys = [o.key for o in oss2.ObjectIterator(bucket)]
    assert keys == ["owner.txt"]
    assert bucket.get_object("owner.txt").read() == aliyun_namespace.namespace.encode()
'''


def _run_user_suite(tmp_path, suite: str, *args: str):
    import subprocess
    import sys

    (tmp_path / "test_user_suite.py").write_text(suite)
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args,
                           "test_user_suite.py"], cwd=tmp_path, capture_output=True, text=True, timeout=300)


def test_fixtures_are_parallel_safe_under_xdist(tmp_path) -> None:
    """A user's suite where every test uses the same bucket name, run on two xdist workers."""
    result = _run_user_suite(tmp_path, USER_SUITE, "-n", "2")
    assert result.returncode == 0 and "6 passed" in result.stdout, result.stdout[-3000:]


TOKEN_SUITE = '''
import httpx


def test_the_fixture_passes_the_admin_token(aliyun_emulator, aliyun_namespace, oss_bucket):
    oss_bucket("token-bucket").put_object("k", b"x")  # namespaces were made through the admin API
    assert aliyun_emulator.advance(1)["frozen"] is False
    assert httpx.get(aliyun_emulator.url + "/_emulator/namespaces").status_code == 401
'''


def test_the_plugin_passes_an_admin_token(tmp_path) -> None:
    result = _run_user_suite(tmp_path, TOKEN_SUITE, "--aliyun-emulator-admin-token", "plugin-token")
    assert result.returncode == 0 and "1 passed" in result.stdout, result.stdout[-3000:]
