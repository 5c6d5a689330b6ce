from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from typing import Any

import pytest

from smocast.core.datagram import Address, Datagram, multicast, unicast
from smocast.sim.host import CpuModel, Host
from smocast.sim.kernel import Simulator
from smocast.sim.link import Link
from smocast.sim.loss import Bernoulli
from smocast.sim.network import Network
from smocast.sim.topology import GROUP_ADDRESS, SOURCE_ADDRESS, PathSpec, StarTopology
from smocast.smo.receiver import Receiver, ReceiverState
from smocast.wire import Packet, PacketType, encode

GROUP: Address = ("232.0.0.1", 1)


class Recorder:
    """A minimal endpoint that records packets and sends what it is told to."""

    def __init__(self) -> None:
        self.got: list[tuple[Any, Address, float]] = []
        self.outbox: list[Datagram] = []
        self.on_receive: Callable[[], None] | None = None

    def receive_packet(self, packet: Any, source: Address, now: float) -> None:
        self.got.append((packet, source, now))
        if self.on_receive:
            self.on_receive()

    def receive_datagram(self, data: bytes, source: Address, now: float) -> None:
        self.got.append((data, source, now))

    def datagrams_to_send(self, now: float) -> list[Datagram]:
        out, self.outbox = self.outbox, []
        return out

    def next_deadline(self) -> float | None:
        return None

    def handle_timer(self, now: float) -> None:
        return None

    def next_event(self) -> object | None:
        return None


def build(
    receivers: int,
    shared_loss: float = 0.0,
    subtree_size: int = 0,
    cpu: CpuModel | None = None,
) -> tuple[Simulator, Network, Host, list[Host]]:
    sim = Simulator()
    rng = random.Random(3)
    net = Network(sim, GROUP)
    source = Host(sim, net, ("10.0.0.1", 1), Recorder(), cpu=cpu)  # type: ignore[arg-type]
    net.attach_source(source, Link(None, 0.0, rng), Link(None, 0.0, rng))
    hosts = []
    for i in range(receivers):
        subtree = i // subtree_size if subtree_size else 0
        if subtree not in net._subtrees:
            net.add_subtree(subtree, Link(None, 0.0, rng, loss=Bernoulli(shared_loss)))
        host = Host(sim, net, (f"10.1.0.{i}", 2), Recorder())  # type: ignore[arg-type]
        net.attach(host, Link(1e6, 0.01, rng), Link(1e6, 0.01, rng), subtree)
        net.join(host)
        hosts.append(host)
    return sim, net, source, hosts


def test_multicast_fan_out_shares_one_packet_object_and_batches_arrivals() -> None:
    sim, net, source, hosts = build(50)
    packet = object()
    net.send(Datagram(b"x" * 100, GROUP, True, packet), source, 0.0)
    assert sim.pending == 1  # fifty identical paths: one batched arrival event
    sim.run()
    for host in hosts:
        (got,) = host.endpoint.got  # type: ignore[attr-defined]
        assert got[0] is packet  # not copied, not decoded again
        assert got[1] == ("10.0.0.1", 1)


def test_unicast_reaches_only_its_destination_and_receivers_reach_the_source() -> None:
    sim, net, source, hosts = build(3)
    net.send(Datagram(b"u", hosts[1].address, False, "u"), source, 0.0)
    net.send(Datagram(b"a", source.address, False, "ack"), hosts[2], 0.0)
    sim.run()
    assert [g[0] for g in hosts[1].endpoint.got] == ["u"]  # type: ignore[attr-defined]
    assert hosts[0].endpoint.got == []  # type: ignore[attr-defined]
    assert [g[0] for g in source.endpoint.got] == ["ack"]  # type: ignore[attr-defined]


def test_loss_on_a_shared_subtree_is_correlated() -> None:
    sim, net, source, hosts = build(40, shared_loss=0.5, subtree_size=10)
    for k in range(200):
        net.send(Datagram(b"m", GROUP, True, k), source, k * 0.01)
    sim.run()
    received = [{g[0] for g in h.endpoint.got} for h in hosts]  # type: ignore[attr-defined]
    for subtree in range(4):
        members = received[subtree * 10 : (subtree + 1) * 10]
        assert all(m == members[0] for m in members)  # same losses within a subtree
    assert received[0] != received[10]
    assert 60 < len(received[0]) < 140


def test_overloaded_cpu_drops_input() -> None:
    sim, net, source, hosts = build(20, cpu=CpuModel(per_packet=0.01, queue=5))
    for host in hosts:
        net.send(Datagram(b"a", source.address, False, host.address), host, 0.0)
    sim.run()
    assert source.cpu_drops > 0
    assert len(source.endpoint.got) + source.cpu_drops == 20  # type: ignore[attr-defined]
    times = [g[2] for g in source.endpoint.got]  # type: ignore[attr-defined]
    assert all(b - a >= 0.01 - 1e-9 for a, b in itertools.pairwise(times))


def test_a_receiver_multicast_reaches_the_others_and_the_source() -> None:
    sim, net, source, hosts = build(4)
    net.send(Datagram(b"n", GROUP, True, "nak"), hosts[0], 0.0)
    sim.run()
    assert hosts[0].endpoint.got == []  # type: ignore[attr-defined]
    assert all([g[0] for g in h.endpoint.got] == ["nak"] for h in hosts[1:])  # type: ignore[attr-defined]
    assert [g[0] for g in source.endpoint.got] == ["nak"]  # type: ignore[attr-defined]


def test_an_rst_through_the_group_is_never_honoured_in_the_simulator() -> None:
    """The simulator tells a TCP-SMO receiver which packets came through the group, as the
    runtime does: an RST at the exact offset, multicast from the source, changes nothing;
    the same RST by unicast resets the receiver."""
    sim = Simulator()
    topology = StarTopology(sim, PathSpec(rate=None), random.Random(1))
    source = Recorder()
    source_host = topology.attach_source(source)
    receiver = Receiver(SOURCE_ADDRESS, rng=random.Random(2))
    host = topology.add_receiver(0, 1, receiver)
    topology.network.join(host)
    receiver.connect(0.0)
    receiver.receive_packet(Packet(PacketType.SYN_ACK, 1, receiver.connection, seq=500), SOURCE_ADDRESS, 0.0)
    rst = Packet(PacketType.RST, 1, receiver.connection, seq=500, payload=b"forged")
    source.outbox = [multicast(encode(rst), rst, GROUP_ADDRESS)]
    source_host.pump()
    sim.run(until=1.0)
    assert receiver.state is ReceiverState.ESTABLISHED and receiver.stats.foreign == 1
    source.outbox = [unicast(encode(rst), rst, host.address)]
    source_host.pump()
    sim.run(until=2.0)
    assert receiver.state is ReceiverState.CLOSED


def build_unequal(delays: list[float], source_rate: float) -> tuple[Simulator, Network, Host, list[Host]]:
    """Receivers at the given one-way delays behind a source whose shared downlink has ``source_rate``."""
    sim = Simulator()
    rng = random.Random(3)
    net = Network(sim, GROUP)
    source = Host(sim, net, ("10.0.0.1", 1), Recorder())  # type: ignore[arg-type]
    net.attach_source(source, Link(source_rate, 0.0, rng, queue_bytes=1 << 20), Link(None, 0.0, rng))
    net.add_subtree(0, Link(None, 0.0, rng))
    hosts = []
    for i, delay in enumerate(delays):
        host = Host(sim, net, (f"10.1.0.{i}", 2), Recorder())  # type: ignore[arg-type]
        net.attach(host, Link(None, delay, rng), Link(None, delay, rng))
        hosts.append(host)
    return sim, net, source, hosts


def test_near_acks_never_wait_behind_a_far_receivers_ack() -> None:
    # A far receiver (100 ms) ACKs first; a near one (20 ms) ACKs 1 ms later. The near ACK
    # reaches the source's shared link 79 ms earlier, and must be served then, not queued
    # behind the far ACK that is still in flight.
    sim, net, source, hosts = build_unequal([0.100, 0.020], source_rate=8e6)  # 1 byte per microsecond
    far, near = hosts
    net.send(unicast(b"a" * 100, "far", source.address), far, 0.0)
    sim.schedule(0.001, lambda _: net.send(unicast(b"a" * 100, "near", source.address), near, sim.now))
    sim.run()
    got = {g[0]: g[2] for g in source.endpoint.got}  # type: ignore[attr-defined]
    assert got["near"] == pytest.approx(0.021 + 100e-6)  # its own serialisation only
    assert got["far"] == pytest.approx(0.100 + 100e-6)
    assert [g[0] for g in source.endpoint.got] == ["near", "far"]  # type: ignore[attr-defined]


def test_the_source_link_serves_acks_in_arrival_order_and_queues_only_real_overlap() -> None:
    # Twenty receivers from 100 ms down to 5 ms all ACK at once: they arrive nearest first,
    # 5 ms apart, far more than one ACK's 100 us of serialisation, so none waits for another.
    delays = [0.100 - 0.005 * i for i in range(20)]
    sim, net, source, hosts = build_unequal(delays, source_rate=8e6)
    for host in hosts:
        net.send(unicast(b"a" * 100, host.address, source.address), host, 0.0)
    # The two nearest send a second ACK at once: it arrives with their first, and waits for it only.
    for host in hosts[-2:]:
        net.send(unicast(b"b" * 100, ("again", host.address), source.address), host, 0.0)
    sim.run()
    arrivals = {g[0]: g[2] for g in source.endpoint.got}  # type: ignore[attr-defined]
    for host, delay in zip(hosts, delays, strict=True):
        assert arrivals[host.address] == pytest.approx(delay + 100e-6)
    for host, delay in zip(hosts[-2:], delays[-2:], strict=True):
        assert arrivals[("again", host.address)] == pytest.approx(delay + 200e-6)
    order = [g[0] for g in source.endpoint.got if g[0][0] != "again"]  # type: ignore[attr-defined]
    assert order == [h.address for h in reversed(hosts)]
