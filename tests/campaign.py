"""Hypothesis campaigns: generated malformed requests thrown at one service of a live emulator over
HTTP. Every answer must be below 500 and the server must keep serving (a health check between
batches). Shared by tests/test_campaigns.py (a derandomized subset in CI) and
benchmarks/fuzz_campaign.py (10,000 or more per service, by hand).

The server runs with --no-verify-signatures so that requests get past the signature checks and
reach the parsers behind them (MNS requests are signed anyway); Authorization headers are still
generated, valid-looking and garbage, so the signature parsers see them too."""

from __future__ import annotations

import json
import string
import time
from collections import Counter
from dataclasses import dataclass, field
from email.utils import formatdate
from urllib.parse import quote, urlencode

import httpx
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from strategies import json_values

from emulator.auth.mns import sign, string_to_sign

SERVICES = ("oss", "imm", "mns", "dashscope", "admin")
HEALTH_EVERY = 250  # requests between health checks
SERVER_ARGS = ["--no-verify-signatures", "--quiet"]


@dataclass(frozen=True)
class Call:
    method: str
    path: str  # already quoted, with its query
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


# ---- building blocks ---------------------------------------------------------------------------

# h11 refuses header values with control characters or surrounding blanks; these never have them.
header_text = st.text(alphabet=string.ascii_letters + string.digits + " -_.:/=,;+%", max_size=40).map(
    str.strip
)
short_text = st.text(max_size=12)
numbers = st.integers(-(2**63), 2**64).map(str)
values = st.one_of(
    short_text,
    numbers,
    st.sampled_from(
        ["", "0", "1", "-1", "true", "null", "1e309", "99999999999999999999", "%00", "../..", "a" * 300]
    ),
)
raw_bodies = st.one_of(st.binary(max_size=200), json_values.map(lambda v: json.dumps(v).encode()))


def _xml(tags: list[str]) -> st.SearchStrategy[bytes]:
    """XML-shaped bodies built from a service's own element names, well formed or not."""
    element = st.recursive(
        st.one_of(values, st.just("")),
        lambda inner: st.tuples(st.sampled_from(tags), st.lists(inner, max_size=3)).map(
            lambda t: f"<{t[0]}>{''.join(t[1])}</{t[0]}>"
        ),
        max_leaves=10,
    )
    document = st.tuples(st.sampled_from(tags), st.lists(element, max_size=4)).map(
        lambda t: f'<?xml version="1.0" encoding="UTF-8"?><{t[0]}>{"".join(t[1])}</{t[0]}>'.encode()
    )
    broken = document.map(lambda b: b[: len(b) // 2])
    return st.one_of(document, broken, raw_bodies)


def _query(keys: list[str]) -> st.SearchStrategy[str]:
    pairs = st.lists(st.tuples(st.sampled_from(keys) | short_text, values | st.none()), max_size=4)
    return pairs.map(
        lambda ps: "&".join(quote(k, safe="") + ("" if v is None else "=" + quote(v, safe="")) for k, v in ps)
    )


def _with_query(path: str, query: str) -> str:
    return path + (f"?{query}" if query else "")


segment = st.one_of(
    st.sampled_from(["fuzz", "fuzz-other", "k", "a/b.png", "", "..", "%2F", "x" * 300]),
    short_text.map(lambda s: quote(s, safe="")),
)

# ---- OSS ---------------------------------------------------------------------------------------

OSS_SUBRESOURCES = [
    "acl",
    "tagging",
    "cors",
    "lifecycle",
    "versioning",
    "versions",
    "uploads",
    "uploadId",
    "partNumber",
    "append",
    "position",
    "x-oss-process",
    "delete",
    "restore",
    "symlink",
    "website",
    "policy",
    "versionId",
    "max-keys",
    "prefix",
    "marker",
    "delimiter",
    "continuation-token",
    "list-type",
    "encoding-type",
    "start-after",
    "fetch-owner",
    "location",
    "stat",
    "info",
    "referer",
    "objectMeta",
    "x-oss-async-process",
    "logging",
    "encryption",
    "comp",
    "max-uploads",
    "key-marker",
    "upload-id-marker",
    "part-number-marker",
    "max-parts",
    "response-content-type",
    "x-oss-signature-version",
    "x-oss-credential",
    "x-oss-date",
    "x-oss-expires",
    "x-oss-signature",
    "OSSAccessKeyId",
    "Expires",
    "Signature",
]
OSS_HEADERS = [
    "x-oss-copy-source",
    "x-oss-meta-a",
    "content-md5",
    "range",
    "x-oss-tagging",
    "content-type",
    "x-oss-object-acl",
    "x-oss-acl",
    "x-oss-storage-class",
    "if-match",
    "if-none-match",
    "if-modified-since",
    "if-unmodified-since",
    "x-oss-forbid-overwrite",
    "x-oss-metadata-directive",
    "x-oss-tagging-directive",
    "x-oss-copy-source-range",
    "x-oss-copy-source-if-match",
    "x-oss-server-side-encryption",
    "x-oss-symlink-target",
    "x-oss-callback",
    "x-oss-callback-var",
    "x-oss-content-sha256",
    "x-oss-date",
    "origin",
    "access-control-request-method",
    "x-oss-traffic-limit",
    "x-oss-process",
    "authorization",
    "date",
    "cache-control",
    "content-disposition",
    "expires",
    "x-oss-hash-ctx",
    "x-oss-request-payer",
]
OSS_XML = [
    "CreateBucketConfiguration",
    "StorageClass",
    "AccessControlPolicy",
    "AccessControlList",
    "Grant",
    "Tagging",
    "TagSet",
    "Tag",
    "Key",
    "Value",
    "CORSConfiguration",
    "CORSRule",
    "AllowedOrigin",
    "AllowedMethod",
    "AllowedHeader",
    "MaxAgeSeconds",
    "LifecycleConfiguration",
    "Rule",
    "ID",
    "Prefix",
    "Status",
    "Expiration",
    "Days",
    "Date",
    "VersioningConfiguration",
    "Delete",
    "Quiet",
    "Object",
    "VersionId",
    "CompleteMultipartUpload",
    "Part",
    "PartNumber",
    "ETag",
    "RestoreRequest",
    "WebsiteConfiguration",
    "IndexDocument",
    "Suffix",
]
oss_auth = st.one_of(
    st.none(),
    header_text.map(lambda s: f"OSS {s}"),
    st.tuples(header_text, header_text).map(lambda t: f"OSS4-HMAC-SHA256 Credential={t[0]},Signature={t[1]}"),
    st.just("OSS LTAI-emulator:c2lnbmF0dXJl"),
)


@st.composite
def oss_calls(draw) -> Call:
    bucket = draw(st.sampled_from(["fuzz", "fuzz", "fuzz-new", "nosuch", "UPPER", "a", "-bad-"]) | segment)
    key = draw(st.sampled_from(["", "", "k", "a/b.png", "img.png", "big"]) | segment)
    path = "/" + bucket + ("/" + key if key else ("/" if draw(st.booleans()) else ""))
    headers = draw(
        st.dictionaries(
            st.sampled_from(OSS_HEADERS),
            header_text
            | st.sampled_from(
                [
                    "/fuzz/k",
                    "/fuzz/img.png",
                    "bytes=0-1",
                    "bytes=-5",
                    "/nosuch/k",
                    "/fuzz/%2E%2E",
                    "private",
                    "public-read",
                ]
            ),
            max_size=4,
        )
    )
    if (auth := draw(oss_auth)) is not None:
        headers["authorization"] = auth
    method = draw(st.sampled_from(["GET", "PUT", "POST", "DELETE", "HEAD", "OPTIONS", "PATCH"]))
    body = draw(_xml(OSS_XML)) if method in ("PUT", "POST") else b""
    return Call(method, _with_query(path, draw(_query(OSS_SUBRESOURCES))), headers, body)


# ---- IMM ---------------------------------------------------------------------------------------

IMM_ACTIONS = [
    "CreateProject",
    "GetProject",
    "UpdateProject",
    "DeleteProject",
    "ListProjects",
    "CreateMediaConvertTask",
    "GetTask",
    "ListTasks",
    "DetectMediaMeta",
    "GenerateVideoPlaylist",
    "Nope",
    "",
]
IMM_KEYS = [
    "ProjectName",
    "Sources",
    "Targets",
    "TargetGroups",
    "Notification",
    "Tags",
    "UserData",
    "AlignmentIndex",
    "TaskId",
    "TaskType",
    "MaxResults",
    "NextToken",
    "Sort",
    "Order",
    "Status",
    "TaskTypes",
    "StartTimeRange",
    "Tag",
    "Prefix",
    "Description",
    "CredentialConfig",
    "SourceURI",
    "MasterURI",
    "SourceStartTime",
    "SourceDuration",
    "OverwritePolicy",
    "Format",
    "Version",
    "AccessKeyId",
    "Signature",
    "SignatureMethod",
    "SignatureNonce",
    "Timestamp",
    "RegionId",
]
imm_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**9), 10**9)
    | st.floats(allow_nan=False)
    | short_text
    | st.sampled_from(
        ["oss://fuzz/img.png", "oss://fuzz/video.mp4", "oss://nosuch/x", "oss://fuzz/out/{index}.jpg"]
    ),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "URI",
                    "Format",
                    "Image",
                    "Video",
                    "Audio",
                    "Animations",
                    "Width",
                    "Height",
                    "Interval",
                    "Number",
                    "MNS",
                    "TopicName",
                    "Start",
                    "Key",
                    "Value",
                    "StartTime",
                    "Duration",
                    "Snapshots",
                    "Sprite",
                    "Subtitle",
                    "Container",
                    "Codec",
                    "FrameRate",
                    "Bitrate",
                    "Segment",
                    "Transcode",
                    "Stream",
                    "TranscodeVideo",
                    "ScaleType",
                ]
            ),
            inner,
            max_size=4,
        )
    ),
    max_leaves=14,
)
imm_values = st.one_of(values, imm_json.map(json.dumps))


@st.composite
def imm_calls(draw) -> Call:
    params = draw(
        st.dictionaries(st.sampled_from(IMM_KEYS) | short_text.filter(bool), imm_values, max_size=6)
    )
    params.setdefault("ProjectName", draw(st.sampled_from(["fuzz", "fuzz", "nosuch", ""]) | short_text))
    action = draw(st.sampled_from(IMM_ACTIONS) | short_text)
    headers = {"x-acs-version": draw(st.sampled_from(["2020-09-30", "2020-09-30", "2017-09-06", ""]))}
    where = draw(st.sampled_from(["header", "query", "both"]))
    query: dict[str, str] = {}
    if where in ("header", "both"):
        headers["x-acs-action"] = action if action in IMM_ACTIONS else draw(header_text)
    if where in ("query", "both"):
        query["Action"] = action
    in_form = draw(st.booleans())
    if not in_form:
        query.update(params)
    if (auth := draw(st.none() | header_text.map(lambda s: f"ACS3-HMAC-SHA256 {s}"))) is not None:
        headers["authorization"] = auth
    body = b""
    if in_form:
        headers["content-type"] = "application/x-www-form-urlencoded"
        body = urlencode(params).encode()
    if draw(st.booleans()):
        body = draw(raw_bodies)
    return Call(
        draw(st.sampled_from(["POST", "POST", "GET", "PUT"])),
        _with_query("/", urlencode(query)),
        headers,
        body,
    )


# ---- MNS ---------------------------------------------------------------------------------------

MNS_XML = [
    "Message",
    "MessageBody",
    "DelaySeconds",
    "Priority",
    "Queue",
    "Topic",
    "VisibilityTimeout",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "PollingWaitSeconds",
    "LoggingEnabled",
    "ReceiptHandles",
    "ReceiptHandle",
    "Subscription",
    "Endpoint",
    "NotifyStrategy",
    "NotifyContentFormat",
    "FilterTag",
    "MessageTag",
    "MessageAttributes",
    "DirectMail",
]
MNS_QUERY = [
    "metaoverride",
    "peekonly",
    "ReceiptHandle",
    "VisibilityTimeout",
    "numOfMessages",
    "waitseconds",
    "x-mns-prefix",
    "x-mns-marker",
    "x-mns-ret-number",
]
mns_name = st.sampled_from(["fuzz", "fuzz", "nosuch", "a" * 300, "-x", "A_b"]) | segment


@st.composite
def mns_calls(draw, access_key_id: str, secret: str) -> Call:
    kind = draw(st.sampled_from(["queues", "topics"]))
    name = draw(mns_name)
    tail = draw(st.sampled_from(["", "", "/messages", "/subscriptions", "/subscriptions/s1", "/x"]))
    path = draw(st.sampled_from([f"/{kind}/{name}{tail}", f"/{kind}", "/", f"/{kind}/"]))
    target = _with_query(path, draw(_query(MNS_QUERY)))
    method = draw(st.sampled_from(["GET", "PUT", "POST", "DELETE", "HEAD"]))
    body = draw(_xml(MNS_XML)) if method in ("PUT", "POST", "DELETE") and draw(st.booleans()) else b""
    headers = {
        "x-mns-version": draw(st.sampled_from(["2015-06-06", "2015-06-06", "2014-07-08", ""])),
        "date": formatdate(usegmt=True),
    }
    headers.update(
        draw(
            st.dictionaries(
                st.sampled_from(["content-md5", "x-mns-date", "content-type", "x-mns-user-request-id"]),
                header_text,
                max_size=2,
            )
        )
    )
    if body:
        headers.setdefault("content-type", "text/xml;charset=UTF-8")
    if draw(st.integers(0, 9)):  # mostly signed, so the request reaches the parsers
        headers["authorization"] = (
            f"MNS {access_key_id}:{sign(secret, string_to_sign(method, target, headers))}"
        )
    elif (auth := draw(st.none() | header_text)) is not None:
        headers["authorization"] = auth
    return Call(method, target, headers, body)


# ---- DashScope ---------------------------------------------------------------------------------

urls = st.one_of(
    json_values,
    st.sampled_from(
        [
            "https://example.com/a.jpg",
            "oss://fuzz/img.png",
            "",
            "http://",
            "file:///etc/passwd",
            "http://127.0.0.1:1/x",
            "https://例子.com/a.jpg",
            "data:image/png;base64,AAAA",
        ]
    ),
)
submit_bodies = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {},
        optional={
            "model": st.one_of(json_values, st.sampled_from(["wan2.2-animate-move", "wan2.2-animate-mix"])),
            "input": st.one_of(
                json_values,
                st.fixed_dictionaries(
                    {}, optional={"image_url": urls, "video_url": urls, "watermark": json_values}
                ),
            ),
            "parameters": st.one_of(
                json_values,
                st.fixed_dictionaries(
                    {},
                    optional={
                        "mode": st.one_of(json_values, st.sampled_from(["wan-std", "wan-pro"])),
                        "check_image": json_values,
                    },
                ),
            ),
        },
    ),
)
DASHSCOPE_PATHS = [
    "/api/v1/services/aigc/image2video/video-synthesis",
    "/api/v1/services/aigc/video-generation/video-synthesis",
    "/api/v1/tasks",
    "/api/v1/tasks/",
    "/api/v1/uploads",
    "/api/v1/nope",
]
DASHSCOPE_QUERY = [
    "start_time",
    "end_time",
    "page_no",
    "page_size",
    "status",
    "model_name",
    "task_id",
    "action",
    "model",
    "region",
    "api_key_id",
]


@st.composite
def dashscope_calls(draw) -> Call:
    task = draw(st.sampled_from(["fuzz-task"]) | segment)
    path = draw(st.sampled_from(DASHSCOPE_PATHS + [f"/api/v1/tasks/{task}", f"/api/v1/tasks/{task}/cancel"]))
    headers = {"content-type": "application/json"}
    key = draw(
        st.one_of(st.sampled_from(["sk-emulator", "sk-emulator", "sk-emulator-cn"]), header_text, st.none())
    )
    if key is not None:
        headers["authorization"] = f"Bearer {key}".strip()
    headers.update(
        draw(
            st.dictionaries(
                st.sampled_from(["x-dashscope-async", "x-dashscope-ossresourceresolve", "host"]),
                st.just("enable") | header_text,
                max_size=2,
            )
        )
    )
    body = draw(st.one_of(submit_bodies.map(lambda b: json.dumps(b).encode()), raw_bodies))
    method = draw(st.sampled_from(["POST", "POST", "GET", "DELETE", "PUT"]))
    return Call(
        method,
        _with_query(path, draw(_query(DASHSCOPE_QUERY))),
        headers,
        body if method in ("POST", "PUT") else b"",
    )


# ---- admin -------------------------------------------------------------------------------------

RULE_LIKE = st.fixed_dictionaries(
    {},
    optional={
        "service": st.sampled_from(["oss", "imm", "mns", "dashscope", "*", "s3"]) | st.text(max_size=5),
        "match": st.dictionaries(
            st.sampled_from(["action", "method", "bucket", "model", "colour"]), json_values, max_size=3
        ),
        "effect": st.dictionaries(
            st.sampled_from(
                [
                    "http_error",
                    "throttle",
                    "delay_ms",
                    "reset",
                    "garbage",
                    "task_fail",
                    "task_stall",
                    "task_duration_seconds",
                    "notification",
                    "explode",
                ]
            ),
            json_values,
            max_size=2,
        ),
        "times": json_values,
        "after": json_values,
        "probability": json_values,
        "seed": json_values,
    },
)
ADMIN_PATHS = [
    "faults",
    "faults/x",
    "clock",
    "namespaces",
    "namespaces/fuzz-ns",
    "namespaces/default",
    "reset",
    "requests",
    "tasks",
    "tasks/x/events",
    "billing",
    "health",
    "openapi.json",
    "nope",
    "console/buckets",
    "console/buckets/fuzz/objects",
    "console/buckets/fuzz/meta",
    "console/buckets/fuzz/content",
    "console/mns",
    "console/mns/queues/fuzz/peek",
    "console/tasks/x",
]
admin_bodies = st.one_of(
    json_values,
    RULE_LIKE,
    st.lists(RULE_LIKE, max_size=3),
    st.fixed_dictionaries(
        {},
        optional={
            "advance_seconds": json_values | st.floats(),
            "set": json_values | short_text,
            "frozen": json_values,
            "namespace": json_values,
            "name": json_values,
        },
    ),
)


@st.composite
def admin_calls(draw) -> Call:
    path = "/_emulator/" + draw(st.sampled_from(ADMIN_PATHS) | segment)
    body = draw(st.one_of(admin_bodies.map(lambda b: json.dumps(b).encode()), raw_bodies))
    query = draw(_query(["limit", "namespace", "service", "key", "status", "action", "method", "bucket"]))
    method = draw(st.sampled_from(["GET", "POST", "DELETE", "PUT"]))
    return Call(
        method,
        _with_query(path, query),
        {"content-type": "application/json"},
        body if method in ("POST", "PUT", "DELETE") else b"",
    )


# ---- the run -----------------------------------------------------------------------------------


@dataclass
class Tally:
    statuses: Counter[int] = field(default_factory=Counter)
    server_errors: list[tuple[Call, int, bytes]] = field(default_factory=list)
    not_implemented: int = 0  # OSS's 501 NotImplemented: documented as not served, not a failure
    health_checks: int = 0
    seconds: float = 0.0

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())


def strategy(service: str, access_key_id: str, secret: str) -> st.SearchStrategy[Call]:
    return {
        "oss": oss_calls(),
        "imm": imm_calls(),
        "mns": mns_calls(access_key_id, secret),
        "dashscope": dashscope_calls(),
        "admin": admin_calls(),
    }[service]


# Well-formed calls every run tries first, whatever hypothesis draws (MNS's are signed per run and
# its generated ones succeed often enough).
WELL_FORMED = {
    "oss": [Call("GET", "/fuzz/k")],
    "imm": [
        Call("POST", "/?ProjectName=fuzz", {"x-acs-action": "GetProject", "x-acs-version": "2020-09-30"})
    ],
    "dashscope": [Call("GET", "/api/v1/tasks", {"authorization": "Bearer sk-emulator"})],
    "admin": [Call("GET", "/_emulator/health")],
}


def seed(url: str) -> None:
    """What the calls name exists: a bucket with objects, an IMM project, an MNS queue and topic."""
    with httpx.Client(base_url=url, timeout=60) as client:
        client.put("/fuzz").raise_for_status()
        for key, body in (("k", b"kept"), ("a/b.png", b"\x89PNG"), ("big", b"x" * 100_000)):
            client.put(f"/fuzz/{key}", content=body).raise_for_status()
        client.post("/fuzz/big?uploads").raise_for_status()
        client.post(
            "/",
            headers={"x-acs-action": "CreateProject", "x-acs-version": "2020-09-30"},
            params={"ProjectName": "fuzz"},
        ).raise_for_status()


def campaign(
    url: str, service: str, max_examples: int, derandomize: bool, access_key_id: str, secret: str
) -> Tally:
    """Throw `max_examples` generated calls at one service; every 5xx is recorded with its call."""
    tally = Tally()
    started = time.monotonic()
    with httpx.Client(base_url=url, timeout=60) as client:

        @settings(
            max_examples=max_examples,
            derandomize=derandomize,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            phases=["explicit", "generate"],
        )
        @given(call=strategy(service, access_key_id, secret))
        def throw(call: Call) -> None:
            headers = {name: value.strip() for name, value in call.headers.items()}
            try:
                response = client.request(call.method, call.path, headers=headers, content=call.body)
            except (httpx.ReadError, httpx.RemoteProtocolError, httpx.ConnectError, httpx.ReadTimeout):
                status, body = 599, b"(connection broken)"
            else:
                status, body = response.status_code, response.content
            tally.statuses[status] += 1
            if service == "oss" and status == 501:
                # OSS answers 501 only as NotImplemented (errors.not_implemented; a HEAD has no body
                # to show it): a sub-resource README lists as not served.
                tally.not_implemented += 1
            elif status >= 500:
                tally.server_errors.append((call, status, body[:500]))
            if service == "admin" and status == 201 and call.path.startswith("/_emulator/faults"):
                # A rule the run added could answer later requests with a 5xx on purpose.
                client.request("DELETE", "/_emulator/faults", json={}).raise_for_status()
            if tally.requests % HEALTH_EVERY == 0:
                assert client.get("/_emulator/health").json()["status"] == "ok"
                tally.health_checks += 1

        for call in WELL_FORMED.get(service, []):
            throw = example(call=call)(throw)
        throw()
        assert client.get("/_emulator/health").json()["status"] == "ok"
        tally.health_checks += 1
    tally.seconds = time.monotonic() - started
    return tally
