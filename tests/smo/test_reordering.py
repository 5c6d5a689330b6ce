"""A path that reorders is not a lossy path (RFC 8985): once a receiver's path has shown
reordering, the rules that count data above a hole no longer repair what is still on its way.

The receiver echoes the timestamp of the segment that filled its first hole (RFC 7323), and the
source stamps every transmission, so the source knows whether the original or a repair filled
it: the original means reordering, and a repair of it was needless.
"""

from __future__ import annotations

import random

import pytest
from tests.fakenet import FakeNet, Terrible

from smocast.core.congestion import NewReno, controller_factory
from smocast.core.ranges import RangeSet
from smocast.core.rtt import RttEstimator
from smocast.core.timestamps import timestamp
from smocast.smo import events as ev
from smocast.smo.config import ChannelConfig
from smocast.smo.loss import lost_segments, reorder_wait
from smocast.smo.reordering import REORDER_PERSIST, Reordering
from smocast.smo.sendbuf import SendBuffer
from smocast.smo.source_events import ReceiverInfo

MSS = 1000


class _Path:
    """What loss detection reads of a receiver's sender."""

    def __init__(self) -> None:
        self.rtt = RttEstimator()
        self.rtt.on_sample(0.002)
        self.sacked = RangeSet()
        self.una = 0
        self.dupacks = 0
        self.rto_lost_upto = 0
        self.retransmitted: dict[int, float] = {}
        self.reordering = Reordering()


def _sent(segments: int, at: float = 1.0) -> SendBuffer:
    buf = SendBuffer(MSS)
    buf.write(bytes(segments * MSS))
    for i in range(segments):
        buf.take(at + i * 0.0001, 1, 1)
    return buf


# --- what the source learns from the echo --------------------------------------------------------


def test_the_original_filling_the_hole_shows_reordering() -> None:
    path, buf = _Path(), _sent(4)
    segment = buf.segment_at(0)
    assert segment is not None
    path.reordering.hole_filled(path, segment, timestamp(segment.sent_at), now=1.01)
    assert path.reordering.seen and path.reordering.steps == 0  # nothing was repaired needlessly


def test_a_repair_filling_the_hole_shows_nothing() -> None:
    path, buf = _Path(), _sent(4)
    segment = buf.segment_at(0)
    assert segment is not None
    path.retransmitted[0] = 1.005
    path.reordering.hole_filled(path, segment, timestamp(1.005), now=1.01)
    assert not path.reordering.seen and path.reordering.steps == 0


def test_a_needless_repair_widens_the_window_once_per_round_trip() -> None:
    path, buf = _Path(), _sent(4)
    first, second = buf.segment_at(0), buf.segment_at(MSS)
    assert first is not None and second is not None
    path.retransmitted[0] = path.retransmitted[MSS] = 1.004
    narrow = reorder_wait(path)
    path.reordering.hole_filled(path, first, timestamp(first.sent_at), now=1.010)
    assert path.reordering.seen and path.reordering.steps == 1
    path.reordering.hole_filled(path, second, timestamp(second.sent_at), now=1.0105)  # within the SRTT
    assert path.reordering.steps == 1
    path.reordering.hole_filled(path, second, timestamp(second.sent_at), now=1.02)
    assert path.reordering.steps == 2
    assert reorder_wait(path) > narrow


def test_a_multicast_repair_counts_as_a_repair() -> None:
    path, buf = _Path(), _sent(2)
    segment = buf.segment_at(0)
    assert segment is not None
    buf.note_multicast_repair(segment, 1.004)
    path.reordering.hole_filled(path, segment, timestamp(segment.sent_at), now=1.01)
    assert path.reordering.steps == 1


def test_the_window_narrows_again_after_recoveries_without_a_needless_repair() -> None:
    reordering = Reordering()
    reordering.steps, reordering.late = 3, 0.02
    for _ in range(REORDER_PERSIST - 1):
        reordering.recovery_began(10_000, 20_000, 0, 0)
    assert (reordering.steps, reordering.late) == (3, 0.02)
    reordering.recovery_began(10_000, 20_000, 0, 0)
    assert (reordering.steps, reordering.late) == (0, 0.0)


def test_after_a_needless_repair_a_segment_counts_as_lost_only_after_as_long_as_that_original_took() -> None:
    """A path that sends some datagrams the slow way, many round trips late (a slower parallel
    link): the window of a quarter RTT cannot cover them, what the late original took does."""
    path, buf = _Path(), _sent(5)
    segment = buf.segment_at(0)
    assert segment is not None
    path.reordering.hole_filled(path, segment, timestamp(segment.sent_at), now=1.001)  # late, not repaired
    assert path.reordering.seen and path.reordering.late == 0.0
    short = reorder_wait(path)
    path.retransmitted[0] = 1.004
    path.reordering.hole_filled(path, segment, timestamp(segment.sent_at), now=1.012)  # 12 ms, repaired needlessly
    assert path.reordering.late == pytest.approx(0.012)
    assert short < 0.012 < reorder_wait(path) <= path.rtt.rto


def test_the_wait_never_exceeds_the_retransmission_timeout() -> None:
    path = _Path()
    path.reordering.seen, path.reordering.late = True, 10.0
    assert reorder_wait(path) == path.rtt.rto


# --- what loss detection does with it ----------------------------------------------------------


def _hole_with_three_above(path: _Path) -> SendBuffer:
    buf = _sent(5)
    path.sacked.add(MSS, 4 * MSS)  # segments 1-3 arrived, segment 0 did not (yet)
    return buf


def test_three_segments_above_a_hole_make_it_lost_on_a_path_that_never_reordered() -> None:
    path = _Path()
    buf = _hole_with_three_above(path)
    lost, _ = lost_segments(path, buf, now=1.0005, budget=10 * MSS)
    assert [s.start for s in lost] == [0]


def test_after_reordering_only_time_makes_a_segment_lost() -> None:
    path = _Path()
    buf = _hole_with_three_above(path)
    path.reordering.seen = True
    path.dupacks = 3
    lost, recheck = lost_segments(path, buf, now=1.0005, budget=10 * MSS)
    assert lost == [] and recheck == pytest.approx(1.0 + reorder_wait(path))
    lost, _ = lost_segments(path, buf, now=1.0 + reorder_wait(path), budget=10 * MSS)
    assert [s.start for s in lost] == [0]


def test_after_reordering_the_wait_covers_the_queue_of_now() -> None:
    path = _Path()
    path.rtt.on_sample(0.030)  # a standing queue: the latest sample is far above the minimum
    calm = reorder_wait(path)
    path.reordering.seen = True
    assert reorder_wait(path) > 0.030 > calm


def test_after_reordering_one_quick_sample_does_not_shorten_the_wait_below_the_smoothed_rtt() -> None:
    path = _Path()
    for sample in (0.010,) * 8 + (0.002,):  # a jittery path; the latest sample is its quickest
        path.rtt.on_sample(sample)
    path.reordering.seen = True
    assert path.rtt.latest == 0.002 and path.rtt.srtt is not None
    assert reorder_wait(path) > path.rtt.srtt


# --- end to end ------------------------------------------------------------------------------------


def _transfer(congestion: str, jitter: float, drop: float = 0.0, seed: int = 1) -> list[ReceiverInfo]:
    """240 segments to three receivers over a path that delays each datagram by up to ``jitter``."""
    config = ChannelConfig(min_receivers=3, congestion_control=congestion, pacing=False)
    net = FakeNet(config, 3, seed=seed, net=Terrible(drop=drop, delay=0.001, jitter=jitter))
    data = random.Random(seed).randbytes(240 * 1400)
    net.channel.write(data)
    net.channel.close()
    net.run(until=60.0, stop=net.finished)
    assert net.finished() and all(bytes(p.data) == data for p in net.peers)
    infos = [e.info for e in net.source_events if isinstance(e, ev.ReceiverCompleted)]
    assert len(infos) == 3
    return infos


@pytest.mark.parametrize("congestion", ["newreno", "lossfilter"])
@pytest.mark.parametrize("jitter", [0.0005, 0.002])
def test_a_path_that_reorders_but_loses_nothing_gets_almost_no_repairs(congestion: str, jitter: float) -> None:
    """Before the source learned reordering: 14-60 repairs and 12-53 window cuts with NewReno,
    about 350 repairs with the loss filter, for 720 segments delivered."""
    infos = _transfer(congestion, jitter)
    assert all(i.reordering for i in infos)  # what `send --json` reports per receiver
    repairs = sum(i.repairs_unicast + i.repairs_multicast for i in infos)
    assert repairs <= 3 * len(infos)  # the first reordering each path shows may cost a repair
    assert sum(i.window_cuts for i in infos) <= 3 * len(infos)


def test_losses_on_a_path_that_reorders_are_still_repaired() -> None:
    infos = _transfer("lossfilter", 0.0005, drop=0.03, seed=2)  # the transfer checks every byte
    assert sum(i.repairs_unicast + i.repairs_multicast for i in infos) > 0


def test_a_lossy_path_that_keeps_the_order_is_not_taken_for_one_that_reorders() -> None:
    infos = _transfer("newreno", 0.0, drop=0.03, seed=2)  # repairs fill the holes, never originals
    assert sum(i.repairs_unicast + i.repairs_multicast for i in infos) > 0
    assert not any(i.reordering for i in infos)


# --- a needless recovery gives its window back ----------------------------------------------------


def _recovery(path: _Path) -> None:
    """A recovery began over segments 0-3 (sent at 1.0 to 1.0003) with cwnd 100,000 and
    ssthresh 1,000,000; segment 0 was repaired at 1.004."""
    path.reordering.recovery_began(100_000, 1_000_000, 0, 4 * MSS)
    path.retransmitted[0] = 1.004
    path.reordering.repaired(1.004)


def test_a_recovery_ended_by_an_ack_that_echoes_an_original_is_undone() -> None:
    """RFC 3522: the ACK answers a transmission older than the first repair, so originals
    filled the holes and the repairs were needless; RFC 4015: the window comes back."""
    path, buf = _Path(), _sent(4)
    _recovery(path)
    segment = buf.segment_at(0)
    assert segment is not None
    path.reordering.hole_filled(path, segment, timestamp(segment.sent_at), now=1.006)  # its original, late
    assert path.reordering.recovery_ended(timestamp(1.0003)) == (100_000, 1_000_000)
    assert path.reordering.recovery_ended(timestamp(1.0003)) is None  # given back once


def test_an_older_echo_alone_does_not_undo_a_recovery() -> None:
    """A hole filled by a repair to the group, sent for other receivers before this one's own
    first repair, echoes an older transmission too: only a recovery with a repair shown
    needless is undone."""
    path = _Path()
    _recovery(path)
    assert path.reordering.recovery_ended(timestamp(1.002)) is None


def test_a_recovery_ended_by_an_ack_that_echoes_a_repair_keeps_its_cut() -> None:
    path = _Path()
    _recovery(path)
    assert path.reordering.recovery_ended(timestamp(1.004)) is None  # the repair filled the last hole


def test_a_recovery_without_repairs_or_after_a_timeout_or_without_an_echo_is_not_undone() -> None:
    path = _Path()
    path.reordering.recovery_began(100_000, 1_000_000, 0, 4 * MSS)
    assert path.reordering.recovery_ended(timestamp(1.0)) is None  # nothing was repaired
    _recovery(path)
    path.reordering.timed_out()
    assert path.reordering.recovery_ended(timestamp(1.0)) is None
    _recovery(path)
    assert path.reordering.recovery_ended(0) is None  # the receiver echoes nothing


def test_a_d_sack_shows_a_late_original_that_came_after_its_repair() -> None:
    """The repair filled the hole first, so its echo shows nothing; the original, arriving
    after, is reported twice (RFC 2883), and the path is known to reorder from it."""
    path, buf = _Path(), _sent(4)
    _recovery(path)
    segment = buf.segment_at(0)
    assert segment is not None
    path.reordering.hole_filled(path, segment, timestamp(1.004), now=1.006)  # its repair came first
    assert not path.reordering.seen
    path.reordering.dsack(path, 0, segment, now=1.012)
    assert path.reordering.seen and path.reordering.steps == 1
    assert path.reordering.late == pytest.approx(1.012 - segment.sent_at)


def test_a_duplicate_no_recovery_repaired_is_not_taken_for_reordering() -> None:
    """The network may deliver a datagram twice; only a duplicate within a recovery that
    repaired something counts."""
    path, buf = _Path(), _sent(8)
    path.reordering.dsack(path, 0, buf.segment_at(0), now=1.01)
    assert not path.reordering.seen and path.reordering.late == 0.0
    _recovery(path)
    path.reordering.dsack(path, 6 * MSS, buf.segment_at(6 * MSS), now=1.01)  # beyond what it repaired
    assert not path.reordering.seen


@pytest.mark.parametrize("name", ["newreno", "lossfilter"])
def test_undo_restores_the_window_and_threshold_a_recovery_cut(name: str) -> None:
    cc = controller_factory(name)(1000, 10_000, 1_000_000)
    cc.cwnd, cc.ssthresh = 200_000, 1_000_000
    before = (cc.cwnd, cc.ssthresh)
    NewReno.on_congestion_event(cc, 0.0)  # the cut itself, whatever the loss filter would judge
    assert cc.cwnd < before[0]
    assert cc.undo(*before) is True
    assert (cc.cwnd, cc.ssthresh) == before
    assert cc.undo(*before) is False  # nothing left to give back


def test_end_to_end_newreno_gives_back_the_cuts_of_needless_recoveries() -> None:
    """Over a path that reorders and loses nothing, the recoveries NewReno still enters (a
    late original each receiver repairs before it learns the path) are undone."""
    infos = _transfer("newreno", 0.002)
    assert sum(i.loss_episodes for i in infos) > 0
    assert sum(i.window_cuts for i in infos) < sum(i.loss_episodes for i in infos)
