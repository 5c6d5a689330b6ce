"""The per-receiver sender: the source's TCP for one receiver (the paper's child control block).

A child has no send buffer of its own: it reads the channel's (:class:`SendBuffer`) and never
changes it. It owns everything else of its receiver's connection: the cumulative ACK
(``una``), the SACK scoreboard, congestion and RTT state, loss recovery (fast retransmit,
RACK, tail loss probes, the retransmission timeout), catch-up from history after a resume,
and the FIN's retransmission. Its one timer in the channel's timer queue is a
:class:`~smocast.smo.timing.ChildTimer` it owns: the timer decides when a step is due and asks
the child for it.

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
from smocast.core.timers import TimerQueue
from smocast.core.timestamps import elapsed_since
from smocast.smo.catchup import CatchUp
from smocast.smo.drop_reason import DropReason
from smocast.smo.loss import lost_segments
from smocast.smo.outcome import ChildRules, ChildState, History, Outcome
from smocast.smo.reordering import Reordering
from smocast.smo.sampling import RttSamples
from smocast.smo.scoreboard import record_sack
from smocast.smo.sendbuf import SendBuffer
from smocast.smo.timing import ChildTimer
from smocast.smo.uplink import UpReceiver

__all__ = ["Child", "ChildRules", "ChildState", "History", "Outcome"]

PROBES_PER_PROGRESS_TIMEOUT = 8
"""RTO back-off stops at progress_timeout / this: a lossy receiver is probed this often
before it could be dropped, and each probe it answers restarts its progress clock."""


class Child:
    """One receiver's TCP sender at the source. The channel feeds it; it never sends by itself."""

    # fmt: off
    __slots__ = (
        "_buf", "_rules", "address", "catch_up", "cc", "connection", "count_from", "credit", "dupacks",
        "idle_since", "idle_total", "index", "joined_at", "last_progress", "loss_episodes", "recovery_point",
        "reordering", "repairs_multicast", "repairs_unicast", "retransmitted", "rto_lost_upto", "rtt", "rwnd", "sacked",
        "samples", "start", "state", "timer", "una", "unreachable_at", "up", "window_cuts",
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
        history = rules.history  # resuming below the send buffer: what it misses comes from there
        self.catch_up = None if history is None else CatchUp(history, rules.mss, start)
        self.up: UpReceiver | None = None  # its session-relay stream, once it sends one (the channel makes it)
        self.una, self.rwnd = start, 0
        self.sacked = RangeSet()
        self.cc, self.rtt = cc, rtt
        self._buf = buffer
        self._rules = rules
        self.timer = ChildTimer(timers, buffer, rules, self, partial(on_timer, self), now)  # armed for the SYN-ACK
        self.samples = RttSamples(rtt, cc, buffer)  # its RTT samples, for the RTO and for cc
        self.dupacks = 0
        self.recovery_point: int | None = None  # snd_nxt when the current recovery began
        self.rto_lost_upto = 0  # after a timeout, every un-SACKed byte below this is lost
        self.retransmitted: dict[int, float] = {}  # segment start -> when a unicast repair was sent
        self.reordering = Reordering()  # what its path showed of reordering, for loss detection
        self.credit = 0  # bytes of repairs this receiver's ACK clock allows now
        self.last_progress = now  # new data acknowledged, or a probe answered
        self.idle_since: float | None = None  # parked (everything acknowledged) since then
        self.idle_total = 0.0  # seconds parked before idle_since
        self.joined_at = now
        self.repairs_unicast = self.repairs_multicast = 0
        self.loss_episodes = 0  # loss recovery episodes entered (duplicate ACKs, SACK or RACK)
        self.window_cuts = 0  # episodes and timeouts after which the controller's window was smaller
        self.unreachable_at: float | None = None  # an ICMP port unreachable named its address (smo.unreachable)

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
        self.timer.base = now

    def repair_on_join(self, now: float) -> Outcome:
        """A receiver that resumed behind the head is repaired what it missed, at once. The channel
        must act on the outcome, then arm the timer (:meth:`arm_timer`) if data is outstanding,
        or :meth:`park` the child."""
        snd_nxt = self._buf.snd_nxt
        if self.una >= snd_nxt:
            return Outcome()
        self.recovery_point = self.rto_lost_upto = snd_nxt
        self.credit = self.cc.cwnd
        if self.catch_up is not None:
            self.catch_up.restart(self.una)
        return self._repairs(now)

    def fin_sent(self, now: float) -> None:
        """The channel sent the FIN: wait for its ACK, with the retransmission timeout."""
        if self.state is ChildState.ESTABLISHED:
            self.state = ChildState.FIN_SENT
        self.timer.arm_fin(self.rtt.rto, now)

    def close(self) -> None:
        """The channel removed this receiver: stop its timer; it handles nothing more."""
        self.state = ChildState.CLOSED
        self.timer.disarm()
        if self.up is not None:
            self.up.release()

    # --- acknowledgements ----------------------------------------------------------------------

    def plain_ack(self, ack: int, window: int, tsecr: int, now: float) -> bool:
        """The common case, kept short: new data acknowledged, nothing missing, no repair pending.

        Returns False, changing nothing, when the ACK needs :meth:`on_ack`. On True the
        channel must release the acknowledged bytes, move the child's right edge, park it when
        everything is acknowledged, and send the FIN at the end of the stream.
        """
        old = self.una
        if ack <= old or self.recovery_point is not None or self.sacked.total or self.retransmitted:
            return False
        self.rwnd = window
        samples = self.samples
        if tsecr and now >= samples.after:
            samples.echoed(tsecr, now)
            if self.cc.wants_rtt:
                samples.delivered(ack, now)
        self.una = ack
        self.dupacks = 0
        timer = self.timer
        self.last_progress = timer.base = now
        timer.probe_sent = False
        cc = self.cc
        cc.on_ack(ack - old, now, not cc.validates_window or 2 * (self._buf.snd_nxt - old) >= cc.cwnd)
        return True

    def on_ack(self, ack: int, window: int, tsecr: int, sack: tuple[tuple[int, int], ...], now: float) -> Outcome:
        """The general case: SACK blocks, duplicate ACKs, repairs in flight, loss recovery.

        The caller checked that ``ack`` lies in ``[una, snd_nxt]``. Returns the repairs to send;
        the channel must then release the acknowledged bytes and move the child's right edge.
        An ACK that covers repaired data still gives an RTT sample (design.md, "Timestamps
        instead of Karn's rule"): its echo names the transmission it answers (RFC 7323).
        """
        self.unreachable_at = None  # any ACK shows the receiver alive (the plain path moves last_progress)
        if sack and sack[0][1] <= ack:  # a D-SACK block (RFC 2883): the receiver got a segment twice
            self.reordering.dsack(self, sack[0][0], self._buf.segment_at(sack[0][0]), now)
        self.rwnd = window
        snd_nxt = self._buf.snd_nxt
        old = self.una
        delivered = self.sacked.last_end or old
        newly_sacked = record_sack(self.sacked, sack, old, snd_nxt) if sack else 0
        newest = max(self.sacked.last_end or ack, ack)
        if newest > delivered and self.cc.wants_rtt:
            self.samples.delivered(newest, now)
        if ack > old:
            if delivered > old:  # later data was SACKed: the ACK filled a hole
                self.reordering.hole_filled(self, self._buf.segment_at(old), tsecr, now)
            self._on_new_ack(ack, tsecr, now)
        elif old < snd_nxt:
            self.dupacks += 1
            if self.timer.probe_sent:
                self.last_progress = now  # it answered a probe: alive, however lossy its path
        if self.recovery_point is not None:
            self.credit = min(self.credit + newly_sacked, self.cc.cwnd)
        if self.sacked or self.dupacks or self.rto_lost_upto > self.una:
            return self._repairs(now)
        return Outcome()

    def _on_new_ack(self, ack: int, tsecr: int, now: float) -> None:
        if self.catch_up is not None:
            self.catch_up.acked(ack)
        if tsecr and now >= self.samples.after:
            self.samples.echoed(tsecr, now)
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
            if (prior := self.reordering.recovery_ended(tsecr)) is not None:
                self.window_cuts -= self.cc.undo(*prior)  # a needless recovery: its cut is taken back
        cc = self.cc
        limited = not cc.validates_window or 2 * (self._buf.snd_nxt - ack + acked - self.sacked.total) >= cc.cwnd
        if self.recovery_point is None:
            cc.on_ack(acked, now, cwnd_limited=limited)
        elif self.rto_lost_upto:  # after a timeout: slow start while the lost flight is repaired (RFC 5681 (3.1))
            grown = cc.cwnd
            cc.on_ack(acked, now, cwnd_limited=limited)
            self.credit = min(self.credit + acked + max(0, cc.cwnd - grown), cc.cwnd)
        else:
            if cc.loss_ignored:  # a random loss: the window keeps growing while it is repaired
                cc.on_ack(acked, now, cwnd_limited=limited)
            self.credit = min(self.credit + acked, cc.cwnd)
        self.timer.restart(now)

    def note_unicast_repair(self, start: int, now: float) -> None:
        """The channel sent the segment at ``start`` to this receiver alone."""
        self.retransmitted[start] = now
        self.repairs_unicast += 1
        self.reordering.repaired(now)

    def note_multicast_repair(self, now: float) -> None:
        """The channel repaired, by multicast, a segment this receiver reported lost."""
        self.repairs_multicast += 1
        self.reordering.repaired(now)

    def catch_up_stopped(self, offset: int, unsent: int, *, held: bool) -> None:
        """Catch-up from ``offset`` on (``unsent`` bytes, back to the credit) was not sent: ``held`` by the
        pacer (the channel queues it, then calls :meth:`resume_catch_up`), or the history ended."""
        if self.catch_up is not None:
            self.credit += unsent
            (self.catch_up.hold if held else self.catch_up.stop)(offset)

    def resume_catch_up(self) -> list[tuple[int, int]]:
        """Its turn in the line of held catch-up: the pieces its credit allows, one at least (no ACK may come)."""
        if self.catch_up is None or self.state is not ChildState.ESTABLISHED:
            return []
        self.catch_up.resume()
        if self.una >= self._buf.base:
            return []
        self.credit = max(self.credit, self._rules.mss)
        return self._catch_up_pieces()

    def _catch_up_pieces(self) -> list[tuple[int, int]]:
        pieces = self.catch_up.pieces(self.una, self._buf.base, self.credit) if self.catch_up else []
        self.credit -= sum(length for _, length in pieces)
        return pieces

    # --- loss recovery -------------------------------------------------------------------------

    def _repairs(self, now: float) -> Outcome:
        """What to repair now: catch-up from history below the buffer, then lost segments."""
        buf, rules = self._buf, self._rules
        outcome = Outcome()
        if self.una < buf.base:
            if self.catch_up is None:
                outcome.drop = (DropReason.FELL_BEHIND, f"needs byte {self.una}, the buffer starts at {buf.base}")
                return outcome
            outcome.history = self._catch_up_pieces()
            return outcome  # the buffer's segments wait for the catch-up: the receiver takes bytes in order
        budget = max(self.credit, rules.mss) if self.recovery_point is not None else self.cc.cwnd
        lost, rack_due = lost_segments(self, buf, now, budget)
        self.timer.note_rack(rack_due, now)
        for segment in lost:
            if self.recovery_point is None:
                self._enter_recovery(now)
                outcome.congestion = not self.cc.loss_ignored
            if self.credit <= 0:
                break
            self.credit -= segment.end - segment.start
            outcome.repairs.append(segment)
        return outcome

    def _enter_recovery(self, now: float) -> None:
        self.recovery_point = self._buf.snd_nxt
        cwnd = self.cc.cwnd
        self.reordering.recovery_began(cwnd, self.cc.ssthresh, self.una, self._buf.snd_nxt)
        self.cc.on_congestion_event(now)
        self.loss_episodes += 1
        self.window_cuts += self.cc.cwnd < cwnd
        self.credit = max(self.credit, self._rules.mss)

    # --- the steps its timer asks for -------------------------------------------------------

    def on_timer(self, now: float) -> Iterator[Outcome]:
        """The child's timer fired: yield what is due, one step at a time (see
        :meth:`ChildTimer.fire <smocast.smo.timing.ChildTimer.fire>`). The channel must act on
        each outcome before asking for the next, and stop when the child was dropped."""
        return self.timer.fire(self, now)

    def repairs_due(self, now: float) -> Outcome:
        """The RACK step: the repairs loss detection finds due now."""
        return self._repairs(now)

    def fin_timeout(self) -> Outcome:
        """The FIN's ACK is overdue: back the RTO off and send the FIN again."""
        self.rtt.back_off(self._backoff_ceiling())
        return Outcome(fin=True)

    def retransmission_timeout(self, now: float) -> Outcome:
        """The retransmission timer expired: everything outstanding and not SACKed is lost."""
        snd_nxt = self._buf.snd_nxt
        if self.una >= snd_nxt:
            return Outcome()
        repeated = self.rto_lost_upto > self.una  # the flight lost at the last timeout is not repaired yet
        cwnd = self.cc.cwnd
        self.reordering.timed_out()
        self.cc.on_retransmission_timeout(now, repeated=repeated)
        self.window_cuts += self.cc.cwnd < cwnd
        self.rtt.back_off(self._backoff_ceiling())
        self.recovery_point = self.rto_lost_upto = snd_nxt
        if self.catch_up is not None:
            self.catch_up.restart(self.una)
        self.retransmitted.clear()
        self.dupacks = 0
        self.credit = self._rules.mss
        self.timer.timed_out(now)
        outcome = self._repairs(now)
        outcome.stop_pacing = outcome.congestion = True
        return outcome

    def _backoff_ceiling(self) -> float | None:
        """The RTO back-off stops here, so probes come often enough for the progress clock."""
        timeout = self._rules.progress_timeout
        return None if timeout is None else timeout / PROBES_PER_PROGRESS_TIMEOUT

    def tail_loss_probe(self) -> Outcome:
        """Tail loss probe (RFC 8985 TLP): repair the first missing segment, without a cwnd cut."""
        for segment in self._buf.segments_from(self.una):
            if not self.sacked.contains(segment.start, segment.end):
                return Outcome(probe=segment)
        return Outcome()

    def arm_timer(self, now: float) -> None:
        """Arm the one timer at the earliest due time: RTO, probe, RACK or progress (see timing)."""
        self.timer.arm_next(self, now)

    def park(self, now: float) -> None:
        """Everything sent is acknowledged: no timer until new data goes out (then :meth:`resume`)."""
        self.timer.park()
        if self.idle_since is None:
            self.idle_since = now

    def resume(self, now: float) -> None:
        """New data went out after the child was parked: time it from now."""
        self.last_progress = now  # "no progress" counts from here
        self.timer.restart(now)
        if self.idle_since is not None:
            self.idle_total += now - self.idle_since
            self.idle_since = None
        self.arm_timer(now)

    def idle_time(self, now: float) -> float:
        """Seconds it spent parked, with everything acknowledged, since it was created."""
        since = self.idle_since
        return self.idle_total if since is None else self.idle_total + now - since
