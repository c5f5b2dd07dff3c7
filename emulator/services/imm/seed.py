"""Scenario-file section IMM owns: projects (see core/scenario.py)."""

from __future__ import annotations

from pathlib import Path

from emulator.core.errors import ServiceError
from emulator.core.runtime import Runtime
from emulator.core.scenario import SectionItem
from emulator.core.validation import NonEmptyString
from emulator.services.imm.model import ImmModel


class ProjectItem(SectionItem):
    name: NonEmptyString
    description: str = ""


def register(runtime: Runtime, imm: ImmModel) -> None:
    def seed_project(ns: str, project: ProjectItem, base_dir: Path) -> None:
        try:
            imm.get_project(ns, project.name)  # kept from an earlier start
        except ServiceError:
            imm.create_project(ns, project.name, project.description)

    runtime.scenario.register("projects", ProjectItem, seed_project)
