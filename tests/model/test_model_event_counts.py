"""The event counts behind every cost equation (§10.2), against a seeded Monte Carlo of the losses.

Each test simulates the loss process of §1 packet by packet with ``random.Random(seed)`` and
compares the sample mean of one count with the model's function for it. The tolerance is six
standard errors of the sample mean (estimated from the same sample), so a correct formula
passes for any seed while the plausible wrong ones (R·p instead of R·q, no 1/R NAK sharing,
E[M] instead of (1 − p)E[M] copies) are off by many more.
"""

from __future__ import annotations

import math
import random
import statistics
from dataclasses import dataclass, field

import pytest

from smocast.model.transmissions import (
    acks_protocol_a,
    copies_per_receiver,
    expected_transmissions,
    naks_at_token_site,
    naks_heard_n2,
    naks_protocol_n1,
    naks_sent_n2,
    timeouts_per_receiver,
)

PACKETS = 6000
CASES = [(10, 0.25, 11), (50, 0.1, 12)]  # (R, p, seed): the two settings of the reference's table


@dataclass
class Counts:
    """Per-packet samples of each count (receiver 0 plays "one receiver" and the ring's token site)."""

    transmissions: list[int] = field(default_factory=list)
    acks: list[int] = field(default_factory=list)
    copies_at_0: list[int] = field(default_factory=list)
    n1_naks: list[int] = field(default_factory=list)
    timeouts_at_0: list[int] = field(default_factory=list)
    n2_sent_by_0: list[int] = field(default_factory=list)
    n2_heard_by_0: list[int] = field(default_factory=list)
    token_site_naks: list[int] = field(default_factory=list)


def multicast_packet(rng: random.Random, receivers: int, p: float, counts: Counts) -> None:
    """Multicast until all have the packet; every receiver gets (and ACKs) every copy it does not lose.

    After each failed round every missing receiver would unicast a NAK (N1); with ideal NAK
    suppression one missing receiver, chosen at random, multicasts the round's only NAK (N2).
    """
    have = [False] * receivers
    rounds = acks = copies0 = n1 = timeouts0 = sent0 = heard0 = 0
    while not all(have):
        rounds += 1
        for r in range(receivers):
            if rng.random() >= p:
                have[r] = True
                acks += 1
                copies0 += r == 0
        missing = [r for r in range(receivers) if not have[r]]
        if missing:
            n1 += len(missing)
            timeouts0 += not have[0]
            nak_sender = rng.choice(missing)
            sent0 += nak_sender == 0
            heard0 += nak_sender != 0
    counts.transmissions.append(rounds)
    counts.acks.append(acks)
    counts.copies_at_0.append(copies0)
    counts.n1_naks.append(n1)
    counts.timeouts_at_0.append(timeouts0)
    counts.n2_sent_by_0.append(sent0)
    counts.n2_heard_by_0.append(heard0)


def ring_packet(rng: random.Random, receivers: int, p: float, counts: Counts) -> None:
    """Ring: each receiver other than the token site NAKs each loss of its own (unicast) copy."""
    naks = 0
    for _ in range(1, receivers):
        while rng.random() < p:
            naks += 1
    counts.token_site_naks.append(naks)


def simulate(receivers: int, p: float, seed: int) -> Counts:
    rng = random.Random(seed)
    counts = Counts()
    for _ in range(PACKETS):
        multicast_packet(rng, receivers, p, counts)
        ring_packet(rng, receivers, p, counts)
    return counts


_CACHE: dict[tuple[int, float, int], Counts] = {}


def counts_for(receivers: int, p: float, seed: int) -> Counts:
    key = (receivers, p, seed)
    if key not in _CACHE:
        _CACHE[key] = simulate(receivers, p, seed)
    return _CACHE[key]


def assert_mean(samples: list[int], expected: float) -> None:
    mean = statistics.fmean(samples)
    stderr = statistics.stdev(samples) / math.sqrt(len(samples))
    assert abs(mean - expected) <= 6 * stderr + 1e-9, f"sample mean {mean:.4f} vs formula {expected:.4f}"


@pytest.mark.parametrize(("receivers", "p", "seed"), CASES)
def test_transmissions_until_all_have_the_packet(receivers: int, p: float, seed: int) -> None:
    assert_mean(counts_for(receivers, p, seed).transmissions, expected_transmissions(p, receivers))


@pytest.mark.parametrize(("receivers", "p", "seed"), CASES)
def test_protocol_a_acks(receivers: int, p: float, seed: int) -> None:
    assert_mean(counts_for(receivers, p, seed).acks, acks_protocol_a(p, receivers))


@pytest.mark.parametrize(("receivers", "p", "seed"), CASES)
def test_copies_processed_by_one_receiver(receivers: int, p: float, seed: int) -> None:
    assert_mean(counts_for(receivers, p, seed).copies_at_0, copies_per_receiver(p, receivers))


@pytest.mark.parametrize(("receivers", "p", "seed"), CASES)
def test_n1_unicast_naks(receivers: int, p: float, seed: int) -> None:
    assert_mean(counts_for(receivers, p, seed).n1_naks, naks_protocol_n1(p, receivers))


@pytest.mark.parametrize(("receivers", "p", "seed"), CASES)
def test_timeouts_of_one_receiver(receivers: int, p: float, seed: int) -> None:
    assert_mean(counts_for(receivers, p, seed).timeouts_at_0, timeouts_per_receiver(p))


@pytest.mark.parametrize(("receivers", "p", "seed"), CASES)
def test_n2_naks_sent_by_one_receiver(receivers: int, p: float, seed: int) -> None:
    assert_mean(counts_for(receivers, p, seed).n2_sent_by_0, naks_sent_n2(p, receivers))


@pytest.mark.parametrize(("receivers", "p", "seed"), CASES)
def test_n2_naks_heard_from_the_others(receivers: int, p: float, seed: int) -> None:
    assert_mean(counts_for(receivers, p, seed).n2_heard_by_0, naks_heard_n2(p, receivers))


@pytest.mark.parametrize(("receivers", "p", "seed"), CASES)
def test_ring_naks_at_the_token_site(receivers: int, p: float, seed: int) -> None:
    assert_mean(counts_for(receivers, p, seed).token_site_naks, naks_at_token_site(p, receivers))


def test_the_tolerance_rejects_the_plausible_wrong_formulas() -> None:
    """The 6-sigma band is narrow enough to tell q from p and copies from transmissions."""
    counts = counts_for(10, 0.25, 11)
    with pytest.raises(AssertionError):
        assert_mean(counts.n1_naks, 10 * 0.25)  # R·p instead of R·q
    with pytest.raises(AssertionError):
        assert_mean(counts.copies_at_0, expected_transmissions(0.25, 10))  # E[M] instead of (1 − p)E[M]
    with pytest.raises(AssertionError):
        assert_mean(counts.n2_sent_by_0, expected_transmissions(0.25, 10) - 1)  # no 1/R NAK sharing
