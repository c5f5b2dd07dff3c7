"""Runs the emulator under uvicorn.

The port opens first, with `emulator.boot.Boot` in front: health answers "loading" at once while a
thread builds the emulator (validates every setting, checks and creates the data directory,
imports and builds the services, loads the scenario); then the emulator starts and the banner is
printed. Every start-up failure is one line and exit status 2 with nothing left behind: a port in
use before anything else; a bad setting, data directory or scenario stops the server before the
banner (and removes the data directory again if the start created it)."""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
import sys
from collections import Counter
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import uvicorn

from emulator import __version__
from emulator.boot import Boot
from emulator.connections import GuardedH11Protocol
from emulator.listen import Listen, read_listen

if TYPE_CHECKING:
    from emulator.app import EmulatorApp
    from emulator.config import Config


class StartError(Exception):
    """Why the server cannot start, in one line."""


GIL_SWITCH_SECONDS = 0.0005


def uvicorn_config(app, config: Listen | Config) -> uvicorn.Config:
    return uvicorn.Config(
        app, host=config.host, port=config.port, log_level=config.log_level,
        lifespan="on", access_log=False,
        # The app sets Date and Server itself (OSS's on the emulator's clock); uvicorn's would be a
        # second copy of each.
        server_header=False, date_header=False,
        # IMM sends its whole request (Targets JSON and all) in the query string.
        h11_max_incomplete_event_size=1024 * 1024,
        timeout_keep_alive=75,
        http=partial(GuardedH11Protocol, header_timeout=config.header_timeout_seconds,
                     max_per_client=config.max_connections_per_client, per_client=Counter()),
        # No WebSocket routes: do not load a WebSocket library.
        ws="none",
    )


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, or StartError (port in use, address not available)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise StartError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise StartError(f"cannot listen on {host}:{port}: {exc.strerror.lower()}") from exc
    sock.set_inheritable(True)
    return sock


def is_loopback(sock: socket.socket) -> bool:
    """Whether only this machine can reach `sock`."""
    return ipaddress.ip_address(sock.getsockname()[0].split("%")[0]).is_loopback


def check_data_dir(path: Path) -> bool:
    """Make sure state can be kept in `path`; True when it had to be created (StartError if not)."""
    if path.exists() and not path.is_dir():
        raise StartError(f"data dir {path} is not a directory")
    created = not path.exists()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StartError(f"cannot create data dir {path}: {exc.strerror.lower()}") from exc
    if not os.access(path, os.W_OK | os.X_OK):
        raise StartError(f"data dir {path} is not writable")
    return created


def build(overrides: dict[str, Any], port: int) -> EmulatorApp:
    """The emulator, from the flags given (None: not given) and the port bound; raises StartError
    (the one-line reason) with nothing left behind. Runs in a thread while health says "loading"."""
    from emulator.app import build_app, load_into
    from emulator.config import ConfigError, from_env
    from emulator.core.runtime import Runtime
    from emulator.core.scenario import ScenarioError

    try:
        # `--port 0` means any free port: the URLs the emulator hands out must carry the real one.
        config = from_env(**overrides).model_copy(update={"port": port})
    except ConfigError as exc:
        raise StartError(str(exc)) from exc
    data_dir = None if config.ephemeral else config.resolved_data_dir()
    created = False
    runtime = None
    try:
        if data_dir is not None:
            created = check_data_dir(data_dir)
        runtime = Runtime(config)
        app = build_app(runtime)
        if config.scenario:
            load_into(app, config.scenario)
        return app
    except (StartError, ScenarioError) as exc:
        if runtime:
            runtime.close()
        if created and data_dir is not None:
            shutil.rmtree(data_dir, ignore_errors=True)
        raise StartError(str(exc)) from exc


def announce(app: EmulatorApp, loopback: bool) -> None:
    """The banner, once the emulator answers everything."""
    config = app.runtime.config
    where = "ephemeral" if config.ephemeral else str(app.runtime.data_dir)
    if not config.admin_token and not loopback:
        print(f"aliyun-emulator: warning: listening on {config.host} without --admin-token: anyone who "
              f"reaches this port can read every namespace's keys at /_emulator/namespaces",
              file=sys.stderr, flush=True)
    # LiveServer reads the port from this line: keep its "on <url>" form.
    print(f"aliyun-emulator {__version__} on {config.public_url} (data: {where})\n"
          f"  console: {config.public_url}/_emulator/ui"
          f"{'?token=<admin token>' if config.admin_token else ''}"
          f"{'' if config.quiet else '   (request log below; --quiet turns it off)'}",
          file=sys.stderr, flush=True)


def serve(overrides: dict[str, Any]) -> int:
    """`aliyun-emulator serve` with these flags (None: not given); its exit status."""
    listen = read_listen(overrides)
    if listen is None:  # a listening setting that is not plainly valid: the full check says why
        from emulator.config import ConfigError, from_env

        try:
            listen = from_env(**overrides)
        except ConfigError as exc:
            print(f"aliyun-emulator serve: {exc}", file=sys.stderr)
            return 2
    # A task's Python work (DashScope's frame compositing) holds the GIL in 5 ms slices by
    # default, and the event loop waits up to a slice at every socket or SQLite call it makes:
    # polls took 20-50 ms while a render ran. Shorter slices keep them at a few milliseconds (and
    # health answers prompt while the emulator is built in a thread at start).
    sys.setswitchinterval(GIL_SWITCH_SECONDS)
    try:
        sock = bind(listen.host, listen.port)
    except StartError as exc:
        print(f"aliyun-emulator serve: {exc}", file=sys.stderr)
        return 2

    def stop(reason: str) -> None:  # the reason is printed once uvicorn has stopped
        server.should_exit = True

    def close(app: EmulatorApp) -> None:  # an ephemeral data directory is removed here
        app.runtime.close()

    boot = Boot(partial(build, overrides, sock.getsockname()[1]),
                partial(announce, loopback=is_loopback(sock)), stop, close)
    server = uvicorn.Server(uvicorn_config(boot, listen))
    server.run(sockets=[sock])
    if boot.failure:
        print(f"aliyun-emulator serve: {boot.failure}", file=sys.stderr)
        return 2
    return 0
