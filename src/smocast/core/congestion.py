"""Congestion control behind a small interface, with a registry so other controllers plug in.

The caller (a per-receiver control block) owns loss detection and the recovery episode;
a controller only does the window arithmetic for the four signals below.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import ClassVar

from smocast.core.delaytrack import MIN_RTT_WINDOW, STANDING_WINDOW_FLOOR, DelayTrack
from smocast.core.errors import ConfigError

__all__ = [
    "CONTROLLERS",
    "INITIAL_WINDOW_SEGMENTS",
    "MIN_RTT_WINDOW",
    "STANDING_WINDOW_FLOOR",
    "CongestionController",
    "FixedWindow",
    "LossFilter",
    "NewReno",
    "controller_factory",
    "make_controller",
    "register_controller",
]

INITIAL_WINDOW_SEGMENTS = 10  # RFC 6928
MIN_SSTHRESH_SEGMENTS = 2  # RFC 5681 (4): ssthresh >= 2 * SMSS
LOSS_WINDOW_SEGMENTS = 1  # RFC 5681 (3.1): cwnd after a retransmission timeout
QUEUE_FRACTION = 0.25  # LossFilter: RTT growth over the minimum, as a fraction of it, that shows a queue
QUEUE_DELAY_FLOOR = 0.002  # LossFilter: and at least this much (s), above delayed-ACK and scheduling jitter
QUEUE_JITTER_MULTIPLE = 4  # LossFilter: and above this many times the path's jitter (RFC 6298's K)
ONE_WAY_FRESH = 1.0  # LossFilter: one-way delay samples stand for the path this long after the last (s)


class CongestionController(ABC):
    """Window arithmetic of one path, in bytes. ``cwnd`` is read after every signal."""

    name: ClassVar[str] = "abstract"
    wants_rtt = False  # True: the caller must feed on_rtt_sample (it costs a lookup per ACK)
    wants_delay = False  # True: the caller must feed on_delay_sample with the ACKs' one-way delays
    validates_window = False  # True: the caller must say in on_ack whether the window was used (RFC 7661)

    def __init__(self, mss: int, initial_window: int, max_window: int) -> None:
        if mss <= 0 or initial_window <= 0 or max_window < mss:
            raise ConfigError(f"bad window settings: mss={mss} initial={initial_window} max={max_window}")
        self.mss = mss
        self.max_window = max_window
        self.cwnd = min(initial_window, max_window)
        self.ssthresh = max_window

    @property
    def in_slow_start(self) -> bool:
        return self.cwnd < self.ssthresh

    @abstractmethod
    def on_ack(self, acked: int, now: float, cwnd_limited: bool = True) -> None:
        """``acked`` new bytes were cumulatively acknowledged outside loss recovery.

        ``cwnd_limited`` is False when the sender used less than half the window; the window
        then does not grow (RFC 7661), so it keeps meaning something on the path.
        """

    @abstractmethod
    def on_congestion_event(self, now: float) -> None:
        """Loss was detected by duplicate ACKs or SACK: one reduction per recovery episode."""

    @abstractmethod
    def on_retransmission_timeout(self, now: float, *, repeated: bool = False) -> None:
        """The retransmission timer expired. ``repeated``: it expired again before the flight
        lost at the last timeout was repaired; the window falls again, but the slow-start
        threshold, which that flight set, stays (RFC 5681 (4) halves the flight size, which has
        not shrunk; Linux keeps it while in its Loss state)."""

    def undo(self, cwnd: int, ssthresh: int) -> bool:
        """The last loss recovery proved needless (its originals had only been overtaken, see
        :mod:`smocast.smo.reordering`): the window and the threshold go back to ``cwnd`` and
        ``ssthresh``, what they were before it, if they are smaller now (RFC 4015's response,
        as Linux undoes a recovery). Returns whether the window grew back."""
        self.ssthresh = max(self.ssthresh, ssthresh)
        restored = min(cwnd, self.max_window)
        if self.cwnd >= restored:
            return False
        self.cwnd = restored
        return True

    def on_rtt_sample(self, rtt: float, now: float) -> None:  # noqa: B027 (optional: only some controllers use RTT)
        """One RTT sample of the path, from the newest segment delivered; only when ``wants_rtt``."""

    def on_delay_sample(self, sample: int, now: float) -> None:  # noqa: B027 (optional, as on_rtt_sample)
        """A one-way delay sample of the path (an ACK's, :data:`~smocast.wire.codec.DELAY_SAMPLE`):
        microseconds modulo 2**32 against an unknown clock offset; only when ``wants_delay``."""

    @property
    def loss_ignored(self) -> bool:
        """True when the last loss signal was judged random, not congestion: the window was
        not reduced, and it keeps growing with ACKs through the caller's recovery episode."""
        return False


class NewReno(CongestionController):
    """Slow start, congestion avoidance with byte counting, halving on loss (RFC 5681/6582).

    Loss recovery itself is SACK based and lives with the caller (RFC 6675 style); the
    window is set to ssthresh on entering recovery, without RFC 6582's window inflation,
    because repairs are clocked by delivered bytes instead.

    ssthresh is half the *window*, as Linux computes it, not half the flight size of RFC
    5681: a TCP-SMO child's flight is set by the slowest receiver, and halving that on every
    receiver's loss would collapse the channel once per loss anywhere in the group.
    """

    name: ClassVar[str] = "newreno"

    def __init__(self, mss: int, initial_window: int, max_window: int) -> None:
        super().__init__(mss, initial_window, max_window)
        self._bytes_acked = 0  # RFC 3465 appropriate byte counting in congestion avoidance

    def on_ack(self, acked: int, now: float, cwnd_limited: bool = True) -> None:
        if not cwnd_limited:
            return
        if self.cwnd < self.ssthresh:  # per ACK: comparisons are cheaper than min()
            grown, limit = self.cwnd + acked, self.ssthresh if self.ssthresh < self.max_window else self.max_window
            self.cwnd = grown if grown < limit else limit
            return
        self._bytes_acked += acked
        if self._bytes_acked >= self.cwnd:
            self._bytes_acked -= self.cwnd
            self.cwnd = min(self.cwnd + self.mss, self.max_window)

    def on_congestion_event(self, now: float) -> None:
        self.ssthresh = max(self.cwnd // 2, MIN_SSTHRESH_SEGMENTS * self.mss)
        self.cwnd = self.ssthresh
        self._bytes_acked = 0

    def on_retransmission_timeout(self, now: float, *, repeated: bool = False) -> None:
        if not repeated:
            self.ssthresh = max(self.cwnd // 2, MIN_SSTHRESH_SEGMENTS * self.mss)
        self.cwnd = LOSS_WINDOW_SEGMENTS * self.mss
        self._bytes_acked = 0


class FixedWindow(CongestionController):
    """A constant window that ignores loss: for experiments that must not be rate-limited."""

    name: ClassVar[str] = "fixed"

    def __init__(self, mss: int, initial_window: int, max_window: int) -> None:
        super().__init__(mss, initial_window, max_window)
        self.cwnd = max_window
        self.ssthresh = max_window

    def on_ack(self, acked: int, now: float, cwnd_limited: bool = True) -> None:
        return

    def on_congestion_event(self, now: float) -> None:
        return

    def on_retransmission_timeout(self, now: float, *, repeated: bool = False) -> None:
        return


class LossFilter(NewReno):
    """NewReno that halves only for losses that come with a queue: random loss is not congestion.

    A loss is congestion when the path's queueing delay exceeds ``QUEUE_FRACTION`` of its
    minimum RTT, ``QUEUE_DELAY_FLOOR`` and ``QUEUE_JITTER_MULTIPLE`` times the path's jitter
    (:attr:`DelayTrack.jitter`: on a busy host the delay of an empty path wanders by a few
    milliseconds, and a loss that falls in such a rise is still random). A drop-tail or tbf
    bottleneck drops only once its queue is full, so every congestion loss there comes with
    that growth and gets NewReno's response, while a loss on an empty path (a noisy wireless
    or LAN segment) only gets its repair. Without any RTT sample yet every loss is congestion.
    A retransmission timeout on a path with no queue halves the window instead of collapsing
    it to one segment.

    The queueing delay is the standing delay over its minimum (:class:`DelayTrack`), from the
    receiver's one-way delay samples where its ACKs carry them (``on_delay_sample``: measured
    to the kernel's arrival time, they leave out the receiver's scheduling and ACK delays, which
    on a busy host stand milliseconds above the path's), else from RTT samples.

    It stays TCP-fair only where congestion builds a queue the delay shows: behind an AQM
    that drops early, or a bottleneck queue smaller than ``QUEUE_FRACTION`` of the RTT,
    its losses look random and it takes more than its share. See docs/design.md.
    """

    name: ClassVar[str] = "lossfilter"
    wants_rtt = True
    wants_delay = True
    validates_window = True  # a window that losses do not cut must not double where it is not used

    def __init__(self, mss: int, initial_window: int, max_window: int) -> None:
        super().__init__(mss, initial_window, max_window)
        self._rtt = DelayTrack()
        self._one_way = DelayTrack()
        self._now = 0.0
        self._ignored = False

    @property
    def loss_ignored(self) -> bool:
        return self._ignored

    @property
    def standing_rtt(self) -> float | None:
        """The smallest RTT sample of the last ``STANDING_BUCKETS`` buckets of ``max(min RTT / 2,
        STANDING_WINDOW_FLOOR)``, however old: a queue keeps every sample up, a delayed ACK or a
        busy receiver only some."""
        return self._rtt.standing

    @property
    def queueing_delay(self) -> float | None:
        """The path's queueing delay: from one-way samples if one came in the last
        ``ONE_WAY_FRESH`` seconds, else from RTT samples; None before any sample."""
        return self._delay_track.queueing_delay

    @property
    def queue_threshold(self) -> float | None:
        """The queueing delay above which a loss is congestion; None before any RTT sample."""
        floor = self._rtt.base
        if floor is None:
            return None
        return max(QUEUE_FRACTION * floor, QUEUE_DELAY_FLOOR, QUEUE_JITTER_MULTIPLE * self._delay_track.jitter)

    @property
    def queueing(self) -> bool:
        """The path shows a queue (or there is no RTT sample yet)."""
        delay, threshold = self.queueing_delay, self.queue_threshold
        if delay is None or threshold is None:
            return True
        return delay > threshold

    @property
    def _delay_track(self) -> DelayTrack:
        """The one-way track if a sample came in the last ``ONE_WAY_FRESH`` seconds, else the RTT track."""
        one_way = self._one_way
        if one_way.last_at is not None and self._now - one_way.last_at <= ONE_WAY_FRESH:
            return one_way
        return self._rtt

    def on_ack(self, acked: int, now: float, cwnd_limited: bool = True) -> None:
        """Slow start doubles only a window that is used (RFC 7661; Linux's rule too): the
        channel's pacer follows the smallest window once per sweep, so for a sweep's time a
        window that losses do not cut could otherwise double past anything sent, and then empty
        into the path at once. Congestion avoidance grows as NewReno's, used or not: a receiver
        whose round trip is shorter than the channel's keeps less than half its window in flight
        at the pacer's rate, and would never grow."""
        super().on_ack(acked, now, cwnd_limited=cwnd_limited or not self.in_slow_start)

    def on_rtt_sample(self, rtt: float, now: float) -> None:
        self._now = now
        self._rtt.add(rtt, now)

    def on_delay_sample(self, sample: int, now: float) -> None:
        self._now = now
        base = self._rtt.base
        self._one_way.add_one_way(sample, now, None if base is None else base / 2)

    def on_congestion_event(self, now: float) -> None:
        self._now = now
        self._ignored = not self.queueing
        if not self._ignored:
            super().on_congestion_event(now)

    def on_retransmission_timeout(self, now: float, *, repeated: bool = False) -> None:
        self._now = now
        self._ignored = False
        if self.queueing:
            super().on_retransmission_timeout(now, repeated=repeated)
        else:
            super().on_congestion_event(now)


ControllerFactory = Callable[[int, int, int], CongestionController]

CONTROLLERS: dict[str, ControllerFactory] = {
    NewReno.name: NewReno,
    FixedWindow.name: FixedWindow,
    LossFilter.name: LossFilter,
}


def register_controller(name: str, factory: ControllerFactory) -> None:
    """Make ``factory(mss, initial_window, max_window)`` available under ``name``."""
    CONTROLLERS[name] = factory


def make_controller(name: str, mss: int, max_window: int) -> CongestionController:
    """Build the registered controller ``name`` with the RFC 6928 initial window."""
    return controller_factory(name)(mss, INITIAL_WINDOW_SEGMENTS * mss, max_window)


def controller_factory(name: str) -> ControllerFactory:
    """The factory registered as ``name``; a ConfigError that lists the known names otherwise."""
    try:
        return CONTROLLERS[name]
    except KeyError:
        known = ", ".join(sorted(CONTROLLERS))
        raise ConfigError(f"unknown congestion controller {name!r}; known: {known}") from None
