"""`aliyun-emulator serve ...` (also `python -m emulator serve ...`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pydantic import ValidationError

from emulator import __version__
from emulator.config import ENV_PREFIX, from_env


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aliyun-emulator", description=__doc__)
    parser.add_argument("--version", action="version", version=__version__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the emulator on one port")
    serve.add_argument("--host", help="bind address (EMULATOR_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (EMULATOR_PORT, default 9088)")
    serve.add_argument("--data-dir", type=Path, help="persist state here (EMULATOR_DATA_DIR)")
    serve.add_argument("--ephemeral", action="store_true", default=None,
                       help="keep state in a temporary directory removed at exit")
    serve.add_argument("--no-verify-signatures", dest="verify_signatures", action="store_false",
                       default=None, help="accept any signature and any known or unknown key")
    serve.add_argument("--speed", choices=["instant", "realistic"], help="task timing (default instant)")
    serve.add_argument("--seed", type=int, help="seed for ids and random choices (default 0)")
    serve.add_argument("--scenario", type=Path, help="YAML or JSON scenario file loaded at start")
    serve.add_argument("--workers", type=int, help="parallel media conversions (default: core count)")
    serve.add_argument("--log-level", help="uvicorn log level (default warning)")
    serve.add_argument("--dashscope-url-aliases", type=Path,
                       help="JSON/YAML file of extra 'URL: local file' DashScope input aliases "
                            "(EMULATOR_DASHSCOPE_URL_ALIASES)")
    serve.add_argument("--dashscope-fetch-hosts",
                       help="loopback host:port list DashScope tasks may download inputs from "
                            "(EMULATOR_DASHSCOPE_FETCH_HOSTS)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        from emulator.server import serve

        overrides = {k: v for k, v in vars(args).items() if k != "command"}
        try:
            config = from_env(**overrides)
        except ValidationError as exc:
            error = exc.errors(include_url=False)[0]
            name = str(error["loc"][0])
            print(f"aliyun-emulator: {ENV_PREFIX}{name.upper()} (or --{name.replace('_', '-')}): "
                  f"{error['msg']}", file=sys.stderr)
            return 2
        serve(config)
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
