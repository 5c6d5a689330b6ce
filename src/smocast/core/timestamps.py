"""TSval/TSecr timestamps (RFC 7323 style) as 32-bit microsecond counters.

32 bits of microseconds wrap every 71 minutes; differences are taken modulo 2**32, so an
RTT is measured correctly as long as it is shorter than that.
"""

from __future__ import annotations

TS_MODULUS = 1 << 32
TS_UNITS_PER_SECOND = 1_000_000


def timestamp(now: float) -> int:
    """The 32-bit TSval for time ``now`` (seconds)."""
    return int(now * TS_UNITS_PER_SECOND) % TS_MODULUS


def elapsed_since(tsecr: int, now: float) -> float:
    """Seconds from the echoed timestamp ``tsecr`` to ``now``."""
    return ((timestamp(now) - tsecr) % TS_MODULUS) / TS_UNITS_PER_SECOND
