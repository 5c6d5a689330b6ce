"""Pacing: spread a window of segments over the round trip instead of sending it in a burst.

A token bucket refilled at ``rate`` bytes per second, holding at most ``burst`` bytes. The
sender asks ``allowed`` before each segment and, when refused, re-arms its timer at
``next_send_time``.
"""

from __future__ import annotations

_EPSILON_BYTES = 1e-3  # float rounding must never leave a send a hair short of its tokens
_MIN_WAIT = 1e-6  # a wake-up strictly after now, so a driver never spins at the same instant


class Pacer:
    """A token bucket; ``rate`` None (or 0) means no pacing at all."""

    __slots__ = ("_last", "_tokens", "burst", "rate")

    def __init__(self, burst: int) -> None:
        self.burst = burst
        self.rate: float | None = None
        self._tokens = float(burst)
        self._last: float | None = None

    def set_rate(self, rate: float | None, now: float) -> None:
        """Change the rate (bytes/s); tokens earned at the old rate are kept."""
        self._refill(now)
        self.rate = rate if rate and rate > 0 else None

    def allowed(self, size: int, now: float) -> bool:
        """True when ``size`` bytes may leave now; the bytes are then charged."""
        if self.rate is None:
            return True
        self._refill(now)
        if self._tokens >= min(size, self.burst) - _EPSILON_BYTES:
            self._tokens -= size
            return True
        return False

    def charge(self, size: int, now: float) -> None:
        """``size`` bytes left without asking (a repair that must not wait): the bucket may go
        into debt, and later sends wait until the rate has paid it back."""
        if self.rate is None:
            return
        self._refill(now)
        self._tokens -= size

    def next_send_time(self, size: int, now: float) -> float:
        """When ``size`` bytes will be allowed (``now`` if already allowed)."""
        if self.rate is None:
            return now
        self._refill(now)
        need = min(size, self.burst) - _EPSILON_BYTES - self._tokens
        return now if need <= 0 else now + max(need / self.rate, _MIN_WAIT)

    def _refill(self, now: float) -> None:
        if self._last is not None and self.rate is not None:
            self._tokens = min(float(self.burst), self._tokens + (now - self._last) * self.rate)
        elif self.rate is None:
            self._tokens = float(self.burst)
        self._last = now if self._last is None else max(self._last, now)
