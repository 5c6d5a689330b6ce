"""A shared bottleneck: the dumbbell network, Jain's index, and TCP-SMO beside TCP flows."""

from __future__ import annotations

import random

import pytest
from tests.sim.test_network import Recorder

from smocast.core.datagram import Datagram
from smocast.sim.dumbbell import Dumbbell
from smocast.sim.host import Host
from smocast.sim.kernel import Simulator
from smocast.sim.link import Link
from smocast.sim.sharing import SMOCAST, SharingSpec, jain, run_sharing


def test_jain_index_is_one_when_equal_and_one_over_n_when_one_takes_all() -> None:
    assert jain([5.0, 5.0, 5.0, 5.0]) == pytest.approx(1.0)
    assert jain([8.0, 0.0, 0.0, 0.0]) == pytest.approx(0.25)
    assert 0.25 < jain([6.0, 2.0, 0.0, 0.0]) < 1.0


def test_a_drop_at_the_bottleneck_is_lost_to_every_member_of_the_group() -> None:
    sim = Simulator()
    net = Dumbbell(sim, Link(8000.0, 0.0, random.Random(1), queue_bytes=2500))  # 1000 bytes/s, room for two
    source = Host(sim, net, ("10.0.0.1", 1), Recorder())  # type: ignore[arg-type]
    net.add_source(source)
    members = []
    for i in range(3):
        host = Host(sim, net, (f"10.1.0.{i}", 2), Recorder())  # type: ignore[arg-type]
        net.add_receiver(host, 0.01 * (i + 1), source.address, ("232.0.0.1", 1))
        members.append(host)
    for k in range(3):  # the third does not fit in the queue
        net.send(Datagram(b"x" * 1000, ("232.0.0.1", 1), True, k), source, 0.0)
    sim.run()
    for i, host in enumerate(members):
        got = host.endpoint.got  # type: ignore[attr-defined]
        assert [g[0] for g in got] == [0, 1]  # the same two, at each member
        assert got[0][2] == pytest.approx(1.0 + 0.01 * (i + 1))  # serialised once, then the member's delay
    assert net.flows[source.address].dropped == 1


def test_min_is_fair_to_tcp_and_fair_policy_takes_more_within_its_bound() -> None:
    fair = run_sharing(SharingSpec(receivers=4, tcp_flows=1, duration=20.0)).as_json()
    shares = fair["steady"]["share_of_fair"]
    assert fair["steady"]["jain_mean"] > 0.9
    assert 0.75 < shares[SMOCAST] / shares["tcp1"] < 1.33
    bold = run_sharing(SharingSpec(receivers=4, tcp_flows=1, cwnd_policy="fair:2,4", duration=20.0)).as_json()
    ratio = bold["steady"]["share_of_fair"][SMOCAST] / bold["steady"]["share_of_fair"]["tcp1"]
    assert 1.6 < ratio < 5.0
    assert bold["steady"]["jain_mean"] < fair["steady"]["jain_mean"]
    assert len(fair["jain"]) == len(fair["times_s"]) == 20
