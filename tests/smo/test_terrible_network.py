"""End to end through a seeded terrible network: drops, duplicates, reordering, lost ACKs."""

from __future__ import annotations

import random

import pytest
from tests.fakenet import FakeNet, Terrible

from smocast.smo.config import ChannelConfig


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize(
    "net",
    [
        Terrible(drop=0.1),
        Terrible(duplicate=0.2, jitter=0.004),
        Terrible(drop=0.05, duplicate=0.05, jitter=0.003, ack_drop=0.05),
    ],
    ids=["drop", "dup-reorder", "everything"],
)
def test_every_receiver_gets_the_exact_bytes(seed: int, net: Terrible) -> None:
    data = random.Random(seed).randbytes(150_000)
    fake = FakeNet(ChannelConfig(min_receivers=5), receivers=5, seed=seed, net=net)
    fake.channel.write(data)
    fake.channel.close()
    fake.run(until=120.0, stop=fake.finished)
    assert fake.finished()
    for peer in fake.peers:
        assert peer.reset is None
        assert peer.ended
        assert bytes(peer.data) == data
