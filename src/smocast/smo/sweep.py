"""The channel's periodic look at all receivers at once: policies that compare one with the others.

Per-ACK work must not grow with the number of receivers, so every decision that needs the
whole audience runs here, every ``sweep_interval`` seconds, in O(N log N):

* the channel RTT under the RTT policy (max or percentile);
* policy G's channel cwnd (reported, and under "essentially fair" applied to every receiver);
* dis-association: a receive window shut too long, excessive RTT, cwnd below its floor for
  too long, fallen out of the buffer;
* non-strict window policies: receivers behind the window edge, or whose shut window holds
  back waiting data, stop pacing the channel.

The :class:`Sweeper` owns what it observes over time (each receiver's average cwnd and since
when it breaks a rule) and returns decisions; the channel applies them, in the order its
``_on_sweep`` asks for them, and tells the sweeper when a receiver is gone.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable

from smocast.smo.child import Child
from smocast.smo.config import ChannelConfig
from smocast.smo.events import DropReason

CWND_AVERAGE_GAIN = 1 / 8  # EWMA gain of each child's average cwnd (fair policy)

Drop = tuple[Child, DropReason, str]
"""A receiver to dis-associate, the reason, and a detail for people."""


class Sweeper:
    """The channel's periodic policies over its established receivers."""

    def __init__(self, config: ChannelConfig) -> None:
        self._config = config
        self._cwnd_average: dict[int, float] = {}
        self._below_floor_since: dict[int, float] = {}
        self._window_shut_since: dict[int, float] = {}

    def track(self, child: Child) -> None:
        """A new receiver: its average cwnd starts at its initial window."""
        self._cwnd_average[child.index] = float(child.cc.cwnd)

    def forget(self, child: Child) -> None:
        """The receiver is gone: drop what was observed of it."""
        index = child.index
        self._cwnd_average.pop(index, None)
        self._below_floor_since.pop(index, None)
        self._window_shut_since.pop(index, None)

    def channel_rtt(self, pacing: list[Child]) -> float | None:
        """The channel RTT from the pacing receivers' SRTTs (None before any sample)."""
        return self._config.rtt_policy.pick(self.sorted_rtts(pacing))

    @staticmethod
    def sorted_rtts(children: list[Child]) -> list[float]:
        return sorted(c.rtt.srtt for c in children if c.rtt.srtt is not None)

    def observe_windows(self, children: list[Child]) -> None:
        """Move each receiver's average cwnd toward its cwnd now."""
        averages = self._cwnd_average
        for child in children:
            average = averages[child.index]
            averages[child.index] = average + CWND_AVERAGE_GAIN * (child.cc.cwnd - average)

    def shut_windows(
        self, children: list[Child], is_pacing: Callable[[Child], bool], data_waiting: bool, now: float
    ) -> list[Drop]:
        """Receivers whose window stayed shut for the progress timeout while it mattered.

        A receiver whose window stays shut while data waits holds the channel still, as one
        that acknowledges nothing would. Heartbeats serve as window probes meanwhile: a
        receiver answers one with an ACK when its window changed since its last ACK. A
        receiver a non-strict policy left behind holds nothing back, so its shut window counts
        even when no data waits: a live stream goes on without it, reset after the same time.
        """
        timeout = self._config.drop_rules.progress_timeout
        mss = self._config.mss
        since = self._window_shut_since
        drops: list[Drop] = []
        for child in children:
            if (not data_waiting and is_pacing(child)) or child.rwnd >= mss:
                since.pop(child.index, None)
            elif child.index not in since:
                since[child.index] = now
            elif timeout is not None and now - since[child.index] >= timeout:
                drops.append((child, DropReason.NO_PROGRESS, f"receive window shut for {timeout:g} s"))
        return drops

    def rule_violations(self, children: list[Child], rtts: list[float], base: int, now: float) -> list[Drop]:
        """Receivers that break a dis-association rule; ``base`` is the oldest byte still held
        (-1 when a history serves any offset, so nobody falls behind)."""
        median_rtt = statistics.median(rtts) if len(rtts) >= 3 else None
        drops: list[Drop] = []
        for child in children:
            if child.closed:
                continue  # dropped by an earlier step of this sweep
            violation = self._violation(child, median_rtt, base, now)
            if violation is not None:
                drops.append((child, *violation))
        return drops

    def _violation(
        self, child: Child, median_rtt: float | None, base: int, now: float
    ) -> tuple[DropReason, str] | None:
        """The first dis-association rule ``child`` breaks, with a human detail, or None."""
        rules = self._config.drop_rules
        if child.una < base:
            return DropReason.FELL_BEHIND, f"acked {child.una}, the buffer now starts at {base}"
        srtt = child.rtt.srtt
        factor = rules.rtt_factor
        if (
            factor is not None
            and median_rtt is not None
            and srtt is not None
            and srtt > rules.rtt_floor
            and srtt > factor * median_rtt
        ):
            return DropReason.RTT_EXCESSIVE, f"SRTT {srtt * 1e3:.1f} ms > {factor:g} x median {median_rtt * 1e3:.1f} ms"
        floor = rules.cwnd_floor
        if floor is not None:
            cwnd = child.cc.cwnd
            since = self._below_floor_since
            if cwnd >= floor:
                since.pop(child.index, None)
            elif child.index not in since:
                since[child.index] = now
            elif now - since[child.index] >= rules.cwnd_floor_time:
                return DropReason.CWND_FLOOR, f"cwnd {cwnd} B < {floor} B for {rules.cwnd_floor_time:g} s"
        return None

    @staticmethod
    def left_behind(children: list[Child], edge: int, data_waiting: bool, mss: int) -> list[Child]:
        """Pacing receivers that should stop pacing: behind the window edge, or with a shut
        receive window while data waits (their application stopped reading)."""
        return [c for c in children if c.una < edge or (data_waiting and c.rwnd < mss)]

    def channel_window(self, pacing: list[Child], current: int) -> int:
        """Policy G's channel cwnd; under ``fair`` it is also each pacing receiver's window."""
        if not pacing:
            return current
        policy = self._config.cwnd_policy
        if policy.kind != "fair":
            return min(c.cc.cwnd for c in pacing)
        median = statistics.median(c.cc.cwnd for c in pacing)
        smallest_average = min(self._cwnd_average[c.index] for c in pacing)
        return max(self._config.mss, int(policy.fair_window(median, smallest_average)))
