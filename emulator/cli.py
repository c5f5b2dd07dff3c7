"""`aliyun-emulator serve ...` runs the emulator (also `python -m emulator serve ...`); the other
commands talk to a running one through its admin API (`--url`, default $EMULATOR_URL or
http://127.0.0.1:9088).

A bad flag or setting prints one line and exits with status 2, before anything is created."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import NoReturn

from emulator import __version__
from emulator.listen import DEFAULT_PORT, LOG_LEVELS

DEFAULT_URL = f"http://127.0.0.1:{DEFAULT_PORT}"


class Parser(argparse.ArgumentParser):
    """argparse that reports a bad flag in one line (no usage block) with exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see --help)\n")


def _port(value: str) -> int:
    if not value.isdigit() or not 0 <= int(value) <= 65535:
        raise argparse.ArgumentTypeError(f"port must be a number from 0 (any free port) to 65535, "
                                         f"not {value!r}")
    return int(value)


def _workers(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"workers must be a whole number >= 1, not {value!r}")
    return int(value)


def _log_level(value: str) -> str:
    if value.lower() not in LOG_LEVELS:
        raise argparse.ArgumentTypeError(f"log level must be one of {', '.join(LOG_LEVELS)}, not {value!r}")
    return value.lower()


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="aliyun-emulator", description=__doc__,
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=__version__)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    serve = sub.add_parser("serve", help="run the emulator on one port")
    serve.add_argument("--host", help="bind address (EMULATOR_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=_port, help="port (EMULATOR_PORT, default 9088)")
    serve.add_argument("--data-dir", type=Path, help="persist state here (EMULATOR_DATA_DIR)")
    serve.add_argument("--ephemeral", action="store_true", default=None,
                       help="keep state in a temporary directory removed at exit")
    serve.add_argument("--no-verify-signatures", dest="verify_signatures", action="store_false",
                       default=None, help="accept any signature and any known or unknown key")
    serve.add_argument("--speed", choices=["instant", "realistic"], help="task timing (default instant)")
    serve.add_argument("--seed", type=int, help="seed for ids and random choices (default 0)")
    serve.add_argument("--scenario", type=Path, help="YAML or JSON scenario file loaded at start")
    serve.add_argument("--workers", type=_workers, help="parallel media conversions (default: core count)")
    serve.add_argument("--quiet", action="store_true", default=None,
                       help="no request log on stderr (EMULATOR_QUIET)")
    serve.add_argument("--log-level", type=_log_level,
                       help=f"server messages: {', '.join(LOG_LEVELS)} (EMULATOR_LOG_LEVEL, default warning)")
    serve.add_argument("--header-timeout-seconds", type=float,
                       help="close a connection whose request headers take longer "
                            "(EMULATOR_HEADER_TIMEOUT_SECONDS, "
                            "default 10, 0: never)")
    serve.add_argument("--max-connections-per-client", type=int,
                       help="open connections one client address may hold "
                            "(EMULATOR_MAX_CONNECTIONS_PER_CLIENT, "
                            "default 512, 0: no cap)")
    serve.add_argument("--admin-token",
                       help="require 'Authorization: Bearer <token>' on /_emulator/* (EMULATOR_ADMIN_TOKEN)")
    serve.add_argument("--dashscope-url-aliases", type=Path,
                       help="JSON/YAML file of extra 'URL: local file' DashScope input aliases "
                            "(EMULATOR_DASHSCOPE_URL_ALIASES)")
    serve.add_argument("--dashscope-fetch-hosts",
                       help="loopback host:port list DashScope tasks may download inputs from "
                            "(EMULATOR_DASHSCOPE_FETCH_HOSTS)")

    def client(name: str, help: str) -> argparse.ArgumentParser:
        command = sub.add_parser(name, help=help)
        command.add_argument("--url", default=os.environ.get("EMULATOR_URL") or DEFAULT_URL,
                             help="the running emulator (EMULATOR_URL, default http://127.0.0.1:9088)")
        command.add_argument("--token", default=os.environ.get("EMULATOR_ADMIN_TOKEN") or None,
                             help="its admin token, if it has one (EMULATOR_ADMIN_TOKEN)")
        return command

    client("status", "is it up: version, data dir, clock, services")
    client("reset", "drop all state, or one namespace's").add_argument("--namespace")
    clock = client("clock", "show the clock, or advance / set / freeze / unfreeze it")
    clock.add_argument("action", nargs="?", choices=["show", "advance", "set", "freeze", "unfreeze"],
                       default="show")
    clock.add_argument("value", nargs="?", help="seconds for advance, an ISO 8601 time for set")
    faults = client("faults", "list fault rules, add them from a JSON/YAML file, or clear them")
    faults.add_argument("action", nargs="?", choices=["list", "add", "clear"], default="list")
    faults.add_argument("file", nargs="?", help="for add: a file with one rule or a list ('-': stdin)")
    tasks = client("tasks", "every IMM and DashScope task")
    tasks.add_argument("--watch", action="store_true", help="keep printing the table as it changes")
    tasks.add_argument("--namespace")
    requests = client("requests", "the request journal, one line a request")
    requests.add_argument("--follow", action="store_true", help="keep printing new requests")
    requests.add_argument("--service")
    requests.add_argument("--namespace")
    requests.add_argument("--status")
    requests.add_argument("--limit", type=int, default=100)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        from emulator.server import serve

        return serve({k: v for k, v in vars(args).items() if k != "command"})
    from emulator.control import run

    return run(args.command, args)


if __name__ == "__main__":
    sys.exit(main())
