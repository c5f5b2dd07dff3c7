"""The emulator in this process, for httpx-based code: `mock_aliyun()` routes the real Alibaba
Cloud host names to the emulator's ASGI app through respx, with no port and no network.

    from emulator.testing import mock_aliyun

    with mock_aliyun() as cloud:                 # also @mock_aliyun() and `async with`
        httpx.post("https://dashscope-intl.aliyuncs.com/api/v1/services/aigc/image2video/"
                   "video-synthesis", headers={"Authorization": "Bearer sk-emulator", ...}, json=...)
        cloud.advance(3600)                      # the admin API works here too
        cloud.add_fault({...})

The app runs on its own event loop in a background thread (tasks keep running between calls).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
import respx

from emulator.app import build_app
from emulator.config import Config
from emulator.control import admin_headers
from emulator.core.runtime import Runtime
from emulator.testing.server import AdminCalls

F = TypeVar("F", bound=Callable[..., Any])

# The real host names, and one for the admin API.
ADMIN_HOST = "aliyun-emulator.local"
HOST_PATTERNS = [
    r"dashscope(-intl)?\.aliyuncs\.com",
    r"[a-z0-9-]+\.[a-z0-9-]+\.maas\.aliyuncs\.com",
    r"imm(-vpc)?\.[a-z0-9-]+\.aliyuncs\.com",
    r"([a-z0-9][a-z0-9-]{1,61}[a-z0-9]\.)?oss-[a-z0-9-]+\.aliyuncs\.com",
    r"\d+\.mns\.[a-z0-9-]+\.aliyuncs\.com",
    r"aliyun-emulator\.local",
]


class InProcessEmulator(AdminCalls):
    """An emulator app with its own event loop in a daemon thread."""

    def __init__(self, config: Config | None = None) -> None:
        self.config = config or Config(ephemeral=True, quiet=True)  # no request log in-process
        self.runtime = Runtime(self.config)
        self.app = build_app(self.runtime)
        self._transport = httpx.ASGITransport(app=self.app, client=("127.0.0.1", 50000))
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="aliyun-emulator", daemon=True)
        self.access_key_id = self.config.access_key_id
        self.access_key_secret = self.config.access_key_secret
        self.dashscope_api_key = self.config.dashscope_api_key
        self.url = f"http://{ADMIN_HOST}"

    def start(self) -> InProcessEmulator:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.app.startup(), self._loop).result()
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.app.shutdown(), self._loop).result()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self.runtime.close()

    async def _handle(self, request: httpx.Request) -> httpx.Response:
        forwarded = httpx.Request(request.method, request.url, headers=request.headers,
                                  content=request.content)
        try:
            response = await self._transport.handle_async_request(forwarded)
        except ConnectionResetError as exc:  # a `reset` fault
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.",
                                            request=request) from exc
        body = await response.aread()
        return httpx.Response(response.status_code, headers=response.headers, content=body,
                              request=request)

    def handle(self, request: httpx.Request) -> httpx.Response:
        """Serve one request (from any thread) and wait for the answer."""
        return asyncio.run_coroutine_threadsafe(self._handle(request), self._loop).result()

    def respond(self, request: httpx.Request) -> Any:
        """A respx side effect: an awaitable inside an event loop, a response outside one."""
        future = asyncio.run_coroutine_threadsafe(self._handle(request), self._loop)
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return future.result()
        return asyncio.wrap_future(future)

    def admin(self, method: str, path: str, json: Any = None) -> Any:
        request = httpx.Request(method, f"{self.url}/_emulator/{path.lstrip('/')}", json=json,
                                headers=admin_headers(self.config.admin_token))
        response = self.handle(request)
        response.raise_for_status()
        return response.json()


class mock_aliyun:  # noqa: N801 - named like the decorators it sits beside (respx.mock, moto's mock_aws)
    """Route Alibaba Cloud host names to an in-process emulator for httpx clients.

    Works as a context manager (`with` / `async with`) and as a decorator of sync or async
    functions; other hosts are left alone (they reach the network as usual)."""

    def __init__(self, config: Config | None = None) -> None:
        self._config = config
        self.emulator: InProcessEmulator | None = None
        self._router: respx.MockRouter | None = None

    def __enter__(self) -> InProcessEmulator:
        self.emulator = InProcessEmulator(self._config).start()
        self._router = respx.mock(assert_all_called=False, assert_all_mocked=False)
        for pattern in HOST_PATTERNS:
            self._router.route(host__regex=rf"^{pattern}$").mock(side_effect=self.emulator.respond)
        self._router.route().pass_through()
        self._router.__enter__()
        return self.emulator

    def __exit__(self, *exc: object) -> None:
        if self._router is not None:
            self._router.__exit__(*exc)
        if self.emulator is not None:
            self.emulator.stop()
        self._router = self.emulator = None

    async def __aenter__(self) -> InProcessEmulator:
        return self.__enter__()

    async def __aexit__(self, *exc: object) -> None:
        self.__exit__(*exc)

    def __call__(self, func: F) -> F:
        if inspect.iscoroutinefunction(func):
            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                async with mock_aliyun(self._config):
                    return await func(*args, **kwargs)
            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with mock_aliyun(self._config):
                return func(*args, **kwargs)
        return wrapper  # type: ignore[return-value]
