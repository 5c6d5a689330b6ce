from __future__ import annotations

import random

import pytest

from smocast.sim.kernel import Simulator
from smocast.sim.link import Link
from smocast.sim.loss import Bernoulli, GilbertElliott, NoLoss, make_loss


def test_events_run_in_time_order_and_ties_in_scheduling_order() -> None:
    sim = Simulator()
    order: list[str] = []
    sim.schedule(2.0, order.append, "c")
    sim.schedule(1.0, order.append, "a")
    sim.schedule(1.0, order.append, "b")
    sim.run()
    assert order == ["a", "b", "c"]
    assert sim.now == 2.0


def test_run_until_and_stop() -> None:
    sim = Simulator()
    seen: list[float] = []
    for t in range(1, 10):
        sim.schedule(float(t), lambda _: seen.append(sim.now))
    sim.run(until=3.5)
    assert seen == [1.0, 2.0, 3.0] and sim.now == 3.5
    sim.run(stop=lambda: len(seen) >= 5)
    assert len(seen) == 5


def test_link_serialises_queues_and_drops_tail() -> None:
    link = Link(rate=8000.0, delay=0.5, rng=random.Random(1), queue_bytes=2500)  # 1000 bytes per second
    assert link.transmit(1000, 0.0) == pytest.approx(1.5)
    assert link.transmit(1000, 0.0) == pytest.approx(2.5)  # waits behind the first
    assert link.transmit(1000, 0.0) is None  # 2000 queued + 1000 > 2500
    assert link.drops_queue == 1
    assert link.transmit(1000, 5.0) == pytest.approx(6.5)


def test_bernoulli_loss_rate() -> None:
    rng = random.Random(7)
    model = Bernoulli(0.1)
    lost = sum(model.lost(rng, i * 1e-4) for i in range(20_000))
    assert 1800 < lost < 2200


def test_gilbert_elliott_mean_and_bursts() -> None:
    rng = random.Random(7)
    model = GilbertElliott.from_mean(0.05, burst=8.0)
    outcomes = [model.lost(rng, i * 1e-4) for i in range(200_000)]  # back to back: no idle ageing
    rate = sum(outcomes) / len(outcomes)
    assert 0.04 < rate < 0.06
    runs = []
    length = 0
    for lost in outcomes:
        if lost:
            length += 1
        elif length:
            runs.append(length)
            length = 0
    assert 6 < sum(runs) / len(runs) < 10  # losses come in bursts of about 8


def test_gilbert_elliott_bad_spells_end_in_idle_time() -> None:
    rng = random.Random(7)
    model = GilbertElliott.from_mean(0.05, burst=1000.0)  # very long bursts, counted in packets
    model.bad = True
    model.last = 0.0
    lost_while_busy = sum(model.lost(rng, i * 1e-6) for i in range(50))
    assert lost_while_busy == 50  # back to back, the spell goes on
    spaced = [model.lost(rng, 10.0 * (k + 1)) for k in range(200)]  # ten seconds apart: aged
    assert 2 < sum(spaced) < 25  # about the stationary 5 %


def test_make_loss_picks_the_model() -> None:
    assert isinstance(make_loss(0.0), NoLoss)
    assert isinstance(make_loss(0.1), Bernoulli)
    assert isinstance(make_loss(0.1, burst=4), GilbertElliott)


def test_make_loss_passes_the_burst_slot_on() -> None:
    model = make_loss(0.1, burst=4, slot=0.05)
    assert isinstance(model, GilbertElliott) and model.slot == 0.05


def test_jitter_reorders_packets_sent_closer_together_than_it() -> None:
    link = Link(None, 0.001, random.Random(3), jitter=0.002)
    arrivals = [link.transmit(1000, i * 0.0001) for i in range(50)]
    assert all(a is not None and 0.001 + i * 0.0001 <= a < 0.003 + i * 0.0001 for i, a in enumerate(arrivals))
    assert arrivals != sorted(arrivals)  # out of order
    steady = Link(None, 0.001, random.Random(3))
    in_order = [steady.transmit(1000, i * 0.0001) for i in range(50)]
    assert in_order == sorted(in_order)


def test_a_slower_lane_delays_its_share_by_its_delay_and_later_packets_overtake_them() -> None:
    link = Link(None, 0.001, random.Random(3), lane=(0.2, 0.01))
    arrivals = [link.transmit(1000, i * 0.0001) for i in range(200)]
    late = [i for i, a in enumerate(arrivals) if a is not None and a > 0.002 + i * 0.0001]
    assert all(arrivals[i] == pytest.approx(0.011 + i * 0.0001) for i in late)
    assert 20 <= len(late) <= 60  # about a fifth
    assert arrivals != sorted(arrivals)


def test_no_jitter_draws_no_random_number() -> None:
    """Seeded runs without jitter keep every result they had before jitter existed."""
    rng = random.Random(5)
    Link(100e6, 0.001, rng).transmit(1000, 0.0)
    assert rng.random() == random.Random(5).random()
