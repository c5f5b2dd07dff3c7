"""Malformed V2 signatures, callback parameters and traffic limits: always OSS's own refusal,
never an unexpected exception (hypothesis)."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

from hypothesis import given
from hypothesis import strategies as st

from emulator.auth.oss import AuthError, SignedRequest, parse_claim
from emulator.core.errors import ServiceError
from emulator.services.oss import callback, traffic
from tests.strategies import json_values

header_text = st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=80)


@given(header_text)
def test_any_oss2_authorization_header_is_a_claim_or_an_auth_error(value: str) -> None:
    request = SignedRequest("GET", "", {"authorization": "OSS2 " + value, "date": "x"}, "media", "k")
    try:
        claim = parse_claim(request)
    except AuthError as err:
        assert err.code == "InvalidArgument"
        return
    assert claim is not None and claim.access_key_id and claim.verify("secret") is False


@given(st.dictionaries(st.sampled_from(["x-oss-signature-version", "x-oss-access-key-id", "x-oss-expires",
                                        "x-oss-signature", "x-oss-additional-headers"]),
                       header_text, max_size=5))
def test_any_v2_presigned_query_is_a_claim_or_an_auth_error(params: dict[str, str]) -> None:
    params["x-oss-signature-version"] = "OSS2"
    query = "&".join(f"{k}={quote(v, safe='')}" for k, v in params.items())
    try:
        claim = parse_claim(SignedRequest("GET", query, {}, "media", "k"))
    except AuthError as err:
        assert err.code == "AccessDenied"
        return
    assert claim is not None and claim.expires_at is not None


def _b64(value: object) -> str:
    return base64.b64encode(json.dumps(value).encode()).decode()


@given(st.one_of(header_text, json_values.map(_b64),
                 st.dictionaries(st.sampled_from(["callbackUrl", "callbackBody", "callbackBodyType",
                                                  "callbackHost", "callbackSNI"]), json_values).map(_b64)),
       st.one_of(st.none(), header_text, json_values.map(_b64)))
def test_any_callback_parameter_is_parsed_or_invalid_argument(encoded: str, variables: str | None) -> None:
    try:
        parsed = callback.parse(encoded, variables)
    except ServiceError as err:
        assert (err.status, err.code) == (400, "InvalidArgument")
        return
    assert parsed.urls and parsed.body and parsed.body_type in (callback.FORM_TYPE, callback.JSON_TYPE)
    assert all(name.startswith("x:") for name in parsed.variables)


@given(st.text(max_size=12))
def test_any_traffic_limit_is_in_range_or_invalid_argument(raw: str) -> None:
    try:
        limit = traffic.requested({traffic.HEADER: raw}, {})
    except ServiceError as err:
        assert (err.status, err.code) == (400, "InvalidArgument")
        return
    assert limit is not None and traffic.MIN_BITS_PER_SECOND <= limit <= traffic.MAX_BITS_PER_SECOND
