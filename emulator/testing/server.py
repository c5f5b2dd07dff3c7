"""A live emulator in a child process on a free port: what tests and the pytest plugin drive."""

from __future__ import annotations

import os
import re
import selectors
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from emulator.config import Config

# The line `aliyun-emulator serve` prints once it listens (see emulator.server.serve).
_LISTENING = re.compile(rb" on https?://[^ ]+:(\d+) ")


@dataclass
class Namespace:
    """An isolated world on a server, with its own credentials."""

    server: LiveServer
    namespace: str
    access_key_id: str
    access_key_secret: str
    dashscope_api_key: str
    dashscope_api_key_cn: str

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def endpoint(self) -> str:
        return self.server.endpoint

    def reset(self) -> None:
        self.server.reset(self.namespace)

    def delete(self) -> None:
        self.server.admin("DELETE", f"namespaces/{self.namespace}")


class AdminCalls:
    """The admin API as methods, over whatever `admin(method, path, json)` a subclass has."""

    def admin(self, method: str, path: str, json: Any = None) -> Any:
        raise NotImplementedError

    def reset(self, namespace: str | None = None) -> None:
        self.admin("POST", "reset", {"namespace": namespace} if namespace else None)

    def advance(self, seconds: float) -> dict:
        """Move the emulator's clock forward; whatever falls due happens at once."""
        return self.admin("POST", "clock", {"advance_seconds": seconds})

    def add_fault(self, rule: dict) -> dict:
        return self.admin("POST", "faults", rule)

    def requests(self, **filters: str) -> list[dict]:
        query = "&".join(f"{k}={v}" for k, v in filters.items())
        return self.admin("GET", "requests" + (f"?{query}" if query else ""))["requests"]

    def tasks(self, namespace: str | None = None) -> list[dict]:
        return self.admin("GET", "tasks" + (f"?namespace={namespace}" if namespace else ""))["tasks"]


class LiveServer(AdminCalls):
    """`with LiveServer() as server:` runs `python -m emulator serve` until the block ends.

    Without `port` the server takes any free port itself (`--port 0`) and says which: no other
    process (another xdist worker, say) can take it between choosing and binding."""

    def __init__(self, data_dir: Path | None = None, port: int | None = None,
                 extra_args: list[str] | None = None, env: dict[str, str] | None = None,
                 startup_timeout: float = 60.0) -> None:
        self.requested_port = port or 0
        self.port = self.requested_port
        self.data_dir = data_dir
        self.extra_args = extra_args or []
        self.env = env or {}
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen | None = None
        defaults = Config()
        self.access_key_id = defaults.access_key_id
        self.access_key_secret = defaults.access_key_secret
        self.dashscope_api_key = defaults.dashscope_api_key
        self.account_id = defaults.account_id
        self.region = defaults.region

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def endpoint(self) -> str:
        """host:port, as the IMM SDK's Config(endpoint=...) wants it."""
        return f"127.0.0.1:{self.port}"

    def start(self) -> LiveServer:
        args = [sys.executable, "-m", "emulator", "serve", "--port", str(self.requested_port)]
        args += ["--data-dir", str(self.data_dir)] if self.data_dir else ["--ephemeral"]
        args += self.extra_args
        env = {k: v for k, v in os.environ.items() if not k.startswith("EMULATOR_")}
        env.update(self.env)
        self.process = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE)
        deadline = time.monotonic() + self.startup_timeout
        self.port = self._announced_port(deadline)
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self._exited()
            try:
                if httpx.get(self.url + "/_emulator/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("emulator did not answer /_emulator/health in time")

    def _announced_port(self, deadline: float) -> int:
        """The port from the server's "listening on" line on stderr."""
        assert self.process is not None and self.process.stderr is not None
        said = b""
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stderr, selectors.EVENT_READ)
            while selector.select(max(0.0, deadline - time.monotonic())):
                line = self.process.stderr.readline()
                if not line:
                    self._exited(said)
                if found := _LISTENING.search(line):
                    return int(found.group(1))
                said += line
        self.stop()
        raise RuntimeError("emulator did not say which port it listens on in time")

    def _exited(self, said: bytes = b"") -> None:
        assert self.process is not None and self.process.stderr is not None
        err = (said + self.process.stderr.read()).decode(errors="replace")
        raise RuntimeError(f"emulator exited with {self.process.wait()}: {err}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process and self.process.stderr:
            self.process.stderr.close()
        self.process = None

    def admin(self, method: str, path: str, json: Any = None) -> Any:
        response = httpx.request(method, f"{self.url}/_emulator/{path.lstrip('/')}", json=json, timeout=30)
        response.raise_for_status()
        return response.json()

    def create_namespace(self, name: str | None = None) -> Namespace:
        creds = self.admin("POST", "namespaces", {"name": name} if name else {})
        return Namespace(server=self, **creds)

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
