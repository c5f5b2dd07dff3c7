"""How clients coped with the fault rules, read from the request journal.

For every request a rule hit, what the same client did next: the next request of the same
namespace to the same service is a `retry` when it is the same operation on the same path, else
`other`; `none` when nothing followed. `after_seconds` is wall time from the end of the faulted
answer to the start of that next request (the backoff a client chose), and `recovered` says
whether the operation later went through unharmed.
"""

from __future__ import annotations

from typing import Any

from emulator.core.faults import FaultRule


def _same_client(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return a.get("namespace") == b.get("namespace") and a.get("service") == b.get("service")


def _same_operation(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return all(a.get(k) == b.get(k) for k in ("action", "method", "path"))


def _started(entry: dict[str, Any]) -> float:
    return entry.get("wall", 0.0) - entry.get("latency_ms", 0.0) / 1000


def _hit(entry: dict[str, Any], later: list[dict[str, Any]]) -> dict[str, Any]:
    mine = [e for e in later if _same_client(entry, e)]
    following = mine[0] if mine else None
    next_call: dict[str, Any] = {"kind": "none"}
    if following is not None:
        next_call = {
            "kind": "retry" if _same_operation(entry, following) else "other",
            "after_seconds": round(max(0.0, _started(following) - entry.get("wall", 0.0)), 3),
            "action": following.get("action"), "status": following.get("status"),
            "fault": (following.get("fault") or {}).get("id")}
    recovered = any(_same_operation(entry, e) and e.get("fault") is None
                    and isinstance(e.get("status"), int) and e["status"] < 400 for e in mine)
    return {"seq": entry["seq"], "time": entry.get("time"), "action": entry.get("action"),
            "method": entry.get("method"), "path": entry.get("path"), "status": entry.get("status"),
            "namespace": entry.get("namespace"), "next": next_call, "recovered": recovered}


def rule_report(rule: FaultRule, journal: list[dict[str, Any]]) -> dict[str, Any]:
    """One rule: the requests it hit (oldest first) and the client's reaction to each."""
    hits = []
    for index, entry in enumerate(journal):
        if (entry.get("fault") or {}).get("id") == rule.id:
            hits.append(_hit(entry, journal[index + 1:]))
    retries = [h["next"]["after_seconds"] for h in hits if h["next"]["kind"] == "retry"]
    return {"id": rule.id, "service": rule.service, "effect": rule.effect_name, "seen": rule.seen,
            "applied": rule.applied, "hits": hits, "retries": len(retries), "retry_delays": retries,
            "gave_up": sum(1 for h in hits if h["next"]["kind"] == "none" and not h["recovered"]),
            "recovered": bool(hits) and hits[-1]["recovered"]}


def report(rules: list[FaultRule], journal: list[dict[str, Any]]) -> dict[str, Any]:
    """Every rule's report; `journal` oldest first."""
    return {"rules": [rule_report(rule, journal) for rule in rules]}
