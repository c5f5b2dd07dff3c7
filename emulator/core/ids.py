"""Ids and randomness from one seeded source, so the same seed and inputs give the same ids."""

from __future__ import annotations

import random
import threading
import uuid


class Ids:
    def __init__(self, seed: int = 0) -> None:
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def hex(self, length: int, upper: bool = False) -> str:
        with self._lock:
            value = "".join(self._rng.choice("0123456789abcdef") for _ in range(length))
        return value.upper() if upper else value

    def uuid(self) -> str:
        with self._lock:
            return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def token(self, length: int = 32) -> str:
        """URL-safe characters only (MNS puts receipt handles into a query unescaped)."""
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
        with self._lock:
            return "".join(self._rng.choice(alphabet) for _ in range(length))

    def random(self) -> float:
        with self._lock:
            return self._rng.random()

    def request_id(self) -> str:
        """24 upper-case hex digits, like x-oss-request-id."""
        return self.hex(24, upper=True)
