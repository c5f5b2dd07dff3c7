"""Scenario-file section IMM owns: projects (see core/scenario.py)."""

from __future__ import annotations

from typing import Any

from emulator.core.errors import ServiceError


def seed_project(models: dict[str, Any], ns: str, item: dict[str, Any]) -> None:
    imm = models["imm"]
    try:
        imm.get_project(ns, item["name"])  # kept from an earlier start
    except ServiceError:
        imm.create_project(ns, item["name"], str(item.get("description", "")))
