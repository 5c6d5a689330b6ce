"""Relay hierarchies in the simulator, and the relay's pass-through and flow control."""

from __future__ import annotations

import json
import random

import pytest

from smocast.cli.main import main
from smocast.sim.relay import RelaySpec, run_relay
from smocast.smo.channel import Channel
from smocast.smo.config import ChannelConfig, ReceiverConfig
from smocast.smo.receiver import Receiver
from smocast.smo.relay import RelayNode, StreamHistory
from smocast.smo.standin import validated_syn
from smocast.wire import Packet, PacketType, decode


def test_two_levels_deliver_identical_bytes_to_every_leaf() -> None:
    report = run_relay(RelaySpec(levels=2, relays=3, receivers=60, size=300_000)).as_json()
    assert report["completed"] == 60 and report["all_identical"] and report["dropped"] == 0
    levels = report["per_level"]
    assert [level["servers"] for level in levels] == [1, 3]
    assert levels[1]["receivers_per_server"] == 20


def test_three_levels() -> None:
    report = run_relay(RelaySpec(levels=3, relays=2, fanout=3, receivers=30, size=200_000)).as_json()
    assert report["completed"] == 30 and report["all_identical"]
    assert [level["servers"] for level in report["per_level"]] == [1, 2, 6]


def test_leaves_of_a_killed_relay_fail_over_and_still_finish_identical() -> None:
    result = run_relay(RelaySpec(levels=2, relays=3, receivers=30, size=2_000_000, kill_relay=1, kill_at=0.1))
    report = result.as_json()
    assert report["per_level"][1]["killed"] == 1
    assert report["failovers"] == 10  # each leaf of the dead relay moved once
    assert report["completed"] == 30 and report["all_identical"]


def test_same_seed_same_hierarchy() -> None:
    spec = RelaySpec(levels=2, relays=2, receivers=10, size=100_000, seed=4)
    first, second = run_relay(spec).as_json(), run_relay(spec).as_json()
    first.pop("wall_time_s")
    second.pop("wall_time_s")
    assert first == second


def test_cli_json(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["sim", "relay", "--relays", "2", "--receivers", "8", "--size", "64K", "--json"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["completed"] == 8 and report["all_identical"] and len(report["per_level"]) == 2


def test_history_returns_what_was_forwarded() -> None:
    history = StreamHistory(limit=300)
    for i in range(5):
        history.append(i * 100, bytes([i]) * 100)
    assert history(250, 100) == bytes([2]) * 50  # within one chunk
    assert history(0, 10) == b""  # dropped beyond the limit
    assert history.start == 200


def _connected_pair() -> tuple[Receiver, Channel, tuple[str, int]]:
    server = ("192.0.2.1", 5000)
    upstream = Receiver(server, ReceiverConfig(receive_buffer=64_000), random.Random(1))
    upstream.connect(1.0)
    upstream.datagrams_to_send(1.0)
    upstream.receive_packet(Packet(PacketType.SYN_ACK, 1, upstream.connection, seq=0), server, 1.01)
    upstream.datagrams_to_send(1.01)
    list(iter(upstream.next_event, None))
    downstream = Channel(("232.2.2.2", 6000), ChannelConfig(min_receivers=1, pacing=False), random.Random(2))
    return upstream, downstream, server


def test_the_relay_passes_payloads_through_without_copying_them() -> None:
    upstream, downstream, server = _connected_pair()
    node = RelayNode(upstream, downstream, StreamHistory())
    payload = bytes(range(256)) * 5
    upstream.receive_packet(Packet(PacketType.DATA, 1, 0, 0, payload=payload, ack_every=1), server, 1.1)
    for event in iter(upstream.next_event, None):
        node.on_upstream_event(event, 1.1)
    validated_syn(downstream, Packet(PacketType.SYN, 1, 7, tsval=5), ("198.51.100.1", 7000), 1.1)
    downstream.datagrams_to_send(1.1)
    downstream.receive_packet(Packet(PacketType.ACK, 1, 7, window=1 << 20), ("198.51.100.1", 7000), 1.2)
    (data,) = [d for d in downstream.datagrams_to_send(1.2) if decode(d.data).type is PacketType.DATA]
    assert data.packet.payload is payload  # the very same object, not a copy
    assert node.history is not None and node.history(0, 10) == payload[:10]


def test_backpressure_travels_up_while_the_downstream_holds_data() -> None:
    upstream, downstream, server = _connected_pair()
    node = RelayNode(upstream, downstream)
    full = upstream.window
    for i in range(30):  # 30 x 1400 bytes arrive; nobody downstream has acked them yet
        upstream.receive_packet(Packet(PacketType.DATA, 1, 0, i * 1400, payload=bytes(1400), ack_every=1), server, 1.1)
        for event in iter(upstream.next_event, None):
            node.on_upstream_event(event, 1.1)
    node.sync()
    assert node.backlog() == 42_000
    assert upstream.window == full - 42_000
    acks = [decode(d.data) for d in upstream.datagrams_to_send(1.2)]
    assert acks[-1].window == full - 42_000  # the upstream source sees the window close
