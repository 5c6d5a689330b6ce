"""Datagram packetization layer path MTU discovery for one receiver (after RFC 8899).

:class:`PathProber` is a small state machine; the channel runs one per established receiver
(:mod:`smocast.smo.probing`). Sizes are smocast packet sizes (header and payload, before the
secure layer): the packet that carries a segment of ``mss`` bytes is ``mss + DATA_HEADER_SIZE``.

* BASE: the receiver is known to take ``base`` (the size the channel starts with, from
  ``--mss``); nothing is probed yet.
* SEARCHING: probes go out, one at a time, over a descending list of candidates: the ceiling
  the runtime gives (the interface's MTU, or ``--max-mtu``), then the common link MTUs below
  it (9000, 1500...). A candidate is confirmed only when the receiver acknowledges the probe
  of that size (a PROBE_ACK with the probe's number and size); it is given up after
  :data:`MAX_PROBES` probes that are not acknowledged within the probe timer. The first
  candidate confirmed is the largest the path takes among them: the search is complete.
* SEARCH_COMPLETE: ``plpmtu`` holds. Every :data:`CONFIRM_INTERVAL` one probe at ``plpmtu``
  checks the path still takes it (black-hole detection, RFC 8899 section 4.3): after
  :data:`MAX_PROBES` unanswered, the size is a black hole and the prober falls to ERROR.
* ERROR: ``plpmtu`` is back at ``base``; after :data:`RAISE_INTERVAL` the search starts again.

The caller owns the clock and the timer: :meth:`PathProber.probe` says what to send now and
:meth:`PathProber.due` when to call it again; :meth:`PathProber.on_ack` takes an
acknowledgement and says whether ``plpmtu`` changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

MAX_PROBES = 3
"""Unacknowledged probes of one size before it is given up (RFC 8899's MAX_PROBES)."""
MIN_PROBE_TIMER = 0.05
"""The least time to wait for a probe's acknowledgement, seconds (a LAN's RTT is far less)."""
PROBE_TIMER_RTTS = 3
"""The probe timer in round trips, when that is longer than :data:`MIN_PROBE_TIMER`."""
CONFIRM_INTERVAL = 5.0
"""Seconds between two probes that confirm the path still takes ``plpmtu`` (black holes)."""
RAISE_INTERVAL = 60.0
"""Seconds after a black hole before the search starts again (RFC 8899's PMTU_RAISE_TIMER is 600)."""
COMMON_MTUS = (65535, 16384, 9216, 9000, 1500, 1492, 1280)
"""Link MTUs to try below the ceiling, largest first (IP MTUs; the overhead is taken off)."""


class ProbeState(Enum):
    BASE = "base"
    SEARCHING = "searching"
    SEARCH_COMPLETE = "search-complete"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class ProbePlan:
    """What one channel probes for: ``base`` and ``ceiling`` are packet sizes, ``overhead`` the
    bytes below a packet on the wire (IP and UDP headers, the secure layer's envelope)."""

    base: int
    ceiling: int
    overhead: int

    def candidates(self) -> tuple[int, ...]:
        """The sizes to try, largest first: the ceiling, then the common MTUs between it and the base."""
        below = (mtu - self.overhead for mtu in COMMON_MTUS)
        return (self.ceiling, *(size for size in below if self.base < size < self.ceiling))


class PathProber:
    """The probing state of one receiver; see the module's description for the states."""

    __slots__ = (
        "_candidates",
        "_due",
        "_failures",
        "_next",
        "_plan",
        "outstanding",
        "plpmtu",
        "probes_sent",
        "state",
    )

    def __init__(self, plan: ProbePlan, now: float) -> None:
        self._plan = plan
        self._candidates = list(plan.candidates()) if plan.ceiling > plan.base else []
        self.state = ProbeState.BASE if self._candidates else ProbeState.SEARCH_COMPLETE
        self.plpmtu = plan.base
        self.outstanding: tuple[int, int] | None = None  # (number, size) of the probe in flight
        self.probes_sent = 0
        self._next = 1  # the next probe's number (they count up; an old number never matches)
        self._failures = 0  # probes of the size under test (or the confirmation) that went unanswered
        self._due: float | None = now if self._candidates else None

    @property
    def due(self) -> float | None:
        """When :meth:`probe` (or the probe timer) must run next; None: never."""
        return self._due

    def probe(self, now: float, srtt: float | None) -> tuple[int, int] | None:
        """The probe timer fired: ``(number, size)`` of the probe to send now, or None.

        An outstanding probe that was not acknowledged counts as lost first. The caller sends
        the probe to the receiver (unicast, exactly ``size`` bytes) and re-arms its timer for :attr:`due`.
        """
        if self._due is None or now < self._due:
            return None
        if self.outstanding is not None:
            self._lost(now)
            if self._due > now:
                return None  # a black hole: the search waits
        size = self._size_to_test()
        if size is None:
            return None
        number = self._next
        self._next += 1
        self.outstanding = (number, size)
        self.probes_sent += 1
        self._due = now + max(MIN_PROBE_TIMER, PROBE_TIMER_RTTS * (srtt or 0.0))
        if self.state is ProbeState.BASE or self.state is ProbeState.ERROR:
            self.state = ProbeState.SEARCHING
        return number, size

    def on_ack(self, number: int, size: int, now: float) -> bool:
        """A PROBE_ACK: True when it confirmed a larger ``plpmtu``. One that does not match the
        outstanding probe (number and size) is ignored."""
        if self.outstanding != (number, size):
            return False
        self.outstanding = None
        self._failures = 0
        if self.state is ProbeState.SEARCH_COMPLETE:
            self._due = now + CONFIRM_INTERVAL  # the path still takes plpmtu
            return False
        self._candidates.clear()
        self.state = ProbeState.SEARCH_COMPLETE
        self._due = now + CONFIRM_INTERVAL
        grew = size > self.plpmtu
        self.plpmtu = size
        return grew

    def _size_to_test(self) -> int | None:
        """The size to probe next; None (and the prober stops) when the base is all there is."""
        if self.state is ProbeState.SEARCH_COMPLETE:
            size = self.plpmtu if self.plpmtu > self._plan.base else None
        else:
            size = self._candidates[0] if self._candidates else None
        if size is None:
            self.state = ProbeState.SEARCH_COMPLETE
            self._due = None
        return size

    def _lost(self, now: float) -> None:
        """The outstanding probe went unanswered for the probe timer."""
        self.outstanding = None
        self._failures += 1
        if self._failures < MAX_PROBES:
            return
        self._failures = 0
        if self.state is ProbeState.SEARCH_COMPLETE:
            self.black_hole(now)
        elif self._candidates:
            self._candidates.pop(0)

    def black_hole(self, now: float) -> None:
        """The path no longer takes ``plpmtu``: back to the base, and search again later."""
        self.state = ProbeState.ERROR
        self.plpmtu = self._plan.base
        self.outstanding = None
        self._candidates = list(self._plan.candidates())
        self._due = now + RAISE_INTERVAL
