"""The channel's path MTU discovery: one :class:`~smocast.smo.pmtu.PathProber` per receiver,
and the segment size for new data that every receiver can take.

Each receiver that holds data back (established or mid-handshake) has a confirmed packet size
in a :class:`~smocast.core.aggregate.KeyedMin`: the base when it joins, larger once its prober
confirmed more. The send buffer cuts new segments at the smallest of them (less the header),
so the channel's segments grow only once every current receiver confirmed the larger size,
and fall back to the base (for new data) as soon as a receiver joins, or one finds a black
hole. Segments already sent keep their boundaries: repairs resend them as they were.

Probes go by unicast to their receiver, one at a time, at most one per probe timer (three
round trips, at least 50 ms): their cost is a few datagrams per receiver per search, and one
every few seconds once it is complete. Nothing here runs per data packet or per ACK, and each
call touches one receiver only.
"""

from __future__ import annotations

from collections.abc import Callable

from smocast.core.aggregate import KeyedMin
from smocast.core.datagram import Address
from smocast.core.timers import Timer, TimerQueue
from smocast.smo.child import Child
from smocast.smo.config import ChannelConfig
from smocast.smo.outbox import SourceOutbox
from smocast.smo.pmtu import PathProber, ProbePlan
from smocast.smo.sendbuf import SendBuffer
from smocast.wire import DATA_HEADER_SIZE

KEEP_GONE = 4096
"""Receivers that left whose confirmed size the channel remembers (for the end-of-transfer report)."""


class _Probed:
    """One receiver's prober and its timer."""

    __slots__ = ("child", "prober", "timer")

    def __init__(self, child: Child, prober: PathProber, timer: Timer) -> None:
        self.child = child
        self.prober = prober
        self.timer = timer


class ChannelProbing:
    """Path MTU discovery of one channel; ``plan`` None turns probing off (every segment is the base)."""

    __slots__ = (
        "_address_of",
        "_buf",
        "_out",
        "_plan",
        "_probed",
        "_timers",
        "confirmed",
        "gone",
        "probe_acks",
        "probes_sent",
        "stale",
    )

    def __init__(self, plan: ProbePlan | None, buffer: SendBuffer, timers: TimerQueue, out: SourceOutbox) -> None:
        self._plan = plan
        self._buf = buffer
        self._timers = timers
        self._out = out
        self._probed: dict[int, _Probed] = {}
        self.confirmed = KeyedMin()  # each holder's confirmed packet size, by child index
        self.probes_sent = 0
        self.probe_acks = 0  # acknowledgements that confirmed (or re-confirmed) a probe
        self.stale = 0  # acknowledgements that matched no outstanding probe (ignored)
        self._address_of: dict[int, Address] = {}  # each holder's address, for the report
        self.gone: dict[int, tuple[Address, int]] = {}  # receivers that left: address and last confirmed size

    @property
    def largest_segment(self) -> int:
        """The longest new segment the channel has sent."""
        return self._buf.largest_cut

    @property
    def enabled(self) -> bool:
        return self._plan is not None

    @property
    def overhead(self) -> int:
        """Bytes below a smocast packet on the wire (IP, UDP, the secure layer): packet size + this = IP size."""
        return self._plan.overhead if self._plan is not None else 0

    @property
    def segment_size(self) -> int:
        """The payload size of new segments now."""
        return self._buf.mss

    def plpmtu_of(self, index: int) -> int | None:
        """Receiver ``index``'s confirmed packet size (None: it holds nothing back)."""
        return self.confirmed.value_of.get(index)

    def sizes(self) -> list[tuple[int, Address, int]]:
        """Every receiver's confirmed packet size, by index: those here now, then those gone (a report's)."""
        here = [(index, self._address_of[index], size) for index, size in self.confirmed.value_of.items()]
        return sorted(here + [(index, address, size) for index, (address, size) in self.gone.items()])

    def joined(self, child: Child) -> None:
        """``child`` holds new data back from now on: it counts at the base until it confirms more."""
        if self._plan is None:
            return
        self.confirmed.set(child.index, self._plan.base)
        self._address_of[child.index] = child.address
        self._resize()

    def established(self, child: Child, now: float, on_timer: Callable[[Child, float], None]) -> None:
        """``child`` completed its handshake: its prober starts."""
        plan = self._plan
        if plan is None or child.index in self._probed:
            return
        prober = PathProber(plan, now)
        timer = Timer(lambda at: on_timer(child, at))
        self._probed[child.index] = _Probed(child, prober, timer)
        self._arm(self._probed[child.index])

    def removed(self, child: Child) -> None:
        """``child`` is gone: it no longer bounds the segment size."""
        probed = self._probed.pop(child.index, None)
        if probed is not None:
            self._timers.disarm(probed.timer)
        if child.index in self.confirmed.value_of:
            self._address_of.pop(child.index, None)
            self.gone[child.index] = (child.address, self.confirmed.value_of[child.index])
            if len(self.gone) > KEEP_GONE:
                del self.gone[next(iter(self.gone))]
            self.confirmed.discard(child.index)
            self._resize()

    def on_timer(self, child: Child, now: float) -> None:
        """``child``'s probe timer fired: count a lost probe, send the next one."""
        probed = self._probed.get(child.index)
        if probed is None:
            return
        prober = probed.prober
        chosen = prober.probe(now, child.rtt.srtt)
        if chosen is not None:
            number, size = chosen
            self._out.probe(child.address, child.connection, number, size)
            self.probes_sent += 1
        self._settle(child, prober)
        self._arm(probed)

    def on_probe_ack(self, child: Child, number: int, size: int, now: float) -> None:
        """A PROBE_ACK from ``child``: it confirms the outstanding probe, or is ignored."""
        probed = self._probed.get(child.index)
        if probed is None or probed.prober.outstanding != (number, size):
            self.stale += 1
            return
        probed.prober.on_ack(number, size, now)
        self.probe_acks += 1
        self._settle(child, probed.prober)
        self._arm(probed)

    def _settle(self, child: Child, prober: PathProber) -> None:
        index = child.index
        if index in self.confirmed.value_of and self.confirmed.value_of[index] != prober.plpmtu:
            self.confirmed.set(index, prober.plpmtu)
            self._resize()

    def _arm(self, probed: _Probed) -> None:
        due = probed.prober.due
        if due is None:
            self._timers.disarm(probed.timer)
        else:
            self._timers.arm(probed.timer, due)

    def _resize(self) -> None:
        """New segments are cut at the smallest size every holder confirmed."""
        smallest = self.confirmed.minimum()
        if smallest is not None and self._plan is not None:
            self._buf.mss = smallest - DATA_HEADER_SIZE


def probe_plan(config: ChannelConfig) -> ProbePlan | None:
    """What path MTU discovery probes for (None: it is off, or the ceiling is not above the base)."""
    if config.pmtu_ceiling is None:
        return None
    plan = ProbePlan(config.mss + DATA_HEADER_SIZE, config.pmtu_ceiling - config.pmtu_overhead, config.pmtu_overhead)
    return plan if plan.ceiling > plan.base else None
