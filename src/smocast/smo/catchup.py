"""Catch-up: what a receiver that resumed below the send buffer misses, sent from history.

A receiver may resume at an offset the send buffer no longer holds when the channel has a
``history`` (a file on disk, say). Those bytes are not segments of the buffer, so loss
detection does not see them: the child sends them go-back-N, from the lowest byte the receiver
has not acknowledged, as far as its repair credit allows, and starts again from there after a
retransmission timeout. :class:`CatchUp` owns where the next piece starts.
"""

from __future__ import annotations

from smocast.smo.outcome import History


class CatchUp:
    """One receiver's go-back-N from history, below the send buffer."""

    __slots__ = ("_history", "_mss", "next")

    def __init__(self, history: History, mss: int, start: int) -> None:
        self._history = history
        self._mss = mss
        self.next = start  # the next byte to send from history

    def restart(self, una: int) -> None:
        """Go back to ``una``: a timeout or a new recovery sends everything unacknowledged again."""
        self.next = una

    def acked(self, ack: int) -> None:
        """The receiver acknowledged up to ``ack``: nothing below it is sent again."""
        self.next = max(self.next, ack)

    def pieces(self, una: int, base: int, credit: int) -> list[tuple[int, bytes]]:
        """The ``(offset, payload)`` pieces to send now, from ``una`` up to the buffer's ``base``,
        one MSS each, while ``credit`` bytes remain (the last piece may overdraw it). The caller
        must charge their length to its credit."""
        self.acked(una)
        pieces: list[tuple[int, bytes]] = []
        while self.next < base and credit > 0:
            start = self.next
            payload = self._history(start, min(self._mss, base - start))
            if not payload:
                break
            credit -= len(payload)
            self.next = start + len(payload)
            pieces.append((start, payload))
        return pieces
