"""The child control block: the source's TCP state for one receiver (paper section II.B).

A child has no send buffer of its own; it reads the channel's. It holds the receiver's
cumulative ACK (``una``), its SACK scoreboard, congestion and RTT state, and its
loss-recovery episode.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from functools import partial

from smocast.core.congestion import CongestionController
from smocast.core.datagram import Address
from smocast.core.ranges import RangeSet
from smocast.core.rtt import RttEstimator
from smocast.core.timers import Timer
from smocast.smo.uplink import UpReceiver


class ChildState(Enum):
    SYN_RECEIVED = "syn-received"
    ESTABLISHED = "established"
    FIN_SENT = "fin-sent"
    CLOSED = "closed"


class Child:
    """Per-receiver state at the source. The channel drives it; it never sends by itself."""

    __slots__ = (
        "acks",
        "address",
        "below_floor_since",
        "catchup_next",
        "cc",
        "connection",
        "count_from",
        "credit",
        "cwnd_avg",
        "dupacks",
        "edge_key",
        "fin_sent_at",
        "index",
        "joined_at",
        "last_progress",
        "passive",
        "probe_sent",
        "rack_due",
        "recovery_point",
        "repairs_multicast",
        "repairs_unicast",
        "retransmitted",
        "rto_lost_upto",
        "rtt",
        "rwnd",
        "sacked",
        "sample_after",
        "start",
        "state",
        "syn_at",
        "timer",
        "timer_base",
        "una",
        "up",
        "zero_window_since",
    )

    def __init__(
        self,
        index: int,
        address: Address,
        connection: int,
        start: int,
        cc: CongestionController,
        rtt: RttEstimator,
        on_timer: Callable[[Child, float], None],
        now: float,
    ) -> None:
        self.index = index
        self.address = address
        self.connection = connection
        self.state = ChildState.SYN_RECEIVED
        self.start = start  # first stream byte this receiver gets
        self.count_from = start  # first byte whose release it holds back (later when resuming)
        self.catchup_next = start  # resuming below the send buffer: next byte to send from history
        self.up: UpReceiver | None = None  # its session-relay stream, once it sends one
        self.una = start
        self.rwnd = 0
        self.sacked = RangeSet()
        self.cc = cc
        self.rtt = rtt
        self.timer = Timer(partial(on_timer, self))  # see smocast.smo.timing
        self.timer_base = now  # when the retransmission timer last (re)started
        self.probe_sent = False  # a tail loss probe went out since timer_base
        self.rack_due: float | None = None  # when a reordering window ends (RFC 8985 RACK)
        self.sample_after = 0.0  # take the next RTT sample no earlier than this
        self.dupacks = 0
        self.recovery_point: int | None = None  # snd_nxt when the current recovery began
        self.rto_lost_upto = 0  # after a timeout, every un-SACKed byte below this is lost
        self.retransmitted: dict[int, float] = {}  # segment start -> when a repair was sent
        self.credit = 0  # bytes of repairs this receiver's ACK clock allows now
        self.last_progress = now
        self.syn_at = now
        self.joined_at = now
        self.fin_sent_at: float | None = None
        self.passive = False  # left behind by a non-strict policy: repaired, but not pacing
        self.edge_key: int | None = None  # its entry in the channel's right-edge aggregate
        self.cwnd_avg = float(cc.cwnd)
        self.below_floor_since: float | None = None
        self.zero_window_since: float | None = None
        self.acks = 0
        self.repairs_unicast = 0
        self.repairs_multicast = 0

    @property
    def established(self) -> bool:
        return self.state in (ChildState.ESTABLISHED, ChildState.FIN_SENT)

    @property
    def in_recovery(self) -> bool:
        return self.recovery_point is not None

    def flight(self, snd_nxt: int) -> int:
        """Bytes sent but neither cumulatively nor selectively acknowledged."""
        return max(0, snd_nxt - self.una - self.sacked.total)

    def update_sack(self, blocks: tuple[tuple[int, int], ...], snd_nxt: int) -> int:
        """Record SACK blocks that lie above ``una``; return how many bytes were new."""
        added = 0
        una = self.una
        for block_start, block_end in blocks:
            start = max(block_start, una)
            end = min(block_end, snd_nxt)
            if start < end:
                added += self.sacked.add(start, end)
        return added

    def advance(self, ack: int) -> int:
        """Move the cumulative ACK to ``ack``; return the bytes newly acknowledged."""
        acked = ack - self.una
        self.una = ack
        self.sacked.discard_below(ack)
        if self.retransmitted:
            for start in [s for s in self.retransmitted if s < ack]:
                del self.retransmitted[start]
        return acked

    def covers_retransmission(self, ack: int) -> bool:
        """True when an ACK up to ``ack`` acknowledges repaired data (Karn's rule)."""
        return any(start < ack for start in self.retransmitted)

    def repair_due_at(self, start: int, multicast_at: float | None) -> float:
        """When a repair of ``start`` may be sent: at once, or once the last one is overdue.

        The last repair is this receiver's own unicast one or the channel's latest multicast
        one (``multicast_at``), whichever is newer; it is overdue (a RACK-style timer) when
        its ACK should long have arrived.
        """
        sent = self.retransmitted.get(start)
        if multicast_at is not None and (sent is None or multicast_at > sent):
            sent = multicast_at
        if sent is None:
            return 0.0
        srtt = self.rtt.srtt
        return sent + (self.rtt.rto if srtt is None else srtt * 1.25 + 0.002)

    def right_edge(self, window: int) -> int:
        """The highest stream byte this receiver's path allows in flight now.

        RFC 6675's pipe rule: bytes neither acked nor SACKed may not exceed ``window``
        (its cwnd, or the channel's under the fair policy); and the receive window,
        counted from ``una``, is never exceeded.
        """
        return self.una + min(self.sacked.total + window, self.rwnd)
