"""The channel's periodic look at all receivers at once: policies that compare one with the others.

Per-ACK work must not grow with the number of receivers, so every decision that needs the
whole audience runs here, every ``sweep_interval`` seconds, in O(N log N):

* the channel RTT under the RTT policy (max or percentile);
* policy G's channel cwnd (reported, and under "essentially fair" applied to every receiver);
* dis-association: a receive window shut too long, excessive RTT, cwnd below its floor for
  too long, fallen out of the buffer;
* progress as a rate (:mod:`smocast.smo.progress`): a receiver far slower than the channel
  is dropped under ``slowest`` and stops pacing under ``quorum`` and ``buffer``;
* non-strict window policies: receivers behind the window edge, or whose shut window holds
  back waiting data, stop pacing the channel.

The :class:`Sweeper` owns what it observes over time (each receiver's average cwnd and since
when it breaks a rule) and returns decisions; the channel's periodic work
(:class:`~smocast.smo.periodic.Periodic`) applies them in the order it gives them, and the
channel's closing tells the sweeper when a receiver is gone.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterator
from typing import NamedTuple

from smocast.smo.child import Child
from smocast.smo.config import ChannelConfig
from smocast.smo.drop_reason import DropReason
from smocast.smo.membership import Membership
from smocast.smo.progress import RateWatch
from smocast.smo.sendbuf import SendBuffer

CWND_AVERAGE_GAIN = 1 / 8  # EWMA gain of each child's average cwnd (fair policy)

Drop = tuple[Child, DropReason, str]
"""A receiver to dis-associate, the reason, and a detail for people."""


class Dissociate(NamedTuple):
    """Reset and remove ``child``."""

    child: Child
    reason: DropReason
    detail: str


class StopPacing(NamedTuple):
    """``child`` no longer paces the channel (it is still repaired)."""

    child: Child


class ChannelWindow(NamedTuple):
    """The sweep's result: the channel RTT and policy G's cwnd (under ``fair``, every pacing receiver's)."""

    rtt: float | None
    cwnd: int


Decision = Dissociate | StopPacing | ChannelWindow


class Sweeper:
    """The channel's periodic policies over its established receivers."""

    def __init__(self, config: ChannelConfig, members: Membership, buffer: SendBuffer, has_history: bool) -> None:
        """``members`` and ``buffer`` are the channel's; the sweeper only reads them."""
        self._config = config
        self._members = members
        self._buf = buffer
        self._has_history = has_history
        self._cwnd_average: dict[int, float] = {}
        self._below_floor_since: dict[int, float] = {}
        self._window_shut_since: dict[int, float] = {}
        rules = config.drop_rules
        self.rates = RateWatch(rules.progress_timeout, rules.min_rate_fraction)

    def track(self, child: Child, now: float) -> None:
        """A new receiver: its average cwnd starts at its initial window, its rate is measured from now."""
        self._cwnd_average[child.index] = float(child.cc.cwnd)
        self.rates.track(child, now)

    def forget(self, child: Child) -> None:
        """The receiver is gone: drop what was observed of it."""
        index = child.index
        self._cwnd_average.pop(index, None)
        self._below_floor_since.pop(index, None)
        self._window_shut_since.pop(index, None)
        self.rates.forget(child)

    def run(self, rtt: float | None, cwnd: int, now: float) -> Iterator[Decision]:
        """One sweep from the channel RTT ``rtt`` and cwnd ``cwnd``: yield decisions in order.

        The channel must apply each decision before asking for the next (a later step sees the
        window edge that earlier drops moved); the last one is the :class:`ChannelWindow`.
        """
        members, buf = self._members, self._buf
        children = [c for c in members if c.established]
        if not children:
            yield ChannelWindow(rtt, cwnd)
            return
        rtts = sorted(c.rtt.srtt for c in children if c.rtt.srtt is not None and members.is_pacing(c))
        rtt = self._config.rtt_policy.pick(rtts) or rtt
        self._observe_windows(children)
        for drop in self._shut_windows(children, buf.pending > 0, now):
            yield Dissociate(*drop)
        base = buf.base if not self._has_history else -1  # with history nobody falls behind
        for drop in self._rule_violations(children, rtts, base, now):
            yield Dissociate(*drop)
        self.rates.sample(self._blocking(children), now)
        yield from self._too_slow(children, now)
        if self._config.window_policy.kind != "slowest":
            pacing = [c for c in children if members.is_pacing(c)]
            for child in self._left_behind(pacing, buf.edge, buf.pending > 0, self._config.mss):
                yield StopPacing(child)
        pacing = [c for c in children if c.established and members.is_pacing(c)]
        yield ChannelWindow(rtt, self._channel_window(pacing, cwnd))

    def _blocking(self, children: list[Child]) -> list[Child]:
        """The receivers whose window keeps the next new segment from going out now."""
        buf, members = self._buf, self._members
        if not buf.pending:
            return []
        next_end = buf.snd_nxt + buf.next_length()
        held_at_edge = self._config.window_policy.kind == "slowest" and next_end - buf.edge > self._config.max_window
        blocking = []
        for child in children:
            edge = members.pacing.value_of.get(child.index)
            if (edge is not None and edge < next_end) or (held_at_edge and child.una <= buf.edge):
                blocking.append(child)
        return blocking

    def _too_slow(self, children: list[Child], now: float) -> Iterator[Decision]:
        """Receivers far slower than the channel: dropped under ``slowest``, else passed."""
        slowest = self._config.window_policy.kind == "slowest"
        fraction = self._config.drop_rules.min_rate_fraction or 0.0
        for slow in self.rates.run([c for c in children if not c.closed], self._members.is_pacing, now):
            if slowest:
                yield Dissociate(slow.child, DropReason.TOO_SLOW, slow.detail(fraction))
            else:
                yield StopPacing(slow.child)

    def _observe_windows(self, children: list[Child]) -> None:
        """Move each receiver's average cwnd toward its cwnd now."""
        averages = self._cwnd_average
        for child in children:
            average = averages[child.index]
            averages[child.index] = average + CWND_AVERAGE_GAIN * (child.cc.cwnd - average)

    def _shut_windows(self, children: list[Child], data_waiting: bool, now: float) -> list[Drop]:
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
        is_pacing = self._members.is_pacing
        drops: list[Drop] = []
        for child in children:
            if (not data_waiting and is_pacing(child)) or child.rwnd >= mss:
                since.pop(child.index, None)
            elif child.index not in since:
                since[child.index] = now
            elif timeout is not None and now - since[child.index] >= timeout:
                drops.append((child, DropReason.NO_PROGRESS, f"receive window shut for {timeout:g} s"))
        return drops

    def _rule_violations(self, children: list[Child], rtts: list[float], base: int, now: float) -> list[Drop]:
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
    def _left_behind(children: list[Child], edge: int, data_waiting: bool, mss: int) -> list[Child]:
        """Pacing receivers that should stop pacing: behind the window edge, or with a shut
        receive window while data waits (their application stopped reading)."""
        return [c for c in children if c.una < edge or (data_waiting and c.rwnd < mss)]

    def _channel_window(self, pacing: list[Child], current: int) -> int:
        """Policy G's channel cwnd; under ``fair`` it is also each pacing receiver's window."""
        if not pacing:
            return current
        policy = self._config.cwnd_policy
        if policy.kind != "fair":
            return min(c.cc.cwnd for c in pacing)
        median = statistics.median(c.cc.cwnd for c in pacing)
        smallest_average = min(self._cwnd_average[c.index] for c in pacing)
        return max(self._config.mss, int(policy.fair_window(median, smallest_average)))
