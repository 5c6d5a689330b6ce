"""Catch-up: what a receiver that resumed below the send buffer misses, sent from history.

A receiver may resume at an offset the send buffer no longer holds when the channel has a
``history`` (a file on disk, say). Those bytes are not segments of the buffer, so loss
detection does not see them: the child sends them go-back-N, from the lowest byte the receiver
has not acknowledged, as far as its repair credit allows, and starts again from there after a
retransmission timeout. :class:`CatchUp` owns where the next piece starts.

Pieces are planned as ``(offset, length)`` and read from history only as each one goes out.
Under a rate cap each asks the channel's pacer as new data does: a piece it refuses is held
(:meth:`CatchUp.hold`), and nothing more is planned until the channel's line of held
receivers comes back to this one (:meth:`CatchUp.resume`).
"""

from __future__ import annotations

from smocast.smo.outcome import History

MAX_PIECES = 64
"""Pieces planned in one call at most: under a rate cap most of a large credit would be planned
only to be refused, and the next ACK (or the line's next turn) plans again."""


class CatchUp:
    """One receiver's go-back-N from history, below the send buffer."""

    __slots__ = ("_history", "_mss", "held", "next")

    def __init__(self, history: History, mss: int, start: int) -> None:
        self._history = history
        self._mss = mss
        self.next = start  # the next byte to send from history
        self.held = False  # the pacer refused a piece: plan nothing until resume()

    def restart(self, una: int) -> None:
        """Go back to ``una``: a timeout or a new recovery sends everything unacknowledged again."""
        self.next = una

    def acked(self, ack: int) -> None:
        """The receiver acknowledged up to ``ack``: nothing below it is sent again."""
        self.next = max(self.next, ack)

    def pieces(self, una: int, base: int, credit: int) -> list[tuple[int, int]]:
        """The ``(offset, length)`` pieces to send now, from ``una`` up to the buffer's ``base``,
        one MSS each, while ``credit`` bytes remain (the last piece may overdraw it), at most
        :data:`MAX_PIECES`; none while held. The caller must charge their length to its credit,
        :meth:`read` each as it sends it, and give back what it does not send (:meth:`stop` or
        :meth:`hold`)."""
        self.acked(una)
        pieces: list[tuple[int, int]] = []
        while self.next < base and credit > 0 and not self.held and len(pieces) < MAX_PIECES:
            start = self.next
            length = min(self._mss, base - start)
            credit -= length
            self.next = start + length
            pieces.append((start, length))
        return pieces

    def read(self, offset: int, length: int) -> bytes:
        """The history's bytes of a piece: fewer (or none) where the history ends sooner."""
        return self._history(offset, length)

    def stop(self, offset: int) -> None:
        """Nothing from ``offset`` on was sent: the next piece starts there."""
        self.next = min(self.next, offset)

    def hold(self, offset: int) -> None:
        """The pacer refused the piece at ``offset``: start there again, after :meth:`resume`."""
        self.stop(offset)
        self.held = True

    def resume(self) -> None:
        """The channel's line of held receivers came back to this one: pieces may be planned again."""
        self.held = False
