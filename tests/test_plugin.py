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


def test_namespaces_do_not_leak_between_tests(oss_bucket) -> None:
    bucket = oss_bucket("test-bucket")  # created again: the previous test's namespace is gone
    assert list(oss2.ObjectIterator(bucket)) == []


def test_mns_account_fixture(mns_account) -> None:
    from mns.queue import Message, QueueMeta

    queue = mns_account.get_queue("jobs")
    queue.create(QueueMeta())
    queue.send_message(Message("job-1"))
    assert queue.receive_message(1).message_body == b"job-1"


def test_dashscope_env_points_the_sdk_at_the_emulator(dashscope_env) -> None:
    import os

    import dashscope

    assert dashscope.base_http_api_url == f"{dashscope_env.url}/api/v1"
    assert os.environ["DASHSCOPE_API_KEY"] == dashscope_env.dashscope_api_key


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


def test_fixtures_are_parallel_safe_under_xdist(tmp_path) -> None:
    """A user's suite where every test uses the same bucket name, run on two xdist workers."""
    import subprocess
    import sys

    (tmp_path / "test_user_suite.py").write_text(USER_SUITE)
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-n", "2", "-p", "no:cacheprovider",
                             "test_user_suite.py"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and "6 passed" in result.stdout, result.stdout[-3000:]
