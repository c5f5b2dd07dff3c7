"""Unit tests of the ACS3 / RPC V2 verifiers against requests the official SDK signed."""

from __future__ import annotations

import hashlib
import time

import pytest
from alibabacloud_tea_openapi.utils import Utils

from emulator.auth.acs import SignedRequest, verify_acs3, verify_pop_request, verify_rpc_v2
from emulator.core.errors import ServiceError

SECRETS = {"AK": "secret"}


class _Req:
    def __init__(self, method: str, pathname: str, query: dict, headers: dict) -> None:
        self.method, self.pathname, self.query, self.headers = method, pathname, query, headers


def _sdk_signed_v3(query: dict, host: str = "127.0.0.1:9088") -> SignedRequest:
    headers = {"host": host, "x-acs-version": "2020-09-30", "x-acs-action": "GetTask",
               "x-acs-date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
               "x-acs-signature-nonce": "n1", "accept": "application/json",
               "x-acs-content-sha256": hashlib.sha256(b"").hexdigest()}
    headers["Authorization"] = Utils.get_authorization(
        _Req("POST", "/", query, headers), "ACS3-HMAC-SHA256", headers["x-acs-content-sha256"],
        "AK", "secret")
    return SignedRequest("POST", "/", list(query.items()), list(headers.items()), b"")


def test_sdk_v3_signature_verifies_with_odd_host_and_unicode() -> None:
    query = {"ProjectName": "p 1", "UserData": '{"a":"b c ü/+"}'}
    request = _sdk_signed_v3(query, host="http://127.0.0.1:9088")
    assert verify_pop_request(request, SECRETS.get, 900) == "AK"


def test_v3_tampering_is_detected() -> None:
    request = _sdk_signed_v3({"ProjectName": "p"})
    tampered = SignedRequest(request.method, request.path, [("ProjectName", "q")], request.headers, b"")
    with pytest.raises(ServiceError) as err:
        verify_pop_request(tampered, SECRETS.get, 900)
    assert err.value.code == "SignatureDoesNotMatch"
    authorization = dict(request.headers)["Authorization"]
    with pytest.raises(ServiceError) as err:
        verify_acs3(request, authorization, {"AK": "other"}.get, 900)
    assert err.value.code == "SignatureDoesNotMatch"
    with pytest.raises(ServiceError) as err:
        verify_acs3(request, authorization, {}.get, 900)
    assert err.value.code == "InvalidAccessKeyId.NotFound"
    with_body = SignedRequest(request.method, request.path, request.params, request.headers, b"x")
    with pytest.raises(ServiceError) as err:
        verify_acs3(with_body, authorization, SECRETS.get, 900)
    assert err.value.code == "ContentSHA256NotMatched"


def test_v3_old_date_is_expired() -> None:
    request = _sdk_signed_v3({"ProjectName": "p"})
    headers = [(k, "2001-01-01T00:00:00Z" if k == "x-acs-date" else v) for k, v in request.headers]
    stale = SignedRequest("POST", "/", request.params, headers, b"")
    with pytest.raises(ServiceError) as err:
        verify_pop_request(stale, SECRETS.get, 900)
    assert err.value.code == "InvalidTimeStamp.Expired"


def test_sdk_v2_signature_verifies_and_detects_tampering() -> None:
    params = {"Action": "GetTask", "Format": "json", "Version": "2020-09-30",
              "Timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "SignatureNonce": "n",
              "SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0", "AccessKeyId": "AK",
              "ProjectName": "p q", "Targets": '[{"URI":"oss://b/ü"}]'}
    params["Signature"] = Utils.get_rpcsignature(params, "POST", "secret")
    request = SignedRequest("POST", "/", list(params.items()), [("host", "x")], b"")
    assert verify_rpc_v2(request, SECRETS.get, 900) == "AK"
    tampered = SignedRequest("POST", "/", [(k, "other" if k == "ProjectName" else v)
                                           for k, v in params.items()], [], b"")
    with pytest.raises(ServiceError) as err:
        verify_rpc_v2(tampered, SECRETS.get, 900)
    assert err.value.code == "SignatureDoesNotMatch"
