"""The per-receiver sender: the source's TCP for one receiver (the paper's child control block).

A child has no send buffer of its own: it reads the channel's (:class:`SendBuffer`) and never
changes it. It owns everything else of its receiver's connection: the cumulative ACK
(``una``), the SACK scoreboard, congestion and RTT state, loss recovery (fast retransmit,
RACK, tail loss probes, the retransmission timeout), catch-up from history after a resume,
FIN timing, and its one timer in the channel's timer queue.

Its methods change only its own state and return an :class:`Outcome`: what the channel must
do for it (repair these segments, send these history bytes, send the FIN, drop it for this
reason). The channel owns membership, the send buffer, pacing and the choice of unicast or
multicast for each repair. Follow one SACK: :meth:`Child.on_ack` records it, finds the lost
segments (:mod:`smocast.smo.loss`), charges them to its repair credit and returns them; the
channel routes each one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial

from smocast.core.congestion import CongestionController
from smocast.core.datagram import Address
from smocast.core.ranges import RangeSet
from smocast.core.rtt import RttEstimator
from smocast.core.timers import Timer, TimerQueue
from smocast.core.timestamps import elapsed_since
from smocast.smo.events import DropReason, ReceiverInfo
from smocast.smo.loss import lost_segments
from smocast.smo.outcome import ChildRules, ChildState, History, Outcome
from smocast.smo.sendbuf import SendBuffer
from smocast.smo.timing import next_due, probe_due
from smocast.smo.uplink import UpReceiver

__all__ = ["Child", "ChildRules", "ChildState", "History", "Outcome"]

SYN_ACK_INTERVAL = 0.5  # first SYN-ACK retransmission, doubled each time


class Child:
    """One receiver's TCP sender at the source. The channel feeds it; it never sends by itself."""

    # fmt: off
    __slots__ = (
        "_buf", "_rules", "_timers", "address", "catchup_next", "cc", "connection", "count_from", "credit", "dupacks",
        "index", "joined_at", "last_progress", "probe_sent", "rack_due", "recovery_point", "repairs_multicast",
        "repairs_unicast", "retransmitted", "rto_lost_upto", "rtt", "rwnd", "sacked", "sample_after", "start",
        "state", "syn_at", "timer", "timer_base", "una", "unreachable_at", "up",
    )
    # fmt: on

    def __init__(
        self,
        index: int,
        address: Address,
        connection: int,
        start: int,
        *,
        cc: CongestionController,
        rtt: RttEstimator,
        buffer: SendBuffer,
        rules: ChildRules,
        timers: TimerQueue,
        on_timer: Callable[[Child, float], None],
        now: float,
    ) -> None:
        """A child in SYN-RECEIVED whose stream starts at ``start``; ``on_timer(child, now)`` is
        the channel's handler of this child's timer, which must call :meth:`on_timer`."""
        self.index = index
        self.address = address
        self.connection = connection
        self.state = ChildState.SYN_RECEIVED
        self.start = start  # first stream byte this receiver gets
        self.count_from = buffer.snd_nxt  # first byte whose release it holds back (later when resuming)
        self.catchup_next = start  # resuming below the send buffer: next byte to send from history
        self.up: UpReceiver | None = None  # its session-relay stream, once it sends one
        self.una = start
        self.rwnd = 0
        self.sacked = RangeSet()
        self.cc = cc
        self.rtt = rtt
        self._buf = buffer
        self._rules = rules
        self._timers = timers
        self.timer = Timer(partial(on_timer, self))
        self.timer_base = now  # when the retransmission timer last (re)started
        self.probe_sent = False  # a tail loss probe went out since timer_base
        self.rack_due: float | None = None  # when a reordering window ends (RFC 8985 RACK)
        self.sample_after = 0.0  # take the next RTT sample no earlier than this
        self.dupacks = 0
        self.recovery_point: int | None = None  # snd_nxt when the current recovery began
        self.rto_lost_upto = 0  # after a timeout, every un-SACKed byte below this is lost
        self.retransmitted: dict[int, float] = {}  # segment start -> when a unicast repair was sent
        self.credit = 0  # bytes of repairs this receiver's ACK clock allows now
        self.last_progress = now
        self.syn_at = now
        self.joined_at = now
        self.repairs_unicast = 0
        self.repairs_multicast = 0
        self.unreachable_at: float | None = None  # an ICMP port unreachable named its address (smo.unreachable)
        timers.arm(self.timer, now + SYN_ACK_INTERVAL)

    # --- what the channel reads --------------------------------------------------------------

    @property
    def established(self) -> bool:
        return self.state in (ChildState.ESTABLISHED, ChildState.FIN_SENT)

    @property
    def closed(self) -> bool:
        """The channel removed it: it handles nothing more."""
        return self.state is ChildState.CLOSED

    def right_edge(self, window: int) -> int:
        """The highest stream byte this receiver's path allows in flight now.

        RFC 6675's pipe rule: bytes neither acked nor SACKed may not exceed ``window``
        (its cwnd, or the channel's under the fair policy); and the receive window,
        counted from ``una``, is never exceeded.
        """
        return self.una + min(self.sacked.total + window, self.rwnd)

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

    def info(self, *, pacing: bool) -> ReceiverInfo:
        """Its accounting now; ``pacing`` is whether it paces the channel (the channel knows)."""
        return ReceiverInfo(
            self.index,
            self.address,
            self.state.value,
            self.joined_at,
            self.start,
            self.una - self.start,
            self.rtt.srtt,
            self.cc.cwnd,
            self.repairs_unicast,
            self.repairs_multicast,
            not pacing,
        )

    # --- the handshake and the end -------------------------------------------------------------

    def establish(self, window: int, tsecr: int, now: float) -> None:
        """The receiver's ACK of the SYN-ACK arrived: the connection is open.

        The channel must then add it to its membership and call :meth:`repair_on_join`.
        """
        self.state = ChildState.ESTABLISHED
        self.joined_at = self.last_progress = now
        if tsecr:
            self.rtt.on_sample(elapsed_since(tsecr, now))
        self.rwnd = window
        self.timer_base = now

    def repair_on_join(self, now: float) -> Outcome:
        """A receiver that resumed behind the head is repaired what it missed, at once.

        The channel must act on the outcome, then arm the timer (:meth:`arm_timer`) if data is
        outstanding, or :meth:`park` the child.
        """
        snd_nxt = self._buf.snd_nxt
        if self.una >= snd_nxt:
            return Outcome()
        self.recovery_point = self.rto_lost_upto = snd_nxt
        self.credit = self.cc.cwnd
        self.catchup_next = self.una
        return self._repairs(now)

    def fin_sent(self, now: float) -> None:
        """The channel sent the FIN: wait for its ACK, with the retransmission timeout."""
        if self.state is ChildState.ESTABLISHED:
            self.state = ChildState.FIN_SENT
        self.timer_base = now
        self._timers.arm(self.timer, now + self.rtt.rto)

    def close(self) -> None:
        """The channel removed this receiver: stop its timer; it handles nothing more."""
        self.state = ChildState.CLOSED
        self._timers.disarm(self.timer)

    # --- acknowledgements ----------------------------------------------------------------------

    def plain_ack(self, ack: int, window: int, tsecr: int, repaired: bool, now: float) -> bool:
        """The common case, kept short: new data acknowledged, nothing missing, no repair pending.

        ``repaired``: the ACK covers a segment repaired by multicast (no RTT sample, Karn's
        rule). Returns False, changing nothing, when the ACK needs :meth:`on_ack`. On True the
        channel must release the acknowledged bytes, move the child's right edge, park it when
        everything is acknowledged, and send the FIN at the end of the stream.
        """
        old = self.una
        if ack <= old or self.recovery_point is not None or self.sacked.total or self.retransmitted:
            return False
        self.rwnd = window
        if tsecr and not repaired and now >= self.sample_after:
            self._sample_rtt(tsecr, now)
        self.una = ack
        self.dupacks = 0
        self.last_progress = self.timer_base = now
        self.probe_sent = False
        self.cc.on_ack(ack - old, now)
        return True

    def on_ack(
        self, ack: int, window: int, tsecr: int, sack: tuple[tuple[int, int], ...], repaired: bool, now: float
    ) -> Outcome:
        """The general case: SACK blocks, duplicate ACKs, repairs in flight, loss recovery.

        The caller checked that ``ack`` lies in ``[una, snd_nxt]``; ``repaired`` says whether
        the newly acknowledged bytes include a segment repaired by multicast. Returns the
        repairs to send; the channel must then release the acknowledged bytes and move the
        child's right edge.
        """
        self.unreachable_at = None  # any ACK shows the receiver alive (the plain path moves last_progress)
        self.rwnd = window
        snd_nxt = self._buf.snd_nxt
        newly_sacked = self._update_sack(sack, snd_nxt) if sack else 0
        old = self.una
        if ack > old:
            self._on_new_ack(ack, tsecr, repaired or self._covers_retransmission(ack), now)
        elif old < snd_nxt:
            self.dupacks += 1
        if self.recovery_point is not None:
            self.credit = min(self.credit + newly_sacked, self.cc.cwnd)
        if self.sacked or self.dupacks or self.rto_lost_upto > self.una:
            return self._repairs(now)
        return Outcome()

    def _update_sack(self, blocks: tuple[tuple[int, int], ...], snd_nxt: int) -> int:
        """Record SACK blocks that lie above ``una``; return how many bytes were new."""
        added = 0
        una = self.una
        for block_start, block_end in blocks:
            start = max(block_start, una)
            end = min(block_end, snd_nxt)
            if start < end:
                added += self.sacked.add(start, end)
        return added

    def _covers_retransmission(self, ack: int) -> bool:
        """True when an ACK up to ``ack`` acknowledges unicast-repaired data (Karn's rule)."""
        return any(start < ack for start in self.retransmitted)

    def _on_new_ack(self, ack: int, tsecr: int, ambiguous: bool, now: float) -> None:
        self.catchup_next = max(self.catchup_next, ack)
        if tsecr and not ambiguous and now >= self.sample_after:
            self._sample_rtt(tsecr, now)
        acked = ack - self.una
        self.una = ack
        self.sacked.discard_below(ack)
        if self.retransmitted:
            for start in [s for s in self.retransmitted if s < ack]:
                del self.retransmitted[start]
        self.dupacks = 0
        self.last_progress = now
        if self.recovery_point is not None and ack >= self.recovery_point:
            self.recovery_point = None
            self.rto_lost_upto = 0
        if self.recovery_point is not None:
            self.credit = min(self.credit + acked, self.cc.cwnd)
        else:
            self.cc.on_ack(acked, now)
        self.timer_base = now
        self.probe_sent = False

    def _sample_rtt(self, tsecr: int, now: float) -> None:
        """One RTT sample per round trip, from the echoed timestamp, on both ACK paths.

        RFC 6298's gains assume about one sample per RTT (one timed segment per flight); a
        sample from every ACK collapses RTTVAR and with it the RTO. The caller has applied
        Karn's rule: an ACK that covers repaired data gives no sample.
        """
        rtt = self.rtt
        rtt.update(elapsed_since(tsecr, now))
        self.sample_after = now + rtt.srtt  # type: ignore[operator]

    def note_unicast_repair(self, start: int, now: float) -> None:
        """The channel sent the segment at ``start`` to this receiver alone."""
        self.retransmitted[start] = now
        self.repairs_unicast += 1

    def note_multicast_repair(self) -> None:
        """The channel repaired, by multicast, a segment this receiver reported lost."""
        self.repairs_multicast += 1

    def receive_up(self, offset: int, payload: bytes) -> list[bytes]:
        """Session relay: a piece of the receiver's own stream; returns the messages it completed."""
        if self.up is None:
            self.up = UpReceiver()
        return self.up.offer(offset, payload)

    # --- loss recovery -------------------------------------------------------------------------

    def _repairs(self, now: float) -> Outcome:
        """What to repair now: catch-up from history below the buffer, then lost segments."""
        buf, rules = self._buf, self._rules
        outcome = Outcome()
        if self.una < buf.base:
            if rules.history is None:
                outcome.drop = (DropReason.FELL_BEHIND, f"needs byte {self.una}, the buffer starts at {buf.base}")
                return outcome
            outcome.history = self._catch_up(rules.history, buf.base)
        budget = max(self.credit, rules.mss) if self.recovery_point is not None else self.cc.cwnd
        lost, rack_due = lost_segments(self, buf, now, budget)
        if rack_due != self.rack_due:
            self.rack_due = rack_due
            if rack_due is not None and (self.timer.due is None or rack_due < self.timer.due):
                self._timers.arm(self.timer, rack_due if rack_due > now else now + 1e-6)
        for segment in lost:
            if self.recovery_point is None:
                self._enter_recovery(now)
                outcome.congestion = True
            if self.credit <= 0:
                break
            self.credit -= segment.end - segment.start
            outcome.repairs.append(segment)
        return outcome

    def _catch_up(self, history: History, base: int) -> list[tuple[int, bytes]]:
        """What a resumed receiver misses below the send buffer, from history (go-back-N)."""
        pieces: list[tuple[int, bytes]] = []
        mss = self._rules.mss
        self.catchup_next = max(self.catchup_next, self.una)
        while self.catchup_next < base and self.credit > 0:
            start = self.catchup_next
            payload = history(start, min(mss, base - start))
            if not payload:
                break
            self.credit -= len(payload)
            self.catchup_next = start + len(payload)
            pieces.append((start, payload))
        return pieces

    def _enter_recovery(self, now: float) -> None:
        self.recovery_point = self._buf.snd_nxt
        self.cc.on_congestion_event(now)
        self.credit = max(self.credit, self._rules.mss)

    # --- the one timer -------------------------------------------------------------------------

    def on_timer(self, now: float) -> Iterator[Outcome]:
        """The child's timer fired: yield what is due, one step at a time.

        The channel must act on each outcome before asking for the next (a step looks at the
        repairs the previous one sent), and stop when the child was dropped.
        """
        if self.state is ChildState.SYN_RECEIVED:
            yield self._on_handshake_timer(now)
            return
        timeout = self._rules.progress_timeout
        if timeout is not None and now - self.last_progress >= timeout:
            why = "receive window shut" if self.rwnd < self._rules.mss else "no acknowledgement"
            yield Outcome(drop=(DropReason.NO_PROGRESS, f"{why} for {timeout:g} s"))
            return
        if self.state is ChildState.FIN_SENT:
            yield self._on_fin_timer(now)
            return
        snd_nxt = self._buf.snd_nxt
        if self.una >= snd_nxt:
            return  # parked: everything is acknowledged
        if self.rack_due is not None and now >= self.rack_due:
            self.rack_due = None
            yield self._repairs(now)
        if self.closed:  # the channel dropped it while acting on the step before
            return
        if now >= self.timer_base + self.rtt.rto:
            yield self._on_retransmission_timeout(now)
        else:
            probe = probe_due(self, snd_nxt, self._rules.mss)
            if probe is not None and now >= probe:
                self.probe_sent = True
                yield self._probe()
        if not self.closed:
            self.arm_timer(now)

    def _on_handshake_timer(self, now: float) -> Outcome:
        waited = now - self.syn_at
        if waited >= self._rules.handshake_timeout:
            return Outcome(drop=(DropReason.HANDSHAKE_TIMEOUT, "the handshake never completed"))
        self._timers.arm(self.timer, now + max(SYN_ACK_INTERVAL, waited))
        return Outcome(syn_ack=True)

    def _on_fin_timer(self, now: float) -> Outcome:
        due = self.timer_base + self.rtt.rto
        if now >= due:
            self.rtt.back_off()
            return Outcome(fin=True)
        self._timers.arm(self.timer, due)
        return Outcome()

    def _on_retransmission_timeout(self, now: float) -> Outcome:
        snd_nxt = self._buf.snd_nxt
        if self.una >= snd_nxt:
            return Outcome()
        self.cc.on_retransmission_timeout(now)
        self.rtt.back_off()
        self.recovery_point = snd_nxt
        self.rto_lost_upto = snd_nxt
        self.catchup_next = self.una
        self.retransmitted.clear()
        self.dupacks = 0
        self.credit = self._rules.mss
        self.timer_base = now
        self.probe_sent = True
        outcome = self._repairs(now)
        outcome.stop_pacing = outcome.congestion = True
        return outcome

    def _probe(self) -> Outcome:
        """Tail loss probe (RFC 8985 TLP): repair the first missing segment, without a cwnd cut."""
        for segment in self._buf.segments_from(self.una):
            if not self.sacked.contains(segment.start, segment.end):
                return Outcome(probe=segment)
        return Outcome()

    def arm_timer(self, now: float) -> None:
        """Arm the one timer at the earliest due time: RTO, probe, RACK or progress (see timing)."""
        due = next_due(self, self._buf.snd_nxt, self._rules.mss, self._rules.progress_timeout)
        self._timers.arm(self.timer, due if due > now else now + 1e-6)

    def park(self) -> None:
        """Everything sent is acknowledged: no timer until new data goes out (then :meth:`resume`)."""
        self.rack_due = None
        self._timers.disarm(self.timer)

    def resume(self, now: float) -> None:
        """New data went out after the child was parked: time it from now."""
        self.last_progress = self.timer_base = now  # "no progress" counts from here
        self.probe_sent = False
        self.arm_timer(now)
