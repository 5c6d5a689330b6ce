"""A live stream through a chain of relays: how much delay each level of forwarding adds.

The root sends one message every ``1/rate`` seconds; relay 1 receives it as a (reliable) receiver
and forwards it at application level (:class:`~smocast.smo.relay.RelayNode`: a message is
forwarded when the relay's receiver delivers it, in order) to relay 2, and so on; the last relay
serves ``leaves`` receivers. Every hop is its own network with ``delay`` one way and ``loss`` on
its data path.

For every message and every relay the run records when the message's segment first *arrived*
at the relay (a tap on the relay's receiver) and when the relay *delivered* it to its forwarding
application. The gap is head-of-line waiting: the segment was there but sat behind a hole. A
TCP-level (pass-through) relay, the paper's future work, would forward it on arrival instead.
"""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass, field
from typing import Any, cast

from smocast.core.acking import AckFrequency
from smocast.core.datagram import Address, Datagram
from smocast.sim.host import Host
from smocast.sim.kernel import Simulator, relaxed_gc
from smocast.sim.topology import PathSpec, StarTopology
from smocast.smo import events as ev
from smocast.smo.channel import Channel
from smocast.smo.config import ChannelConfig, ReceiverConfig
from smocast.smo.framing import LENGTH_SIZE
from smocast.smo.policies import WindowPolicy
from smocast.smo.receiver import Receiver
from smocast.smo.relay import RelayNode
from smocast.wire.packet import Packet, PacketType

_STAMP = struct.Struct("!Id")  # message index, send time
_DATA = (PacketType.DATA, PacketType.REPAIR)


@dataclass(frozen=True, slots=True)
class ChainSpec:
    """``levels`` relays in a chain below the root; the last one serves ``leaves`` receivers."""

    levels: int = 3
    leaves: int = 5
    messages: int = 1000
    rate: float = 50.0
    size: int = 1448
    delay: float = 0.01
    loss: float = 0.0
    seed: int = 1


class _Tap:
    """Wraps a receiver: notes when each message's segment first arrives, then passes it on."""

    def __init__(self, receiver: Receiver, size: int, arrivals: dict[int, float]) -> None:
        self.receiver = receiver
        self._size = size
        self._arrivals = arrivals

    def receive_packet(self, packet: Packet, source: Address, now: float, *, via_group: bool = False) -> None:
        if packet.type in _DATA and packet.payload:
            self._arrivals.setdefault(packet.seq // self._size, now)
        self.receiver.receive_packet(packet, source, now, via_group=via_group)

    def receive_datagram(self, data: bytes, source: Address, now: float, *, via_group: bool = False) -> None:
        self.receiver.receive_datagram(data, source, now, via_group=via_group)

    def datagrams_to_send(self, now: float) -> list[Datagram[Packet]]:
        return self.receiver.datagrams_to_send(now)

    def next_deadline(self) -> float | None:
        return self.receiver.next_deadline()

    def handle_timer(self, now: float) -> None:
        self.receiver.handle_timer(now)

    def next_event(self) -> ev.ReceiverEvent | None:
        return self.receiver.next_event()


@dataclass(slots=True)
class _Level:
    """One relay: when each message arrived at it and when it delivered them."""

    arrived: dict[int, float] = field(default_factory=dict)
    delivered: dict[int, float] = field(default_factory=dict)


class _Chain:
    def __init__(self, spec: ChainSpec) -> None:
        self.spec = spec
        self.rng = random.Random(spec.seed)
        self.sim = Simulator()
        self.path = PathSpec(rate=100e6, delay=spec.delay, loss=spec.loss)
        self.levels = [_Level() for _ in range(spec.levels)]
        self.leaf_latency: list[float] = []
        self.sent_at: list[float] = []
        self.sent = 0
        self._hosts = 0
        self.root, self.root_host, topology = self._server(0, 1 if spec.levels else spec.leaves)
        for index in range(spec.levels):
            topology = self._relay(index, topology)
        for leaf in range(spec.leaves):
            receiver = Receiver(
                self._source(spec.levels), self._receiver_config(), random.Random(self.rng.getrandbits(64))
            )
            self._attach(topology, leaf, spec.leaves, receiver, self._on_leaf)

    def _source(self, index: int) -> Address:
        return (f"10.20.{index}.1", 5000)

    def _receiver_config(self) -> ReceiverConfig:
        return ReceiverConfig(framing=True)

    def _server(self, index: int, receivers: int) -> tuple[Channel, Host, StarTopology]:
        spec = self.spec
        config = ChannelConfig(
            mss=spec.size,
            min_receivers=receivers,
            window_policy=WindowPolicy("buffer", buffer_bytes=max(64 * spec.size, int(2 * spec.rate * spec.size))),
            ack_frequency=AckFrequency(),
            congestion_control="fixed",
        )
        channel = Channel((f"232.20.{index}.1", 5000), config, random.Random(self.rng.getrandbits(64)))
        topology = StarTopology(self.sim, self.path, self.rng)
        host = topology.attach_source(channel, self._on_source if index == 0 else None, address=self._source(index))
        return channel, host, topology

    def _relay(self, index: int, upstream: StarTopology) -> StarTopology:
        receivers = 1 if index + 1 < self.spec.levels else self.spec.leaves
        channel, host, topology = self._server(index + 1, receivers)
        receiver = Receiver(self._source(index), self._receiver_config(), random.Random(self.rng.getrandbits(64)))
        node = RelayNode(receiver, channel)
        tap = _Tap(receiver, self.spec.size, self.levels[index].arrived)
        up = self._attach(upstream, index, 1, tap, self._on_relay)
        up.context = (node, host, self.levels[index])
        host.after_input = lambda _h, n=node, u=up: self._sync(n, u)
        return topology

    def _attach(self, topology: StarTopology, index: int, count: int, endpoint: object, handler: Any) -> Host:
        self._hosts += 1
        address = (f"10.21.{self._hosts >> 8}.{self._hosts & 0xFF}", 40000)
        host = topology.add_receiver(index, count, endpoint, handler, address=address)
        topology.network.join(host)
        self.sim.schedule(0.0, self._connect, host)
        return host

    def _connect(self, host: Host) -> None:
        receiver = host.endpoint.receiver if isinstance(host.endpoint, _Tap) else host.endpoint
        assert isinstance(receiver, Receiver)
        receiver.connect(self.sim.now)
        host.pump()

    def _sync(self, node: RelayNode, up: Host) -> None:
        if node.sync():
            self.sim.schedule(self.sim.now, lambda h: h.pump(), up)

    def _on_source(self, host: Host, event: object, now: float) -> None:
        if isinstance(event, ev.ReceiverJoined) and self.sent == 0:
            self.sim.schedule(now, self._send_next)

    def _send_next(self, _: object) -> None:
        body = _STAMP.pack(self.sent, self.sim.now).ljust(self.spec.size - LENGTH_SIZE, b"\0")
        self.sent_at.append(self.sim.now)
        self.root.send_message(body)
        self.sent += 1
        if self.sent >= self.spec.messages:
            self.root.close()
        else:
            self.sim.schedule(self.sim.now + 1 / self.spec.rate, self._send_next)
        self.root_host.pump()

    def _on_relay(self, host: Host, event: object, now: float) -> None:
        node, downstream, level = host.context
        node.on_upstream_event(event, now)
        if isinstance(event, ev.MessageReceived):
            index, _ = _STAMP.unpack_from(event.data)
            level.delivered.setdefault(index, now)
        if isinstance(event, ev.MessageReceived | ev.StreamEnded):
            self.sim.schedule(now, lambda _: downstream.pump())

    def _on_leaf(self, host: Host, event: object, now: float) -> None:
        if isinstance(event, ev.MessageReceived):
            cast(Receiver, host.endpoint).consumed(len(event.data))  # the application takes it at once
            _, sent_at = _STAMP.unpack_from(event.data)
            self.leaf_latency.append(now - sent_at)

    def run(self) -> dict[str, Any]:
        spec = self.spec
        with relaxed_gc():
            self.sim.run(until=spec.messages / spec.rate + 30.0)
        return {"levels": [self._level_report(i) for i in range(spec.levels)], "leaf_latency_s": self.leaf_latency}

    def _level_report(self, i: int) -> dict[str, list[float]]:
        level = self.levels[i]
        order = sorted(level.delivered)
        return {
            "latency_s": [level.delivered[k] - self.sent_at[k] for k in order],
            "head_of_line_s": [level.delivered[k] - level.arrived.get(k, level.delivered[k]) for k in order],
        }


def run_chain(spec: ChainSpec) -> dict[str, Any]:
    """Run the chain; per relay, each message's latency from the root and its head-of-line wait."""
    return _Chain(spec).run()
