"""Runs the emulator under uvicorn."""

from __future__ import annotations

import dataclasses
import socket
import sys

import uvicorn

from emulator import __version__
from emulator.app import build_app, load_into
from emulator.config import Config
from emulator.core.runtime import Runtime
from emulator.core.scenario import ScenarioError


def uvicorn_config(app, config: Config) -> uvicorn.Config:
    return uvicorn.Config(
        app, host=config.host, port=config.port, log_level=config.log_level,
        lifespan="on", access_log=False,
        # IMM sends its whole request (Targets JSON and all) in the query string.
        h11_max_incomplete_event_size=1024 * 1024,
        timeout_keep_alive=75,
        # No WebSocket routes: do not load a WebSocket library.
        ws="none",
    )


def listening_socket(host: str, port: int) -> socket.socket:
    """The server's socket, bound before anything else so that `--port 0` (any free port) is
    known to the runtime: the URLs it hands out must carry the real port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        print(f"aliyun-emulator: cannot listen on {host}:{port}: {exc.strerror}", file=sys.stderr)
        raise SystemExit(1) from exc
    return sock


def serve(config: Config) -> None:
    sock = listening_socket(config.host, config.port)
    config = dataclasses.replace(config, port=sock.getsockname()[1])
    runtime = Runtime(config)
    app = build_app(runtime)
    if config.scenario:
        try:
            load_into(app, config.scenario)
        except ScenarioError as exc:
            runtime.close()
            print(f"aliyun-emulator: {exc}", file=sys.stderr)
            raise SystemExit(2) from exc
    where = "ephemeral" if config.ephemeral else str(runtime.data_dir)
    # LiveServer reads the port from this line: keep its "on <url>" form.
    print(f"aliyun-emulator {__version__} on {config.public_url} (data: {where})", file=sys.stderr,
          flush=True)
    try:
        uvicorn.Server(uvicorn_config(app, config)).run(sockets=[sock])
    finally:
        runtime.close()
        sock.close()
