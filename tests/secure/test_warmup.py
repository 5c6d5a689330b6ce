"""The runtime warms the key exchange up before the first receiver, without touching anyone's randomness."""

from __future__ import annotations

import random

import pytest

from smocast.aio import source_security
from smocast.core.datagram import Address
from smocast.secure import warmup
from smocast.secure.identity import Identity
from smocast.smo.channel import Channel
from smocast.smo.config import ChannelConfig
from tests.secure.harness import build

GROUP: Address = ("232.1.1.1", 5000)


def test_the_runtime_source_layer_runs_the_warm_up_once_before_any_receiver(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(warmup, "warm_up", lambda: calls.append(1))  # the runtime imports it when it builds the layer
    identity = Identity.generate(random.Random(3).randbytes)
    channel = Channel(GROUP, ChannelConfig(), random.Random(1))
    layer, _ = source_security.source_layer(channel, source_security.SourceSecurity(identity=identity), 0.0)
    assert calls == [1] and layer.sessions == 0


def test_the_warm_up_leaves_a_seeded_secure_transfer_as_it_was() -> None:
    """It draws from a seed of its own: the keys, packets and timings of a seeded run do not move."""

    def transcript() -> tuple[list[bool], float, dict[str, int]]:
        run = build(receivers=2, size=60_000, seed=9)
        run.run()
        return run.identical(), run.sim.now, run.source_layer.stats.as_json()

    before = transcript()
    warmup.warm_up()
    assert transcript() == before
    state = random.getstate()
    warmup.warm_up()
    assert random.getstate() == state  # nor the global generator
