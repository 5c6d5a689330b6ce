"""A child's one timer: when it must fire, and what is due when it does.

The retransmission timer restarts on every ACK that acknowledges new data (RFC 6298 (5.3)).
Moving a heap entry per ACK would be the most expensive thing an ACK does, so an ACK only
records ``base = now`` on the child's :class:`ChildTimer`; the due times (RTO, tail loss
probe, RACK, progress) are derived from it here, and the timer, armed at an earlier due time,
re-arms itself when it fires early. It therefore fires about once per probe timeout per
child, instead of being moved on every ACK. An early firing that finds nothing due goes no
further than the timer (:meth:`ChildTimer.rearm_if_early`); the channel's handler runs only
when a step may be due.

The timer owns *when*: its entry in the channel's timer queue, the retransmission timer's
base, whether a tail loss probe went out, the RACK deadline, when the handshake began. The
child owns *what*: when the timer finds a recovery step due, it asks the child for it
(:class:`TimedSender`), and each step is an :class:`~smocast.smo.outcome.Outcome` for the
channel.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Protocol

from smocast.core.rtt import RttEstimator
from smocast.core.timers import Timer, TimerQueue
from smocast.smo.drop_reason import DropReason
from smocast.smo.outcome import ChildRules, ChildState, Outcome
from smocast.smo.sendbuf import SendBuffer

TLP_ACK_DELAY = 0.025  # RFC 8985 (7.2): allow the receiver's delayed ACK while it may hold segments
TLP_MINIMUM = 0.002  # seconds; a probe timeout never shorter than this
SYN_ACK_INTERVAL = 0.5  # first SYN-ACK retransmission, doubled each time
_ESTABLISHED = ChildState.ESTABLISHED  # per timer firing: a module name is cheaper to load than an Enum member


class TimedSender(Protocol):
    """What the timer reads of its child (a :class:`~smocast.smo.child.Child`), and the steps it asks for."""

    rtt: RttEstimator
    una: int
    rwnd: int
    last_progress: float
    state: ChildState

    @property
    def closed(self) -> bool: ...

    def repairs_due(self, now: float) -> Outcome:
        """The repairs loss detection finds due now (the RACK step)."""
        ...

    def retransmission_timeout(self, now: float) -> Outcome:
        """The retransmission timer expired with data outstanding: recover from it."""
        ...

    def fin_timeout(self) -> Outcome:
        """The FIN's ACK is overdue: back off and send the FIN again."""
        ...

    def tail_loss_probe(self) -> Outcome:
        """The probe timeout passed: probe with the first missing segment."""
        ...


class ChildTimer:
    """One child's timer in the channel's queue, and the due times derived from its state."""

    __slots__ = ("_buf", "_child", "_on_fire", "_queue", "_rules", "base", "entry", "probe_sent", "rack_due", "syn_at")

    def __init__(
        self,
        queue: TimerQueue,
        buf: SendBuffer,
        rules: ChildRules,
        child: TimedSender,
        on_fire: Callable[[float], None],
        now: float,
    ) -> None:
        """``child``'s timer, armed for the first SYN-ACK retransmission. When it fires with a
        step due, ``on_fire(now)`` runs, and must call :meth:`fire`; when it fires early it
        re-arms itself (:meth:`rearm_if_early`) and ``on_fire`` does not run."""
        self._queue = queue
        self._buf = buf
        self._rules = rules
        self._child = child
        self._on_fire = on_fire
        self.entry = Timer(self._expired)
        self.base = now  # when the retransmission timer last (re)started
        self.probe_sent = False  # a tail loss probe went out since base
        self.rack_due: float | None = None  # when a reordering window ends (RFC 8985 RACK)
        self.syn_at = now
        queue.arm(self.entry, now + SYN_ACK_INTERVAL)

    @property
    def armed(self) -> bool:
        return self.entry.armed

    def fire(self, child: TimedSender, now: float) -> Iterator[Outcome]:
        """The timer fired: yield what is due, one step at a time.

        The channel must act on each outcome before asking for the next (a step looks at the
        repairs the previous one sent), and stop when the child was dropped.
        """
        if child.state is ChildState.SYN_RECEIVED:
            yield self._handshake(now)
            return
        timeout = self._rules.progress_timeout
        if timeout is not None and now - child.last_progress >= timeout:
            why = "receive window shut" if child.rwnd < self._rules.mss else "no acknowledgement"
            yield Outcome(drop=(DropReason.NO_PROGRESS, f"{why} for {timeout:g} s"))
            return
        if child.state is ChildState.FIN_SENT:
            yield self._fin(child, now)
            return
        if child.una >= self._buf.snd_nxt:
            return  # parked: everything is acknowledged
        if self.rack_due is not None and now >= self.rack_due:
            self.rack_due = None
            yield child.repairs_due(now)
        if child.closed:  # the channel dropped it while acting on the step before
            return
        if now >= self.base + child.rtt.rto:
            yield child.retransmission_timeout(now)
        else:
            probe = self.probe_due(child)
            if probe is not None and now >= probe:
                self.probe_sent = True
                yield child.tail_loss_probe()
        if not child.closed:
            self.arm_next(child, now)

    def _handshake(self, now: float) -> Outcome:
        waited = now - self.syn_at
        if waited >= self._rules.handshake_timeout:
            return Outcome(drop=(DropReason.HANDSHAKE_TIMEOUT, "the handshake never completed"))
        self._queue.arm(self.entry, now + max(SYN_ACK_INTERVAL, waited))
        return Outcome(syn_ack=True)

    def _fin(self, child: TimedSender, now: float) -> Outcome:
        due = self.base + child.rtt.rto
        if now >= due:
            return child.fin_timeout()
        self._queue.arm(self.entry, due)
        return Outcome()

    def _expired(self, now: float) -> None:
        """The queue's callback: re-arm when nothing is due yet, else hand the firing to ``on_fire``."""
        if not self.rearm_if_early(self._child, now):
            self._on_fire(now)

    def rearm_if_early(self, child: TimedSender, now: float) -> bool:
        """The timer fired before anything was due (the common case: ACKs moved ``base`` since it
        was armed): re-arm it at :meth:`next_due` and return True, which is all :meth:`fire`
        would do. False, changing nothing, when the child is not established, has nothing
        outstanding, or has a step due: the caller must then run :meth:`fire`."""
        if child.state is not _ESTABLISHED:
            return False
        rack = self.rack_due
        if rack is not None and now >= rack:
            return False
        timeout = self._rules.progress_timeout
        if timeout is not None and now - child.last_progress >= timeout:
            return False
        if child.una >= self._buf.snd_nxt or now >= self.base + child.rtt.rto:
            return False
        probe = self.probe_due(child)
        if probe is not None and now >= probe:
            return False
        self._arm(self._earliest(child, probe), now)
        return True

    # --- arming --------------------------------------------------------------------------------

    def arm_next(self, child: TimedSender, now: float) -> None:
        """Arm at the earliest due time: RTO, probe, RACK or progress (see :meth:`next_due`)."""
        self._arm(self.next_due(child), now)

    def arm_fin(self, rto: float, now: float) -> None:
        """The FIN went out: wait ``rto`` for its ACK."""
        self.base = now
        self._queue.arm(self.entry, now + rto)

    def note_rack(self, rack_due: float | None, now: float) -> None:
        """Loss detection's next look (RACK): fire then, if that is earlier than the timer is armed for."""
        if rack_due == self.rack_due:
            return
        self.rack_due = rack_due
        if rack_due is not None and (self.entry.due is None or rack_due < self.entry.due):
            self._arm(rack_due, now)

    def timed_out(self, now: float) -> None:
        """A retransmission timeout: the timer restarts now, and counts as a probe sent."""
        self.base = now
        self.probe_sent = True

    def restart(self, now: float) -> None:
        """New data acknowledged, or sent after a pause: the retransmission timer counts from now."""
        self.base = now
        self.probe_sent = False

    def park(self) -> None:
        """Everything sent is acknowledged: no timer until new data goes out."""
        self.rack_due = None
        self._queue.disarm(self.entry)

    def disarm(self) -> None:
        self._queue.disarm(self.entry)

    def _arm(self, due: float, now: float) -> None:
        self._queue.arm(self.entry, due if due > now else now + 1e-6)

    # --- due times -----------------------------------------------------------------------------

    def probe_due(self, child: TimedSender) -> float | None:
        """When the tail loss probe (RFC 8985 TLP) is due, or None if no probe is pending.

        RFC 8985 allows the receiver's delayed-ACK time when one segment is in flight, because a
        receiver ACKs every second segment at once. A TCP-SMO receiver follows the ACK frequency
        the source carries in DATA (``buf.ack_hint``) and may hold one segment less than that for
        its delayed-ACK timer, so the allowance applies while fewer than that many are out. The
        probe counts from the later of the last ACK that advanced and the last new segment sent
        (RFC 8985 7.2: the timer restarts when new data goes out), so a source that its
        application limits is not probing segments that are still on their way.
        """
        rtt = child.rtt
        srtt = rtt.srtt
        if srtt is None or rtt.backoff != 1 or self.probe_sent:
            return None
        buf = self._buf
        probe = 2 * srtt
        every = buf.ack_hint if buf.ack_hint > 2 else 2  # per timer firing: comparisons are cheaper than max()
        if buf.snd_nxt - child.una < every * self._rules.mss:
            probe += TLP_ACK_DELAY  # fewer than ack_every segments out: the receiver may delay its ACK
        if probe >= rtt.rto:
            return None
        since = buf.last_sent_at if buf.last_sent_at > self.base else self.base
        return since + (probe if probe >= TLP_MINIMUM else TLP_MINIMUM)

    def next_due(self, child: TimedSender) -> float:
        """The earliest time the timer must fire while the child has data outstanding."""
        return self._earliest(child, self.probe_due(child))

    def _earliest(self, child: TimedSender, probe: float | None) -> float:
        """:meth:`next_due`, given what :meth:`probe_due` returns now."""
        due = self.base + child.rtt.rto
        if probe is not None and probe < due:
            due = probe
        rack = self.rack_due
        if rack is not None and rack < due:
            due = rack
        progress_timeout = self._rules.progress_timeout
        if progress_timeout is not None and child.last_progress + progress_timeout < due:
            due = child.last_progress + progress_timeout
        return due
