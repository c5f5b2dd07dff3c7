"""The app uvicorn serves from the moment the port opens, while the emulator itself is built.

Building it (importing Starlette, pydantic and every service, opening the SQLite store, loading a
scenario) takes most of a second; a probe should not wait that long to learn the process is up.
So the port opens first with this small app in front, and the build runs in a thread:
- `GET /_emulator/health` answers at once: 503 `{"status": "loading"}` until the emulator is built
  and started, then the emulator's own 200 `{"status": "ok", ...}` (a probe that waits for 200,
  as `curl -f`, Docker's HEALTHCHECK and `LiveServer` do, keeps waiting while it loads);
- any other request waits for the build and then gets the emulator's answer, never a wrong one;
- a build that fails stops the server (`failure` says why) and answers 503 `{"status": "failed"}`.

The built app needs `startup()` and `shutdown()` coroutines (as `emulator.app.EmulatorApp` has):
they run on the event loop, as uvicorn's lifespan would run them."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from emulator import __version__

HEALTH_PATH = "/_emulator/health"
log = logging.getLogger("emulator")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class BuiltApp(Protocol):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None: ...

    async def startup(self) -> None: ...

    async def shutdown(self) -> None: ...


async def _answer(send: Send, status: int, body: dict[str, Any]) -> None:
    payload = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()),
        (b"cache-control", b"no-store")]})
    await send({"type": "http.response.body", "body": payload})


class Boot:
    """`Boot(build, on_ready, on_failure, close)`: `build()` runs in a thread once uvicorn has
    started (it raises an exception whose text is the one-line reason to refuse the start);
    `on_ready(app)` runs once the built app has started; `on_failure(reason)` when either failed;
    `close(app)` at the end of uvicorn's shutdown, after the app's own (still inside uvicorn's run:
    on SIGTERM uvicorn ends the process by the signal once it returns, before any `finally` of
    the caller's could run)."""

    def __init__(self, build: Callable[[], BuiltApp], on_ready: Callable[[BuiltApp], None],
                 on_failure: Callable[[str], None], close: Callable[[BuiltApp], None]) -> None:
        self.build = build
        self.on_ready = on_ready
        self.on_failure = on_failure
        self.close = close
        self.app: BuiltApp | None = None
        self.started = False
        self.failure: str | None = None
        self._stopping = False
        self._settled: asyncio.Event | None = None
        self._loading: asyncio.Task[None] | None = None

    @property
    def status(self) -> str:
        return "failed" if self.failure else "ok" if self.started else "loading"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if self.started and self.app is not None:
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":
            return
        if scope["path"] != HEALTH_PATH:
            assert self._settled is not None
            await self._settled.wait()
            if self.started and self.app is not None:
                await self.app(scope, receive, send)
                return
        body = {"status": self.status, "version": __version__}
        if self.failure:
            body["error"] = self.failure
        elif not self.started:
            body["error"] = "the emulator is still starting; wait until health answers 200"
        await _answer(send, 503, body)

    async def _load(self) -> None:
        try:
            try:
                self.app = await asyncio.to_thread(self.build)
            except Exception as exc:  # the builder's one-line reason
                self.failure = str(exc) or repr(exc)
                return
            if self._stopping:  # stopped while it loaded: there is nothing to start for
                return
            try:
                await self.app.startup()
            except Exception as exc:
                log.exception("the emulator failed to start")
                self.failure = f"start-up failed: {exc!r}"
                return
            self.started = True
            if not self._stopping:
                self.on_ready(self.app)
        finally:
            assert self._settled is not None
            self._settled.set()
            if self.failure:
                self.on_failure(self.failure)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._settled = asyncio.Event()
                self._loading = asyncio.create_task(self._load(), name="build the emulator")
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self._stopping = True
                if self._loading is not None:
                    await self._loading  # a build cannot be interrupted: let it end, then shut down
                if self.app is not None:
                    if self.started:
                        await self.app.shutdown()
                    self.close(self.app)
                await send({"type": "lifespan.shutdown.complete"})
                return
