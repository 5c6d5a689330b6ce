"""Progress is a rate: a receiver far slower than the channel, alive or lossy."""

from __future__ import annotations

import random
from dataclasses import dataclass

import pytest
from tests.attacks.net import Net, Peer, sha256

from smocast.core.rtt import RttEstimator
from smocast.smo import ChannelConfig, DropReason, WindowPolicy
from smocast.smo import events as ev
from smocast.smo.child import Child, ChildState
from smocast.smo.config import DropRules
from smocast.smo.progress import SLOW_WINDOWS, RateWatch
from smocast.wire import PacketType, decode

DATA = random.Random(5).randbytes(3 << 20)
WINDOW = 10.0
DATA_TYPES = (PacketType.DATA, PacketType.REPAIR)


def run(policy: str, fraction: float | None, until: float = 60.0) -> tuple[Net, list[Peer], Peer]:
    """Three receivers on clean paths and one that loses 85% of the data sent to it (its
    path still carries the source's empty heartbeats, which it answers)."""
    rules = DropRules(min_rate_fraction=fraction)
    config = ChannelConfig(min_receivers=4, window_policy=WindowPolicy.parse(policy), drop_rules=rules)
    net = Net(config, seed=12)
    fast = [net.add_receiver() for _ in range(3)]
    slow = net.add_receiver()
    rng = random.Random(7)
    slow.drop = lambda data: len(data) > 100 and decode(data).type in DATA_TYPES and rng.random() < 0.85
    net.channel.write(DATA)
    net.channel.close()
    net.run(until=until, stop=lambda: all(p.ended_at is not None for p in fast))
    return net, fast, slow


@pytest.mark.parametrize("policy", ["slowest", "quorum:0.75", "buffer:8M"])
def test_a_receiver_far_slower_than_the_channel_does_not_hold_it_back(policy: str) -> None:
    net, fast, slow = run(policy, fraction=0.05)
    assert [p.sha256 for p in fast] == [sha256(DATA)] * 3
    assert max(p.ended_at or 0.0 for p in fast) < 3.5 * WINDOW
    dropped = [e for e in net.of(ev.ReceiverDropped) if e.address == slow.address]
    if policy == "slowest":
        (drop,) = dropped
        assert drop.reason is DropReason.TOO_SLOW, drop
        assert "while data waited, below 0.05 x the channel's" in drop.detail
        assert f"in {SLOW_WINDOWS} windows of 10 s in a row" in drop.detail
    else:
        assert dropped == []  # passed, not dropped: it goes on at its own pace


def test_without_the_rate_rule_a_lossy_receiver_holds_everyone_under_slowest() -> None:
    """The control: alive, it answers probes, so nothing else drops it, and the others wait."""
    net, fast, _ = run("slowest", fraction=None)
    assert all(p.ended_at is None for p in fast)
    assert not net.of(ev.ReceiverDropped)


def test_rate_rule_needs_a_fraction_in_0_1() -> None:
    with pytest.raises(ValueError, match="min_rate_fraction"):
        DropRules(min_rate_fraction=1.5)


def test_rto_back_off_stops_at_the_ceiling_but_never_lowers_the_rto() -> None:
    rtt = RttEstimator()
    rtt.update(0.1)
    rtos = []
    for _ in range(8):
        rtt.back_off(ceiling=2.5)
        rtos.append(rtt.rto)
    assert rtos[:4] == pytest.approx([0.6, 1.2, 2.4, 2.5]) and rtos[-1] == 2.5 and rtt.backoff > 1
    slow = RttEstimator()
    slow.update(2.0)  # an RTO already above the ceiling stays as it is
    before = slow.rto
    slow.back_off(ceiling=2.5)
    assert slow.rto == before


# --- the rate watch alone ------------------------------------------------------------------


@dataclass
class FakeChild:
    """What RateWatch reads of a child: its index, una, state and idle time."""

    index: int
    una: int = 0
    idle_since: float | None = None
    idle_total: float = 0.0
    state: ChildState = ChildState.ESTABLISHED

    def idle_time(self, now: float) -> float:
        return self.idle_total + (0.0 if self.idle_since is None else now - self.idle_since)


def watch(children: list[FakeChild], fraction: float = 0.05) -> RateWatch:
    rates = RateWatch(WINDOW, fraction)
    for child in children:
        rates.track(as_child(child), 0.0)
    return rates


def as_child(fake: FakeChild) -> Child:
    return fake  # type: ignore[return-value]


def judge(rates: RateWatch, children: list[FakeChild], now: float) -> list[int]:
    found = rates.run([as_child(c) for c in children], lambda c: True, now)
    return [slow.child.index for slow in found]


def test_a_busy_receiver_below_the_fraction_is_slow_after_three_windows_in_a_row() -> None:
    fast, trickler = FakeChild(1), FakeChild(2)
    rates = watch([fast, trickler])
    verdicts = []
    for k in range(1, SLOW_WINDOWS + 2):
        fast.una += 10_000_000  # 1 MB/s while busy
        trickler.una += 2  # 0.2 B/s, busy all along
        verdicts.append(judge(rates, [fast, trickler], k * WINDOW))
    assert verdicts == [[]] * (SLOW_WINDOWS - 1) + [[2], [2]]
    assert rates.is_slow(as_child(trickler)) and not rates.is_slow(as_child(fast))
    trickler.una += 9_000_000  # it recovered: no longer slow
    fast.una += 10_000_000
    assert judge(rates, [fast, trickler], (SLOW_WINDOWS + 2) * WINDOW) == []
    assert not rates.is_slow(as_child(trickler))


def test_a_good_window_starts_the_count_again() -> None:
    fast, lossy = FakeChild(1), FakeChild(2)
    rates = watch([fast, lossy])
    verdicts = []
    for k, got in enumerate([1, 1, 5_000_000, 1, 1], start=1):  # stuck, stuck, recovered, stuck, stuck
        fast.una += 10_000_000
        lossy.una += got
        verdicts.append(judge(rates, [fast, lossy], k * WINDOW))
    assert verdicts == [[]] * 5


def test_receivers_waiting_for_the_source_keep_the_last_channel_rate() -> None:
    """Held back by the trickler, the others have everything acknowledged: no rate of their
    own in later windows, so the rate measured while they were busy stands."""
    fast = [FakeChild(i) for i in (1, 2, 3)]
    trickler = FakeChild(4)
    rates = watch([*fast, trickler])
    for child in fast:
        child.una = 500_000
        child.idle_since = 0.5  # busy for half a second, then waiting
    trickler.una = 10
    assert judge(rates, [*fast, trickler], WINDOW) == []
    first = rates.channel_rate
    assert first == pytest.approx(1_000_000)
    for k in range(2, SLOW_WINDOWS + 1):
        trickler.una += 2
        found = judge(rates, [*fast, trickler], k * WINDOW)
    assert found == [4] and rates.channel_rate == first


def test_a_receiver_busy_less_than_half_the_window_is_not_judged() -> None:
    fast, brief = FakeChild(1), FakeChild(2)
    rates = watch([fast, brief])
    for k in range(1, SLOW_WINDOWS + 2):
        fast.una += 10_000_000
        brief.idle_since = (k - 1) * WINDOW + 1.0  # busy one second per window, acking nothing
        brief.idle_total = (k - 1) * (WINDOW - 1.0)
        assert judge(rates, [fast, brief], k * WINDOW) == []


def test_holding_new_data_back_with_its_window_counts_as_busy() -> None:
    """A slow reader acknowledges at once (it is parked) but its window holds data back."""
    fast, reader = FakeChild(1), FakeChild(2, idle_since=0.0)
    rates = watch([fast, reader])
    rates.sample([], 0.0)
    found: list[int] = []
    for k in range(1, SLOW_WINDOWS + 1):
        fast.una += 10_000_000
        reader.una += 1000
        for step in range(1, 51):
            rates.sample([as_child(reader)], (k - 1) * WINDOW + step * 0.2)
        found = judge(rates, [fast, reader], k * WINDOW)
    assert found == [2]
