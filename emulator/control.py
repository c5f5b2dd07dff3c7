"""Commands that talk to a running emulator through its admin API (`aliyun-emulator status`,
`reset`, `clock`, `faults`, `tasks`, `requests`). Each prints plain text and returns an exit
status: 0 done, 1 the emulator refused or could not be reached."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from emulator.core.requestlog import format_line

POLL_SECONDS = 1.0


def admin_headers(token: str | None) -> dict[str, str]:
    """What an admin API request carries when the server has an admin token."""
    return {"Authorization": f"Bearer {token}"} if token else {}


class AdminError(Exception):
    """One line that says what went wrong."""


class Admin:
    def __init__(self, url: str, token: str | None = None) -> None:
        self.url = url.rstrip("/")
        self.headers = admin_headers(token)

    def call(self, method: str, path: str, body: Any = None, params: dict[str, str] | None = None) -> Any:
        try:
            response = httpx.request(method, f"{self.url}/_emulator/{path}", json=body, params=params,
                                     headers=self.headers, timeout=30)
        except httpx.HTTPError as exc:
            raise AdminError(f"cannot reach the emulator at {self.url}: {exc}") from exc
        try:
            answer = response.json()
        except ValueError as exc:
            raise AdminError(f"{self.url} answered {response.status_code} without JSON: "
                             f"is it an emulator?") from exc
        if response.status_code >= 400:
            where = f" ({answer['field']})" if isinstance(answer, dict) and answer.get("field") else ""
            message = answer.get("error") if isinstance(answer, dict) else answer
            raise AdminError(f"the emulator refused: {message}{where}")
        return answer


def status(admin: Admin, args: Any) -> int:
    health = admin.call("GET", "health")
    print(f"aliyun-emulator {health['version']} at {admin.url}: {health['status']}")
    print(f"  console  {admin.url}/_emulator/ui")
    print(f"  data     {health.get('data_dir') or 'ephemeral'}")
    print(f"  clock    {health.get('clock')}  speed {health.get('speed')}  "
          f"signatures {'verified' if health.get('verify_signatures') else 'not verified'}")
    for name, info in health["services"].items():
        print(f"  {name:<9}{info.get('status', '')}")
    return 0


def reset(admin: Admin, args: Any) -> int:
    answer = admin.call("POST", "reset", {"namespace": args.namespace} if args.namespace else None)
    print(f"reset: {answer['reset']}")
    return 0


def clock(admin: Admin, args: Any) -> int:
    body: dict[str, Any] | None = None
    if args.action == "advance":
        body = {"advance_seconds": _seconds(args.value)}
    elif args.action == "set":
        body = {"set": _required(args.value, "clock set needs an ISO 8601 time")}
    elif args.action in ("freeze", "unfreeze"):
        body = {"frozen": args.action == "freeze"}
    answer = admin.call("POST" if body else "GET", "clock", body)
    print(f"{answer['now']}{' (frozen)' if answer['frozen'] else ''}")
    return 0


def faults(admin: Admin, args: Any) -> int:
    if args.action == "add":
        rules = _load_rules(_required(args.file, "faults add needs a JSON or YAML file ('-': stdin)"))
        added = admin.call("POST", "faults", rules)
        for rule in added if isinstance(added, list) else [added]:
            print(f"added {rule['id']}")
        return 0
    if args.action == "clear":
        admin.call("DELETE", "faults")
        print("fault rules cleared")
        return 0
    for rule in admin.call("GET", "faults")["faults"]:
        print(json.dumps(rule, sort_keys=True))
    return 0


def tasks(admin: Admin, args: Any) -> int:
    params = {"namespace": args.namespace} if args.namespace else None
    shown = None
    while True:
        listed = admin.call("GET", "tasks", params=params)["tasks"]
        table = _task_table(listed)
        if table != shown:
            print(table, flush=True)
            shown = table
        if not args.watch:
            return 0
        time.sleep(POLL_SECONDS)  # a person is watching; the admin API has no push channel


def requests(admin: Admin, args: Any) -> int:
    filters = {k: v for k, v in (("service", args.service), ("namespace", args.namespace),
                                 ("status", args.status)) if v}
    last_seq = 0
    while True:
        entries = admin.call("GET", "requests", params={**filters, "limit": str(args.limit)})["requests"]
        for entry in entries:
            if entry["seq"] > last_seq:
                print(format_line(entry), flush=True)
        if entries:
            last_seq = max(last_seq, entries[-1]["seq"])
        if not args.follow:
            return 0
        time.sleep(POLL_SECONDS)


def _task_table(listed: list[dict[str, Any]]) -> str:
    if not listed:
        return "no tasks"
    rows = [("SERVICE", "NAMESPACE", "TASK", "STATUS", "PROGRESS", "SUBMITTED")]
    rows += [(t["service"], t["namespace"], t["task_id"], t["status"],
              "" if t.get("progress") is None else f"{t['progress']}%", str(t.get("submitted", "")))
             for t in listed]
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
                     for row in rows)


def _required(value: str | None, message: str) -> str:
    if not value:
        raise AdminError(message)
    return value


def _seconds(value: str | None) -> float:
    try:
        seconds = float(_required(value, "clock advance needs a number of seconds"))
    except ValueError as exc:
        raise AdminError(f"clock advance needs a number of seconds, not {value!r}") from exc
    if seconds < 0:
        raise AdminError("clock advance needs a number of seconds >= 0")
    return seconds


def _load_rules(file: str) -> Any:
    import yaml

    try:
        text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
    except OSError as exc:
        raise AdminError(f"cannot read {file}: {exc.strerror}") from exc
    try:
        return yaml.safe_load(text)  # YAML is a superset of JSON
    except yaml.YAMLError as exc:
        raise AdminError(f"{file} is neither JSON nor YAML: {exc}") from exc


COMMANDS: dict[str, Callable[[Admin, Any], int]] = {
    "status": status, "reset": reset, "clock": clock, "faults": faults, "tasks": tasks,
    "requests": requests,
}


def run(command: str, args: Any) -> int:
    try:
        return COMMANDS[command](Admin(args.url, args.token), args)
    except AdminError as exc:
        print(f"aliyun-emulator {command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
