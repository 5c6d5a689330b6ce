"""A receiver's flow control, in one place: the window it offers, and when it says it opened.

The window is the receive buffer less what the receiver holds out of order, what it delivered
that the application has not taken yet (:meth:`ReceiveWindow.consumed` says it has), and any
backlog the application reports (:meth:`ReceiveWindow.set_backlog`, for relays). Handing an
event over is not taking its bytes: nothing here changes when the application pops events.

Data is accepted only below the window's right edge (TCP's acceptable segment), so memory stays
bounded by the buffer. One rule announces a window that opened, and avoids the silly window
syndrome on the receiver's side: the window grew by a quarter of the buffer since the last ACK,
and that ACK offered less than half of it.
"""

from __future__ import annotations

from smocast.smo.delivery import Delivery

MAX_WINDOW = 0xFFFFFFFF  # the header's window field is 32 bits


class ReceiveWindow:
    """The window of a receiver with ``buffer`` bytes of receive buffer, delivering through ``data``."""

    __slots__ = ("_backlog", "_buffer", "_consumed", "_data", "_half", "_quarter", "advertised")

    def __init__(self, buffer: int, data: Delivery) -> None:
        self._buffer = buffer
        self._half, self._quarter = buffer // 2, buffer // 4
        self._data = data
        self._consumed = 0  # delivered bytes the application took
        self._backlog = 0  # delivered bytes the application still holds elsewhere
        self.advertised = buffer  # the window in the last ACK (read-only: see advertise)

    def consumed(self, nbytes: int) -> bool:
        """The application took ``nbytes`` of delivered data. True when the window opened enough
        to announce: the receiver must then send an ACK soon (if it is established)."""
        self._consumed += nbytes
        return self.advertised < self._half and self._opened()

    def set_backlog(self, nbytes: int) -> bool:
        """The application holds ``nbytes`` of delivered data elsewhere (a relay's downstream); the
        window shrinks by it. True when the window opened enough to announce (as :meth:`consumed`)."""
        self._backlog = max(0, nbytes)
        return self.advertised < self._half and self._opened()

    def _opened(self) -> bool:
        return self.offered - self.advertised >= self._quarter

    @property
    def unconsumed(self) -> int:
        """Bytes delivered in events that the application has not taken yet."""
        return self._data.delivered - self._consumed

    @property
    def room(self) -> int:
        """How far past the next expected byte data may reach: the buffer less what the application
        holds (out-of-order data counts inside it). In-order data may take all of it; read it once
        per run of segments, and count the run's bytes off it."""
        return self._buffer - (self._data.delivered - self._consumed) - self._backlog

    @property
    def offered(self) -> int:
        """The window to offer now."""
        data = self._data
        used = data.held_bytes + data.delivered - self._consumed + self._backlog
        return max(0, min(self._buffer - used, MAX_WINDOW))

    @property
    def stale(self) -> bool:
        """True when the window offered now is not the one the last ACK carried."""
        return self.offered != self.advertised

    def advertise(self) -> int:
        """The window for an ACK that goes out now; it becomes the one the source knows."""
        window = self.advertised = self.offered
        return window
