"""The channel's periodic sweep: everything that needs a look at all receivers at once.

Per-ACK work must not grow with the number of receivers, so the decisions that compare a
receiver with the others run here, every ``sweep_interval`` seconds, in O(N log N):

* the channel RTT under the RTT policy (max or percentile);
* policy G's channel cwnd (reported, and under "essentially fair" applied to every receiver);
* dis-association: excessive RTT, cwnd below its floor for too long, fallen out of the buffer;
* non-strict window policies: receivers behind the window edge, or whose shut window holds
  back waiting data, stop pacing the channel.
"""

from __future__ import annotations

import statistics
from typing import TYPE_CHECKING

from smocast.smo.events import DropReason

if TYPE_CHECKING:
    from smocast.smo.channel import Channel
    from smocast.smo.child import Child

CWND_AVERAGE_GAIN = 1 / 8  # EWMA gain of each child's average cwnd (fair policy)


def sweep(channel: Channel, now: float) -> None:
    """Run one sweep over ``channel``'s established receivers."""
    children = [c for c in channel._children.values() if c.established]
    if not children:
        return
    rtts = sorted(c.rtt.srtt for c in children if c.rtt.srtt is not None and not c.passive)
    channel.channel_rtt = channel.config.rtt_policy.pick(rtts) or channel.channel_rtt
    for child in children:
        child.cwnd_avg += CWND_AVERAGE_GAIN * (child.cc.cwnd - child.cwnd_avg)
    _apply_drop_rules(channel, children, rtts, now)
    if channel.config.window_policy.kind != "slowest":
        _mark_left_behind(channel, children)
    _update_channel_window(channel, [c for c in children if c.established and not c.passive])


def _apply_drop_rules(channel: Channel, children: list[Child], rtts: list[float], now: float) -> None:
    rules = channel.config.drop_rules
    _watch_closed_windows(channel, children, now)
    median_rtt = statistics.median(rtts) if len(rtts) >= 3 else None
    base = channel.buffer_base if not channel.has_history else -1  # with history nobody falls behind
    for child in children:
        reason = _violation(
            child, rules.rtt_factor, rules.rtt_floor, median_rtt, rules.cwnd_floor, rules.cwnd_floor_time, base, now
        )
        if reason is not None:
            channel._drop(child, reason[0], reason[1], now)


def _watch_closed_windows(channel: Channel, children: list[Child], now: float) -> None:
    """A receiver whose window stays shut while data waits holds the channel still: after the
    progress timeout it is dropped, as a receiver that acknowledges nothing would be.

    Heartbeats serve as window probes meanwhile: a receiver answers one with an ACK when
    its window changed since its last ACK. A receiver a non-strict policy left behind holds
    nothing back, so its shut window counts even when no data waits: a live stream goes on
    without it, and it is reset after the same timeout.
    """
    timeout = channel.config.drop_rules.progress_timeout
    mss = channel.config.mss
    waiting = channel.pending_bytes > 0
    for child in children:
        if (not waiting and not child.passive) or child.rwnd >= mss:
            child.zero_window_since = None
        elif child.zero_window_since is None:
            child.zero_window_since = now
        elif timeout is not None and now - child.zero_window_since >= timeout:
            channel._drop(child, DropReason.NO_PROGRESS, f"receive window shut for {timeout:g} s", now)


def _violation(
    child: Child,
    rtt_factor: float | None,
    rtt_floor: float,
    median_rtt: float | None,
    cwnd_floor: int | None,
    cwnd_floor_time: float,
    base: int,
    now: float,
) -> tuple[DropReason, str] | None:
    """The first dis-association rule ``child`` breaks, with a human detail, or None."""
    if child.una < base:
        return DropReason.FELL_BEHIND, f"acked {child.una}, the buffer now starts at {base}"
    srtt = child.rtt.srtt
    if (
        rtt_factor is not None
        and median_rtt is not None
        and srtt is not None
        and srtt > rtt_floor
        and srtt > rtt_factor * median_rtt
    ):
        return DropReason.RTT_EXCESSIVE, f"SRTT {srtt * 1e3:.1f} ms > {rtt_factor:g} x median {median_rtt * 1e3:.1f} ms"
    if cwnd_floor is not None:
        if child.cc.cwnd >= cwnd_floor:
            child.below_floor_since = None
        elif child.below_floor_since is None:
            child.below_floor_since = now
        elif now - child.below_floor_since >= cwnd_floor_time:
            return DropReason.CWND_FLOOR, f"cwnd {child.cc.cwnd} B < {cwnd_floor} B for {cwnd_floor_time:g} s"
    return None


def _update_channel_window(channel: Channel, pacing: list[Child]) -> None:
    """Refresh policy G's channel cwnd; under ``fair`` it is also each receiver's window."""
    if not pacing:
        return
    policy = channel.config.cwnd_policy
    if policy.kind != "fair":
        channel.channel_cwnd = min(c.cc.cwnd for c in pacing)
        return
    median = statistics.median(c.cc.cwnd for c in pacing)
    smallest_average = min(c.cwnd_avg for c in pacing)
    window = max(channel.config.mss, int(policy.fair_window(median, smallest_average)))
    if window != channel.channel_cwnd:
        channel.channel_cwnd = window
        for child in pacing:
            channel._sync_edge(child)


def _mark_left_behind(channel: Channel, children: list[Child]) -> None:
    """Receivers behind the window edge stop pacing the channel; so does one whose shut
    receive window holds back waiting data (its application stopped reading)."""
    edge = channel.window_edge
    blocking = channel.pending_bytes > 0
    mss = channel.config.mss
    for child in children:
        if not child.passive and (child.una < edge or (blocking and child.rwnd < mss)):
            channel._leave_pacing(child)
