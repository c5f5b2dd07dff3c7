"""Upload callbacks (`x-oss-callback`, reference/oss-more.md §11): after PutObject, PostObject or
CompleteMultipartUpload stored the object, OSS POSTs a body made from a template to the
application's URL, RSA-signed, and relays the application's JSON answer as the upload's response
body; when that fails the object stays stored and the upload answers 203 CallbackFailed.

The emulator is offline: only loopback callback URLs are contacted (as for MNS pushes); any other
host fails the callback the way an unreachable one does. The signing key is the emulator's own,
its public half served at PUBLIC_KEY_PATH (x-oss-pub-key-url points there)."""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from starlette.responses import Response

from emulator.core.errors import ServiceError
from emulator.core.net import is_loopback
from emulator.core.pipeline import RequestContext
from emulator.services.oss import errors, wire
from emulator.services.oss.documents import ObjectMeta

# The application must answer within 5 s [DOC Callback].
CALLBACK_TIMEOUT_SECONDS = 5.0
MAX_URLS = 5
FORM_TYPE = "application/x-www-form-urlencoded"
JSON_TYPE = "application/json"
PUBLIC_KEY_PATH = "/_emulator/oss/callback-public-key.pem"
_KEY_FILE = "oss-callback-key.pem"
_KEYS: dict[Path, Any] = {}
_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_UNREACHABLE = "Error status : -1.OSS can not connect to your callbackUrl, please check it."


@dataclass(frozen=True)
class Callback:
    """A validated callback request."""

    urls: tuple[str, ...]
    body: str  # the template
    body_type: str = FORM_TYPE
    host: str | None = None
    sni: bool = False
    variables: Mapping[str, str] = field(default_factory=dict)  # "x:name" -> value


def _decode_json(encoded: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(base64.b64decode(encoded.strip(), validate=True))
    except (binascii.Error, ValueError) as exc:
        raise errors.invalid_callback(f"The {what} is not a base64-encoded JSON object.", what) from exc
    if not isinstance(value, dict):
        raise errors.invalid_callback(f"The {what} is not a base64-encoded JSON object.", what)
    return value


def parse(encoded: str, encoded_vars: str | None = None,
          form_vars: Mapping[str, str] | None = None) -> Callback:
    """The callback an upload asks for; InvalidArgument (nothing stored) when it is malformed."""
    spec = _decode_json(encoded, "callback")
    urls = spec.get("callbackUrl")
    if not isinstance(urls, str) or not urls.strip():
        raise errors.invalid_callback("The callbackUrl is missing or empty.", "callbackUrl")
    split = tuple(u.strip() for u in urls.split(";") if u.strip())
    if len(split) > MAX_URLS or any(urlsplit(u).scheme not in ("http", "https") or not urlsplit(u).hostname
                                    for u in split):
        raise errors.invalid_callback("The callbackUrl is invalid.", "callbackUrl")
    body = spec.get("callbackBody")
    if not isinstance(body, str) or not body:
        raise errors.invalid_callback("The callbackBody is missing or empty.", "callbackBody")
    body_type = spec.get("callbackBodyType", FORM_TYPE)
    if body_type not in (FORM_TYPE, JSON_TYPE):
        raise errors.invalid_callback("The callbackBodyType is invalid.", "callbackBodyType")
    host = spec.get("callbackHost")
    if host is not None and not isinstance(host, str):
        raise errors.invalid_callback("The callbackHost is invalid.", "callbackHost")
    sni = spec.get("callbackSNI", False)
    if not isinstance(sni, bool):
        raise errors.invalid_callback("The callbackSNI is invalid.", "callbackSNI")
    variables = dict(form_vars or {})
    if encoded_vars:
        for name, value in _decode_json(encoded_vars, "callback-var").items():
            if not name.startswith("x:") or not isinstance(value, str | int | float):
                raise errors.invalid_callback("A callback-var key must start with x: and map to a "
                                              "string.", "callback-var")
            variables[name] = str(value)
    return Callback(split, body, body_type, host or None, sni, variables)


def requested(headers: Mapping[str, str], query: Mapping[str, str]) -> Callback | None:
    """The callback of a PutObject / CompleteMultipartUpload: headers, or presigned-URL query."""
    encoded = headers.get("x-oss-callback") or query.get("callback")
    if not encoded:
        return None
    return parse(encoded, headers.get("x-oss-callback-var") or query.get("callback-var"))


def from_form(form: Mapping[str, str]) -> Callback | None:
    """A PostObject's callback: the `callback` field, custom variables as `x:name` fields."""
    if not form.get("callback"):
        return None
    return parse(form["callback"], form.get("callback-var"),
                 {k: v for k, v in form.items() if k.startswith("x:")})


# ---- the body ----------------------------------------------------------------------------


def system_variables(meta: ObjectMeta, operation: str, request_id: str, client_ip: str,
                     content_md5: str = "", image: Mapping[str, str] | None = None) -> dict[str, str]:
    """What `${name}` stands for in a template [DOC Callback variables]."""
    values = {"bucket": meta.bucket, "object": meta.key, "etag": meta.etag.strip('"'),
              "size": str(meta.size), "mimeType": meta.content_type, "crc64": str(meta.crc64),
              "contentMd5": content_md5, "vpcId": "", "clientIp": client_ip, "reqId": request_id,
              "operation": operation}
    for name in ("height", "width", "format"):
        values[f"imageInfo.{name}"] = (image or {}).get(name, "")
    return values


def render_body(callback: Callback, system: Mapping[str, str]) -> str:
    """The template with each variable replaced: URL-encoded in a form body, JSON-escaped (no
    quotes added: the template has them) in a JSON one. A custom variable nobody set is empty;
    anything else in `${...}` stays as written."""
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in system:
            text = system[name]
        elif name.startswith("x:"):
            text = callback.variables.get(name, "")
        else:
            return match.group(0)
        return quote(text, safe="") if callback.body_type == FORM_TYPE else json.dumps(text)[1:-1]
    return _VARIABLE.sub(value, callback.body)


def needs_image_info(callback: Callback) -> bool:
    return "${imageInfo." in callback.body


def image_info(path: Path) -> dict[str, str]:
    """Height, width and format of an image object (blocking: run it in the worker pool);
    empty for anything Pillow cannot read."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            fmt = (image.format or "").lower()
            return {"height": str(image.height), "width": str(image.width),
                    "format": "jpg" if fmt == "jpeg" else fmt}
    except (UnidentifiedImageError, OSError, ValueError):
        return {}


# ---- signing -----------------------------------------------------------------------------


@functools.cache
def _key_lock(data_dir: Path) -> threading.Lock:
    return threading.Lock()


def private_key(data_dir: Path) -> Any:
    """The emulator's callback-signing key, made once per data directory and kept there (a
    verifier that cached the public key keeps working after a restart). Blocking the first time:
    call it from the worker pool."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    with _key_lock(data_dir):
        if data_dir in _KEYS:
            return _KEYS[data_dir]
        path = data_dir / _KEY_FILE
        if path.exists():
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        else:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            partial = path.with_suffix(".partial")
            partial.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                  serialization.PrivateFormat.PKCS8,
                                                  serialization.NoEncryption()))
            partial.replace(path)
        _KEYS[data_dir] = key
        return key


def public_key_pem(data_dir: Path) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return private_key(data_dir).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def string_to_sign(url: str, body: bytes) -> bytes:
    """URL-decoded path, the query as sent, a newline, the body [DOC Callback signature]."""
    target = urlsplit(url)
    path = unquote(target.path or "/") + (f"?{target.query}" if target.query else "")
    return path.encode() + b"\n" + body


def sign(key: Any, url: str, body: bytes) -> str:
    """base64 of the RSA (PKCS#1 v1.5, MD5) signature OSS puts in the callback's Authorization."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    signature = key.sign(string_to_sign(url, body), padding.PKCS1v15(), hashes.MD5())
    return base64.b64encode(signature).decode()


# ---- the call ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    ok: bool
    body: bytes  # the application's JSON answer, or why the callback failed
    content_type: str = JSON_TYPE


async def call(callback: Callback, body: str, key: Any, key_url: str) -> Outcome:
    """POST the body to each callback URL in turn until one answers 200 with JSON."""
    import httpx

    payload = body.encode()
    failure = _UNREACHABLE
    key_url = base64.b64encode(key_url.encode()).decode()
    async with httpx.AsyncClient(timeout=CALLBACK_TIMEOUT_SECONDS, trust_env=False, verify=False) as client:
        for url in callback.urls:
            if not is_loopback(urlsplit(url).hostname):
                failure = f"{_UNREACHABLE} (the emulator calls loopback hosts only)"
                continue
            headers = {"Content-Type": callback.body_type, "User-Agent": "aliyun-oss-callback",
                       "Authorization": sign(key, url, payload), "x-oss-pub-key-url": key_url}
            if callback.host:
                headers["Host"] = callback.host
            try:
                answer = await client.post(url, content=payload, headers=headers)
            except httpx.TimeoutException:
                failure = "Error status : -1 8(Time out)."
                continue
            except (httpx.HTTPError, OSError, ValueError):
                failure = _UNREACHABLE
                continue
            if answer.status_code != 200:
                failure = f"Error status : {answer.status_code}."
                continue
            try:
                json.loads(answer.content)
            except ValueError:
                failure = "Response body is not valid json format."
                continue
            return Outcome(True, answer.content, answer.headers.get("content-type", JSON_TYPE))
    return Outcome(False, failure.encode())


async def answer(ctx: RequestContext[Any], callback: Callback, meta: ObjectMeta,
                 headers: Mapping[str, str], content_md5: str = "") -> Response:
    """Call back for an object just stored by ctx's upload, and answer the upload."""
    runtime = ctx.runtime
    image = None
    if needs_image_info(callback):
        image = await runtime.pool.run(image_info, runtime.blobs.path(meta.blob_id))
    client_ip = ctx.request.client.host if ctx.request.client else ""
    body = render_body(callback, system_variables(meta, ctx.operation or "", ctx.request_id, client_ip,
                                                  content_md5, image))
    key = await runtime.pool.run(private_key, runtime.data_dir)
    outcome = await call(callback, body, key, ctx.base_url + PUBLIC_KEY_PATH)
    return response(outcome, ctx.request_id, ctx.headers.get("host", ""), headers)


def response(outcome: Outcome, request_id: str, host_id: str, headers: Mapping[str, str]) -> Response:
    """What the uploader gets: the application's answer (200), or 203 with CallbackFailed; the
    upload's own headers (ETag, CRC64...) either way, the object being stored."""
    if outcome.ok:
        return Response(outcome.body, 200, headers=dict(headers), media_type=outcome.content_type)
    err: ServiceError = errors.callback_failed(outcome.body.decode())
    ec = wire.error_code_ec(err)
    return Response(wire.error_xml(err, request_id, host_id, ec), err.status,
                    headers={**headers, "x-oss-ec": ec}, media_type=wire.XML_TYPE)
