"""Progress is a rate: which receivers are too slow for the channel.

A receiver that acknowledges one byte every few seconds is alive, and under the window
policy ``slowest`` it holds every other receiver back for ever. So each receiver's progress
is measured as a rate over the progress window (the channel's ``progress_timeout``): the
bytes it acknowledged over its *busy* time, the time it had data outstanding or held new
data back with its own window (a slow reader acknowledges at once but opens its window
rarely). A receiver with everything acknowledged and its window open waits for the source;
that is not slowness, so a fast receiver held back by a slow one still shows its own rate.
The time with data outstanding is exact (a child records when it parks and resumes); the
time spent holding data back is sampled at each sweep.

The channel's rate is the median of the pacing receivers' rates. A receiver busy for at
least half of each window whose rate stays below ``min_rate_fraction`` of the channel's for
:data:`SLOW_WINDOWS` windows in a row is slow, and the window policy decides what follows
(the sweep drops it under ``slowest``, and under ``quorum`` and ``buffer`` it stops
pacing). One window is not enough: a live receiver on a lossy path can lose every repair
for ten seconds (20% bursty loss does, now and then), and that is bad luck, not slowness.
When fewer than two pacing receivers could be measured (the others waited for the source
the whole window), the channel's rate of the last window that measured it stands.

Work: one snapshot per receiver and one median per window, in the sweep (O(N log N) every
``progress_timeout``); per ACK nothing but the child's record of when it parks and resumes.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable
from typing import NamedTuple

from smocast.core.units import format_rate
from smocast.smo.child import Child, ChildState

BUSY_SHARE = 0.5  # a receiver is judged only if it had data outstanding this much of the window
SLOW_WINDOWS = 3  # windows in a row below the fraction before a receiver is slow
MIN_BUSY = 0.001  # seconds; a receiver busy for less has no rate (it waited for the source)


class Slow(NamedTuple):
    """``child`` acknowledged ``rate`` bytes/s while busy in the last of ``windows`` windows of
    ``window`` seconds, all below the rule; the channel's rate was ``channel_rate``."""

    child: Child
    rate: float
    channel_rate: float
    window: float
    windows: int

    def detail(self, fraction: float) -> str:
        """Why, for people: both rates (of the last window) and the rule."""
        return (
            f"acknowledged {format_rate(self.rate * 8)} while data waited, below {fraction:g} x "
            f"the channel's {format_rate(self.channel_rate * 8)}, "
            f"in {self.windows} windows of {self.window:g} s in a row"
        )


class RateWatch:
    """Each receiver's rate over the progress window, and the channel's, measured in the sweep."""

    __slots__ = (
        "_below",
        "_blocked",
        "_fraction",
        "_last_sample",
        "_marks",
        "_slow",
        "_window",
        "_window_end",
        "channel_rate",
    )

    def __init__(self, window: float | None, fraction: float | None) -> None:
        """``window`` is the progress timeout and ``fraction`` the rule's; either None turns it off."""
        self._window = window
        self._fraction = fraction
        self._marks: dict[int, tuple[int, float, float]] = {}  # index -> (una, idle time, when) at its start
        self._window_end: float | None = None
        self._blocked: dict[int, float] = {}  # index -> seconds it held new data back while parked
        self._last_sample: float | None = None
        self._below: dict[int, int] = {}  # index -> windows in a row below the fraction
        self._slow: set[int] = set()
        self.channel_rate: float | None = None  # bytes/s, as last measured

    def track(self, child: Child, now: float) -> None:
        """A receiver joined: measure it from now."""
        if self._window is None:
            return
        self._marks[child.index] = (child.una, child.idle_time(now), now)
        if self._window_end is None:
            self._window_end = now + self._window

    def forget(self, child: Child) -> None:
        """The receiver is gone."""
        self._marks.pop(child.index, None)
        self._blocked.pop(child.index, None)
        self._below.pop(child.index, None)
        self._slow.discard(child.index)

    def is_slow(self, child: Child) -> bool:
        """True while ``child`` was last judged slow: it must not pace the channel again."""
        return child.index in self._slow

    def caught_up(self, child: Child) -> None:
        """``child`` acknowledged everything sent: whatever it was, it is not slow now."""
        self._slow.discard(child.index)

    def sample(self, blocking: Iterable[Child], now: float) -> None:
        """A sweep: ``blocking`` are the receivers whose window holds new data back now."""
        last, self._last_sample = self._last_sample, now
        if last is None or self._window is None:
            return
        blocked = self._blocked
        for child in blocking:
            if child.idle_since is not None:  # parked: its outstanding time does not count it
                blocked[child.index] = blocked.get(child.index, 0.0) + now - last

    def run(self, children: Iterable[Child], is_pacing: Callable[[Child], bool], now: float) -> list[Slow]:
        """At the end of a window, the receivers found slow (none before); then a new window."""
        window, fraction, end = self._window, self._fraction, self._window_end
        if window is None or end is None or now < end:
            return []
        present = [c for c in children if c.state is ChildState.ESTABLISHED]
        measured: list[tuple[Child, float, float]] = []
        for child in present:
            seen = self._rate(child, now)
            if seen is not None:
                measured.append((child, *seen))
        pacing = [rate for child, rate, _ in measured if is_pacing(child)]
        if len(pacing) >= 2:
            self.channel_rate = statistics.median(pacing)
        slow: list[Slow] = []
        reference = self.channel_rate
        if fraction is not None and reference:
            for child, rate, busy in measured:
                if busy < BUSY_SHARE * window:
                    continue
                index = child.index
                if rate >= fraction * reference:
                    self._below.pop(index, None)
                    self._slow.discard(index)
                    continue
                below = self._below[index] = self._below.get(index, 0) + 1
                if below >= SLOW_WINDOWS:
                    self._slow.add(index)
                    slow.append(Slow(child, rate, reference, window, below))
        for child in present:
            self._marks[child.index] = (child.una, child.idle_time(now), now)
        self._blocked.clear()
        self._window_end = now + window
        return slow

    def _rate(self, child: Child, now: float) -> tuple[float, float] | None:
        """``(bytes/s while busy, busy seconds)`` since its window began; None if never busy."""
        mark = self._marks.get(child.index)
        if mark is None:
            return None
        una, idle, since = mark
        busy = (now - since) - (child.idle_time(now) - idle) + self._blocked.get(child.index, 0.0)
        if busy < MIN_BUSY:
            return None
        return (child.una - una) / busy, busy
