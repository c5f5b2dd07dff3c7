"""Background HTTP pushes to HttpEndpoint subscribers, retried per NotifyStrategy on the emulator
clock. The first attempt is immediate; only loopback endpoints are contacted (the emulator is
offline), any other host is refused and recorded."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from emulator.auth.mns import sign, string_to_sign
from emulator.core.net import is_loopback
from emulator.core.runtime import Runtime
from emulator.core.timefmt import http_date
from emulator.services.mns.documents import Delivery
from emulator.services.mns.model import MnsModel
from emulator.services.mns.notify import CONTENT_TYPES

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)
API_VERSION = "2015-06-06"
# A subscriber that does not answer within 5 s has failed this attempt [doc HttpEndpoint].
PUSH_TIMEOUT_SECONDS = 5.0


class Pusher:
    def __init__(self, runtime: Runtime, model: MnsModel) -> None:
        self._runtime = runtime
        self._model = model
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: httpx.AsyncClient | None = None
        self._tasks: dict[tuple[str, str], asyncio.Task] = {}

    async def startup(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._model.on_delivery = self.schedule
        for ns, delivery_id in self._model.pending_deliveries():
            self._start(ns, delivery_id)

    async def shutdown(self) -> None:
        for task in list(self._tasks.values()):
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        if self._client:
            await self._client.aclose()

    def reset(self, namespace: str | None) -> None:
        for (ns, _), task in list(self._tasks.items()):
            if namespace is None or ns == namespace:
                task.cancel()

    def schedule(self, ns: str, delivery_id: str) -> None:
        """Start pushing a delivery; callable from any thread."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._start, ns, delivery_id)

    def _start(self, ns: str, delivery_id: str) -> None:
        key = (ns, delivery_id)
        if key in self._tasks:
            return
        task = asyncio.get_running_loop().create_task(self._run(ns, delivery_id))
        self._tasks[key] = task
        task.add_done_callback(lambda _: self._tasks.pop(key, None))

    async def _run(self, ns: str, delivery_id: str) -> None:
        clock = self._runtime.clock
        while (delivery := self._model.delivery(ns, delivery_id)) is not None:
            if delivery.next_at > clock.now():
                await clock.sleep_until(delivery.next_at)
                continue
            outcome, retry = await self._attempt(delivery)
            if self._model.delivery_finished(ns, delivery_id, outcome, retry) is None:
                return

    async def _attempt(self, delivery: Delivery) -> tuple[str, bool]:
        """(what happened, whether to retry)."""
        host = urlsplit(delivery.endpoint).hostname
        if not is_loopback(host):
            return f"refused: {host} is not a loopback address", False
        import httpx  # loaded by the first push, not at start

        if self._client is None:
            self._client = httpx.AsyncClient(timeout=PUSH_TIMEOUT_SECONDS, trust_env=False)
        try:
            response = await self._client.post(delivery.endpoint, content=delivery.body.encode(),
                                               headers=self._headers(delivery))
        except (httpx.HTTPError, ValueError, OSError) as exc:
            return f"error: {type(exc).__name__}", True
        if 200 <= response.status_code < 400:  # [200, 400) counts as delivered [doc]
            return str(response.status_code), False
        return str(response.status_code), True

    def _headers(self, delivery: Delivery) -> dict[str, str]:
        config = self._runtime.config
        body = delivery.body.encode()
        headers = {
            # Content-MD5 in the form the MNS SDKs use: base64 of the hex digest.
            "content-md5": base64.b64encode(hashlib.md5(body).hexdigest().encode()).decode(),
            "content-type": CONTENT_TYPES[delivery.content_format],
            "date": http_date(self._runtime.clock.now()),
            "x-mns-request-id": self._runtime.ids.request_id(),
            "x-mns-version": API_VERSION,
            # Real pushes are RSA-signed with Alibaba's certificate, which no emulator has: this
            # URL is not served and the signature is an HMAC with the account's secret.
            "x-mns-signing-cert-url": base64.b64encode(
                f"{config.public_url}/_emulator/mns/signing-cert.pem".encode()).decode(),
        }
        if delivery.content_format == "SIMPLIFIED":
            headers["x-mns-message-id"] = delivery.message_id
            if delivery.message_tag:
                headers["x-mns-message-tag"] = delivery.message_tag
        target = urlsplit(delivery.endpoint)
        path = (target.path or "/") + (f"?{target.query}" if target.query else "")
        headers["authorization"] = sign(config.access_key_secret, string_to_sign("POST", path, headers))
        return headers
