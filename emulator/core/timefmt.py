"""Every time format the services speak, in one place: epoch seconds in, text out (and back)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import formatdate, parsedate_to_datetime

UTC8 = timezone(timedelta(hours=8))


def iso_millis(ts: float) -> str:
    """`2026-11-30T16:38:55.123Z`: IMM times, policy expirations, the admin API."""
    moment = datetime.fromtimestamp(ts, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def iso_whole_seconds(ts: float) -> str:
    """`2026-11-30T16:38:55.000Z`: OSS XML times (oss2 insists on the literal `.000Z`)."""
    return iso_millis(int(ts))


def utc8_millis(ts: float) -> str:
    """`2026-12-01 00:38:55.123`: DashScope's task times, in UTC+8."""
    moment = datetime.fromtimestamp(ts, tz=UTC8)
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


def utc_day(ts: float, pattern: str = "%Y-%m-%d") -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime(pattern)


def http_date(ts: float) -> str:
    """`Mon, 30 Nov 2026 16:38:55 GMT`: Date, Last-Modified."""
    return formatdate(ts, usegmt=True)


def parse_http_date(value: str) -> float | None:
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def parse_compact_utc(value: str) -> float:
    """Epoch seconds of `20261130T163855Z` (V4 signatures); ValueError otherwise."""
    return datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc).timestamp()


def parse_iso(value: object) -> float:
    """Epoch seconds of an ISO 8601 time (a `Z` suffix or none means UTC); ValueError otherwise."""
    when = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.timestamp()
