"""A live emulator in a child process on a free port: what tests and the pytest plugin drive."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx

from emulator.config import Config
from emulator.control import admin_headers

# The line `aliyun-emulator serve` prints once it is ready (see emulator.server.announce); its port
# opens earlier, answering health 503 "loading" meanwhile.
_LISTENING = re.compile(r" on https?://[^ ]+:(\d+) ")


def free_port() -> int:
    """A port nobody listens on now (for clients that must find none); a server started here
    takes `--port 0` instead, so that parallel workers never race for one."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
                 startup_timeout: float = 60.0, admin_token: str | None = None) -> None:
        self.requested_port = port or 0
        self.port = self.requested_port
        self.data_dir = data_dir
        self.extra_args = extra_args or []
        self.env = env or {}
        self.startup_timeout = startup_timeout
        self.admin_token = admin_token  # passed as --admin-token; admin() sends it
        self.process: subprocess.Popen | None = None
        # The server's stderr (banner, request log) goes to a file, never a pipe nobody reads:
        # a full pipe would stop the server in the middle of a request.
        self._stderr: IO[bytes] | None = None
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
        args += ["--admin-token", self.admin_token] if self.admin_token else []
        args += self.extra_args
        env = {k: v for k, v in os.environ.items() if not k.startswith("EMULATOR_")}
        env.update(self.env)
        self._stderr = tempfile.NamedTemporaryFile(prefix="aliyun-emulator-", suffix=".log")
        self.process = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=self._stderr)
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

    def log(self) -> str:
        """What the server wrote to stderr so far: its banner and the request log."""
        if self._stderr is None:
            return ""
        return Path(self._stderr.name).read_text(encoding="utf-8", errors="replace")

    def _announced_port(self, deadline: float) -> int:
        """The port from the server's "listening on" line on stderr (`--port 0`: any free port,
        so that parallel test workers never race for one)."""
        assert self.process is not None
        while time.monotonic() < deadline:
            if found := _LISTENING.search(self.log()):
                return int(found.group(1))
            if self.process.poll() is not None:
                self._exited()
            time.sleep(0.02)
        self.stop()
        raise RuntimeError("emulator did not say which port it listens on in time")

    def _exited(self) -> None:
        assert self.process is not None
        code, err = self.process.wait(), self.log()
        self.stop()
        raise RuntimeError(f"emulator exited with {code}: {err}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
        self.process = None

    def admin(self, method: str, path: str, json: Any = None) -> Any:
        response = httpx.request(method, f"{self.url}/_emulator/{path.lstrip('/')}", json=json, timeout=30,
                                 headers=admin_headers(self.admin_token))
        response.raise_for_status()
        return response.json()

    def create_namespace(self, name: str | None = None) -> Namespace:
        creds = self.admin("POST", "namespaces", {"name": name} if name else {})
        return Namespace(server=self, **creds)

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
