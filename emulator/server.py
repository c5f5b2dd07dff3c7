"""Runs the emulator under uvicorn."""

from __future__ import annotations

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
        # The app sets Date and Server itself (OSS's on the emulator's clock); uvicorn's would be a
        # second copy of each.
        server_header=False, date_header=False,
        # IMM sends its whole request (Targets JSON and all) in the query string.
        h11_max_incomplete_event_size=1024 * 1024,
        timeout_keep_alive=75,
    )


def serve(config: Config) -> None:
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
    print(f"aliyun-emulator {__version__} on {config.public_url} (data: {where})", file=sys.stderr,
          flush=True)
    try:
        uvicorn.Server(uvicorn_config(app, config)).run()
    finally:
        runtime.close()
