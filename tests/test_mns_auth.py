"""The MNS signature verifier against the documented and captured vectors (unit)."""

from __future__ import annotations

import pytest

from emulator.auth.mns import content_md5_ok, string_to_sign, verify
from emulator.core.errors import ServiceError

CAPTURED = {  # aliyun-mns-sdk SendMessage, reference notes Appendix B
    "content-md5": "N2RkYmEwNWVhZmI2NTNkMmI3ZTNjN2RlN2UyOWI0NzM=",
    "content-type": "text/xml;charset=UTF-8",
    "x-mns-version": "2015-06-06",
    "host": "127.0.0.1:45721",
    "date": "Sat, 21 Nov 2026 21:03:36 GMT",
    "authorization": "MNS LTAI5tExampleAccessKey:xFjh0scIpUZqVfr2KXqLZI+jegw=",
}
BODY = (b'<?xml version="1.0" encoding="utf-8"?><Message xmlns="http://mns.aliyuncs.com/doc/v1/">'
        b"<MessageBody>eyJqb2IiOjF9</MessageBody></Message>")


def secrets(ak: str) -> str | None:
    return {"LTAI5tExampleAccessKey": "ExampleSecretKey1234567890abcd"}.get(ak)


def test_documented_string_to_sign() -> None:
    headers = {"date": "Thu, 09 Jul 2015 03:01:34 GMT", "x-mns-version": "2015-06-06"}
    assert string_to_sign("GET", "/MyQueue", headers) == (
        "GET\n\n\nThu, 09 Jul 2015 03:01:34 GMT\nx-mns-version:2015-06-06\n/MyQueue")


def test_captured_request_verifies() -> None:
    assert verify("POST", "/queues/media-jobs/messages", CAPTURED, secrets, 0) == "LTAI5tExampleAccessKey"
    assert content_md5_ok(CAPTURED["content-md5"], BODY)
    assert not content_md5_ok(CAPTURED["content-md5"], BODY + b" ")


@pytest.mark.parametrize("change, code", [
    ({"authorization": "MNS LTAI5tExampleAccessKey:AAAAxFjh0scIpUZqVfr2KXqLZI="}, "SignatureDoesNotMatch"),
    ({"authorization": "MNS LTAI-unknown:xFjh0scIpUZqVfr2KXqLZI+jegw="}, "InvalidAccessKeyId"),
    ({"authorization": "OSS LTAI5tExampleAccessKey:xFjh0scIpUZqVfr2KXqLZI+jegw="},
     "InvalidAuthorizationHeader"),
    ({"authorization": ""}, "MissingAuthorizationHeader"),
    ({"date": ""}, "MissingDateHeader"),
    ({"date": "yesterday"}, "InvalidDateHeader"),
    ({"x-mns-version": "2015-06-07"}, "SignatureDoesNotMatch"),
])
def test_tampered_requests_are_refused(change: dict[str, str], code: str) -> None:
    with pytest.raises(ServiceError) as info:
        verify("POST", "/queues/media-jobs/messages", CAPTURED | change, secrets, 0)
    assert info.value.code == code


def test_old_requests_expire() -> None:
    with pytest.raises(ServiceError) as info:
        verify("POST", "/queues/media-jobs/messages", CAPTURED | {"date": "Thu, 09 Jul 2015 03:01:34 GMT"},
               secrets, 900)
    assert (info.value.status, info.value.code) == (408, "TimeExpired")
