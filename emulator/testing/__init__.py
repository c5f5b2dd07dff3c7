"""Helpers for testing applications against the emulator: a live server in a child process, the
pytest plugin (`emulator.testing.plugin`), and in-process mocking of the real host names."""

from emulator.testing.inprocess import InProcessEmulator, mock_aliyun
from emulator.testing.server import LiveServer, Namespace
from emulator.testing.waiting import wait_for_imm_task

__all__ = ["InProcessEmulator", "LiveServer", "Namespace", "mock_aliyun", "wait_for_imm_task"]
