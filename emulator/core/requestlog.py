"""The request log: one line on stderr per request, made from the same record the journal keeps.

    2026-11-30T16:50:01.123Z default oss PutObject 200 3.2ms
    2026-11-30T16:50:02.004Z team-a imm CreateMediaConvertTask 503 0.8ms fault=f-1a2b:http_error

Time is the emulator's clock (as in the journal); the operation falls back to METHOD path when
the service could not name it."""

from __future__ import annotations

import sys
from typing import Any, TextIO

from emulator.core.timefmt import iso_millis


def format_line(record: dict[str, Any]) -> str:
    """`record` as the journal keeps it (time in epoch seconds) or as the admin API lists it
    (time already ISO 8601)."""
    when = record["time"]
    if not isinstance(when, str):
        when = iso_millis(when)
    operation = record.get("action") or f"{record.get('method')} {record.get('path')}"
    status = record.get("status") or "-"  # no status: the connection was dropped (reset fault)
    line = (f"{when} {record.get('namespace') or '-'} {record['service']} {operation} {status} "
            f"{record.get('latency_ms', 0):.1f}ms")
    fault = record.get("fault")
    if fault:
        line += f" fault={fault['id']}:{fault['effect']}"
    return line


def write_line(record: dict[str, Any], stream: TextIO | None = None) -> None:
    out = stream or sys.stderr
    try:
        out.write(format_line(record) + "\n")
        out.flush()
    except (OSError, ValueError):  # stderr closed or a pipe gone: the request still succeeds
        pass
