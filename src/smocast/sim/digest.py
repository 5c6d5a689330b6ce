"""SHA-256 of many receivers' streams, computed once per distinct prefix.

Every receiver's delivered bytes must be checked against the source's SHA-256. In the
simulator all receivers usually deliver the *same* chunk objects in the same order (the
fan-out shares one decoded packet), so hashing each receiver separately would repeat the
same work N times. A :class:`SharedDigest` keys each hash state by its history: state
``s`` followed by chunk ``c`` always leads to the same state, found by a dictionary lookup
on ``(s, c)``. The key holds the chunk itself and compares it by content, so two receivers
share a state only when they delivered identical bytes: this is memoisation, not sampling.
"""

from __future__ import annotations

import hashlib
from typing import Any


class SharedDigest:
    """Hash states shared by receivers; a receiver holds a state number, starting at 0."""

    __slots__ = ("_next", "_states")

    def __init__(self) -> None:
        self._states: list[Any] = [hashlib.sha256()]
        self._next: dict[tuple[int, bytes], int] = {}

    def advance(self, state: int, chunk: bytes) -> int:
        """The state after ``chunk`` follows ``state``."""
        key = (state, chunk)
        following = self._next.get(key)
        if following is None:
            digest = self._states[state].copy()
            digest.update(chunk)
            following = len(self._states)
            self._states.append(digest)
            self._next[key] = following
        return following

    def hexdigest(self, state: int) -> str:
        return str(self._states[state].hexdigest())

    @property
    def distinct_states(self) -> int:
        return len(self._states)
