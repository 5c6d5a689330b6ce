"""Each class over real UDP multicast on 127.0.0.1, with the same endpoints as the simulator."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest
from tests.classes.loopback import LoopbackRun

from smocast.classes import ACK_BASED, CLASS_NAMES, ClassConfig

pytestmark = pytest.mark.network

CONFIG = ClassConfig(
    branching=2, buffer=32, rto=0.05, initial_distance=0.002, poll_idle=0.02, heartbeat=0.02, aggregate_delay=0.02
)


@pytest.mark.parametrize("cls", CLASS_NAMES)
def test_each_class_delivers_over_loopback_multicast(cls: str) -> None:
    payloads = [random.Random(i).randbytes(200) for i in range(150)]
    config = CONFIG if cls in ACK_BASED else replace(CONFIG, buffer=None)  # N1, N2: see Theorem 2
    run = LoopbackRun(cls, 5, config, payloads, data_loss=0.1, seed=5)
    try:
        assert run.run(limit=60.0), f"{cls} did not finish over loopback"
        for peer in run.receivers:
            assert peer.data == payloads
        assert all(peer.endpoint.malformed == 0 for peer in run.peers)
    finally:
        run.close()
