"""How a MediaConvert task fails: the Code and Message GetTask and the notification show."""

from __future__ import annotations


class TaskFailure(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
