"""Fault rules, the request journal and namespaces, seen through the real OSS SDKs."""

from __future__ import annotations

import time

import alibabacloud_oss_v2 as oss
import httpx
import oss2
import pytest
import requests

from emulator.testing.server import LiveServer
from tests.oss_clients import oss2_bucket, v2_client

OSS_503 = {"service": "oss", "match": {"method": "GET"},
           "effect": {"http_error": {"status": 503, "code": "ServiceUnavailable",
                                     "message": "Please reduce your request rate."}}, "times": 2}


@pytest.fixture
def bucket(emulator: LiveServer) -> oss2.Bucket:
    b = oss2_bucket(emulator, "media")
    b.create_bucket()
    b.put_object("clip.mp4", b"bytes")
    return b


def _add(server: LiveServer, rule: dict) -> dict:
    response = httpx.post(server.url + "/_emulator/faults", json=rule)
    assert response.status_code == 201, response.text
    return response.json()


def test_issue_example_503_twice_is_retried_by_the_v2_sdk(emulator: LiveServer, bucket) -> None:
    rule = _add(emulator, OSS_503)
    result = v2_client(emulator).get_object(oss.GetObjectRequest(bucket="media", key="clip.mp4"))
    assert result.body.content == b"bytes"  # the SDK's own retries got through
    gets = emulator.admin("GET", "requests?service=oss&method=GET")["requests"]
    assert [g["status"] for g in gets] == [503, 503, 200]
    assert [g["fault"]["id"] if g["fault"] else None for g in gets] == [rule["id"], rule["id"], None]
    assert emulator.admin("GET", f"faults/{rule['id']}")["applied"] == 2


def test_http_error_in_oss_shape_for_oss2(emulator: LiveServer, bucket) -> None:
    _add(emulator, {**OSS_503, "times": 1})
    with pytest.raises(oss2.exceptions.ServerError) as err:
        bucket.get_object("clip.mp4")
    assert (err.value.status, err.value.code) == (503, "ServiceUnavailable")
    assert err.value.request_id
    assert bucket.get_object("clip.mp4").read() == b"bytes"


def test_after_skips_and_match_narrows(emulator: LiveServer, bucket) -> None:
    _add(emulator, {"service": "oss", "match": {"action": "HeadObject", "bucket": "media"},
                    "effect": {"http_error": {"status": 404, "code": "NoSuchKey", "message": "gone"}},
                    "after": 1, "times": 1})
    assert bucket.head_object("clip.mp4").content_length == 5  # first match skipped
    with pytest.raises(oss2.exceptions.NotFound):
        bucket.head_object("clip.mp4")
    assert bucket.get_object("clip.mp4").read() == b"bytes"  # GetObject never matched
    assert bucket.head_object("clip.mp4").content_length == 5  # times used up


def test_probability_is_repeatable_with_a_seed(emulator: LiveServer, bucket) -> None:
    def outcomes() -> list[int]:
        emulator.admin("DELETE", "faults")
        _add(emulator, {"service": "oss", "match": {"action": "GetObject"}, "probability": 0.5, "seed": 7,
                        "effect": {"http_error": {"status": 500, "code": "InternalError", "message": "x"}}})
        url = bucket.sign_url("GET", "clip.mp4", 600)
        return [httpx.get(url).status_code for _ in range(20)]

    first, second = outcomes(), outcomes()
    assert first == second
    assert 500 in first and 200 in first


def test_throttle_reset_garbage_and_delay(emulator: LiveServer, bucket) -> None:
    url = bucket.sign_url("GET", "clip.mp4", 600)
    _add(emulator, {"service": "oss", "effect": {"throttle": {"retry_after": 3}}, "times": 1})
    throttled = httpx.get(url)
    assert throttled.status_code == 503 and throttled.headers["Retry-After"] == "3"
    assert b"<Code>ServiceUnavailable</Code>" in throttled.content
    _add(emulator, {"service": "oss", "effect": {"reset": True}, "times": 1})
    with pytest.raises(httpx.TransportError):
        httpx.get(url)
    _add(emulator, {"service": "oss", "effect": {"reset": True}, "times": 1})
    with pytest.raises(oss2.exceptions.RequestError):  # what oss2 raises when a connection drops
        bucket.get_object("clip.mp4")
    assert bucket.get_object("clip.mp4").read() == b"bytes"
    _add(emulator, {"service": "oss", "effect": {"garbage": True}, "times": 1})
    garbage = httpx.get(url)
    assert garbage.status_code == 200 and garbage.content != b"bytes"
    _add(emulator, {"service": "oss", "effect": {"delay_ms": {"min": 50, "max": 60}}, "times": 1})
    assert httpx.get(url).content == b"bytes"
    delayed = emulator.admin("GET", "requests?service=oss&limit=1")["requests"][-1]
    assert delayed["fault"]["effect"] == "delay_ms"


@pytest.mark.parametrize(("rule", "field"), [
    ({"service": "s3", "effect": {"reset": True}}, "service"),
    ({"service": "oss", "match": {"colour": "red"}, "effect": {"reset": True}}, "match.colour"),
    ({"service": "oss"}, "effect"),
    ({"service": "oss", "effect": {"explode": True}}, "effect"),
    ({"service": "oss", "effect": {"http_error": {"status": 200, "code": "X"}}}, "effect.http_error.status"),
    ({"service": "oss", "effect": {"http_error": {"status": 503}}}, "effect.http_error.code"),
    ({"service": "oss", "effect": {"reset": True}, "times": 0}, "times"),
    ({"service": "oss", "effect": {"reset": True}, "probability": 2}, "probability"),
    ({"service": "oss", "effect": {"delay_ms": {"min": 5, "max": 1}}}, "effect.delay_ms.max"),
    ({"service": "mns", "effect": {"notification": {"lose": True}}}, "effect.notification"),
    ({"service": "oss", "effect": {"reset": True}, "when": "always"}, "when"),
])
def test_malformed_rules_are_refused_naming_the_field(emulator: LiveServer, rule, field) -> None:
    response = httpx.post(emulator.url + "/_emulator/faults", json=rule)
    assert response.status_code == 400 and response.json()["field"] == field
    assert emulator.admin("GET", "faults")["faults"] == []


def test_rules_listed_removed_and_kept_across_restart(tmp_path) -> None:
    with LiveServer(data_dir=tmp_path) as server:
        first = _add(server, {**OSS_503, "id": "first"})
        _add(server, {"service": "*", "effect": {"delay_ms": 1}, "id": "second"})
        server.advance(86400)
        assert [r["id"] for r in server.admin("GET", "faults")["faults"]] == ["first", "second"]
        assert server.admin("DELETE", "faults/second") == {"deleted": "second"}
        assert httpx.get(server.url + "/_emulator/faults/second").status_code == 404
    with LiveServer(data_dir=tmp_path) as server:
        assert [r["id"] for r in server.admin("GET", "faults")["faults"]] == [first["id"]]
        assert server.admin("GET", "clock")["epoch"] - time.time() > 86000


def test_namespaces_are_isolated(emulator: LiveServer) -> None:
    one = emulator.admin("POST", "namespaces", {})
    two = emulator.admin("POST", "namespaces", {"name": "team-two"})
    assert two["namespace"] == "team-two" and one["access_key_id"] != two["access_key_id"]
    b1 = oss2.Bucket(oss2.Auth(one["access_key_id"], one["access_key_secret"]), emulator.url, "shared-name")
    b2 = oss2.Bucket(oss2.Auth(two["access_key_id"], two["access_key_secret"]), emulator.url, "shared-name")
    b1.create_bucket()
    b2.create_bucket()
    b1.put_object("k", b"one")
    b2.put_object("k", b"two")
    assert b1.get_object("k").read() == b"one" and b2.get_object("k").read() == b"two"
    with pytest.raises(oss2.exceptions.NoSuchBucket):
        oss2_bucket(emulator, "shared-name").get_object("k")  # the default namespace has no such bucket
    with pytest.raises(oss2.exceptions.SignatureDoesNotMatch):
        oss2.Bucket(oss2.Auth(one["access_key_id"], two["access_key_secret"]), emulator.url,
                    "shared-name").get_object("k")
    journal = emulator.admin("GET", "requests?namespace=team-two")["requests"]
    assert journal and {e["namespace"] for e in journal} == {"team-two"}
    emulator.reset("team-two")
    with pytest.raises(oss2.exceptions.NoSuchBucket):
        b2.get_object("k")
    assert b1.get_object("k").read() == b"one"
    assert httpx.post(emulator.url + "/_emulator/namespaces", json={"name": "team-two"}).status_code == 409


def test_fault_scoped_to_a_namespace(emulator: LiveServer) -> None:
    ns = emulator.admin("POST", "namespaces", {})
    mine = oss2.Bucket(oss2.Auth(ns["access_key_id"], ns["access_key_secret"]), emulator.url, "media")
    mine.create_bucket()
    theirs = oss2_bucket(emulator, "media")
    theirs.create_bucket()
    _add(emulator, {"service": "oss", "match": {"namespace": ns["namespace"], "action": "PutObject"},
                    "effect": {"http_error": {"status": 403, "code": "AccessDenied", "message": "no"}}})
    theirs.put_object("k", b"fine")
    with pytest.raises(oss2.exceptions.AccessDenied):
        mine.put_object("k", b"refused")


def test_requests_session_sees_connection_reset(emulator: LiveServer, bucket) -> None:
    _add(emulator, {"service": "oss", "effect": {"reset": True}, "times": 1})
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(bucket.sign_url("GET", "clip.mp4", 600), timeout=5)


def test_mns_faults_in_mns_shape(emulator: LiveServer) -> None:
    from mns.account import Account
    from mns.mns_exception import MNSServerException
    from mns.queue import Message, QueueMeta

    account = Account(emulator.url, emulator.access_key_id, emulator.access_key_secret)
    queue = account.get_queue("jobs")
    queue.create(QueueMeta())
    _add(emulator, {"service": "mns", "match": {"action": "SendMessage", "queue": "jobs"},
                    "effect": {"throttle": True}, "times": 1})
    with pytest.raises(MNSServerException) as err:
        queue.send_message(Message("hello"))
    assert err.value.type == "Throttling" and err.value.req_id
    queue.send_message(Message("hello"))
    assert queue.receive_message(1).message_body == b"hello"
    entries = emulator.admin("GET", "requests?service=mns&action=SendMessage")["requests"]
    assert [e["status"] for e in entries] == [503, 201] and entries[0]["queue"] == "jobs"


def test_the_request_journal_reads_the_same_twice(emulator: LiveServer) -> None:
    """Reading the journal does not change it (a second read once answered 500)."""
    httpx.get(f"{emulator.url}/no-such-bucket/k")
    first = emulator.requests(service="oss")
    assert first and first == emulator.requests(service="oss")
