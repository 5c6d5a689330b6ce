"""The anti-replay window: each packet number is accepted once (RFC 4303 section 3.4.3, RFC 6479).

The window remembers the highest number accepted and, as the bits of one integer, which of
the ``size`` numbers below it were accepted. A number above the highest is new; one inside
the window is new unless its bit is set; one below the window is refused as too old (a
reordering deeper than the window is indistinguishable from a replay). Memory is constant.

Check with :meth:`fresh` before the (costly) opening, and :meth:`mark` only after the packet
authenticated: a forged packet never moves the window.
"""

from __future__ import annotations

DEFAULT_WINDOW = 1024


class ReplayWindow:
    """Which packet numbers of one key were already accepted."""

    __slots__ = ("_bits", "_mask", "highest", "size")

    def __init__(self, size: int = DEFAULT_WINDOW) -> None:
        if size < 1:
            raise ValueError("a replay window holds at least one packet number")
        self.size = size
        self._mask = (1 << size) - 1
        self.highest = -1
        self._bits = 0  # bit i set: number highest - i was accepted

    def fresh(self, number: int) -> bool:
        """True when ``number`` was never accepted and is not too old to tell."""
        offset = self.highest - number
        if offset < 0:
            return True
        if offset >= self.size:
            return False
        return not (self._bits >> offset) & 1

    def mark(self, number: int) -> None:
        """Record ``number`` as accepted (after it authenticated)."""
        offset = self.highest - number
        if offset < 0:
            self._bits = ((self._bits << -offset) | 1) & self._mask
            self.highest = number
        elif offset < self.size:
            self._bits |= 1 << offset
