"""Helpers for testing applications against the emulator (live server, pytest plugin)."""

from emulator.testing.server import LiveServer

__all__ = ["LiveServer"]
