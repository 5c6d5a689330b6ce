"""One helper that wires a TCP-SMO channel and N receivers through a fake network.

A seeded "terrible network" (as trio's tests have): each datagram may be dropped,
duplicated, or delayed by a random amount (which reorders it). Multicast datagrams are
copied to every receiver independently. Time advances event by event; endpoint timers are
honoured through ``next_deadline``. Everything is deterministic for a given seed.
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass, field

from smocast.core.datagram import Address, Datagram
from smocast.smo import events as ev
from smocast.smo.channel import Channel
from smocast.smo.config import ChannelConfig, ReceiverConfig
from smocast.smo.receiver import Receiver

SERVER: Address = ("192.0.2.1", 5000)
GROUP: Address = ("232.9.9.9", 5000)
UNREACHABLE: Datagram[None] = Datagram(b"", SERVER, False, None)
"""What the fake network posts back to the source for a unicast to a dead receiver (ICMP)."""


@dataclass
class Terrible:
    drop: float = 0.0
    duplicate: float = 0.0
    delay: float = 0.001
    jitter: float = 0.0  # extra uniform delay: reorders when larger than the send spacing
    ack_drop: float = 0.0


@dataclass
class Peer:
    receiver: Receiver
    address: Address
    data: bytearray = field(default_factory=bytearray)
    start: int | None = None
    ended: bool = False
    reset: str | None = None
    events: list[object] = field(default_factory=list)
    frozen: bool = False
    dead: bool = False  # its process is gone: unicast to it draws an ICMP port unreachable
    max_packet: int | None = None  # its path's MTU, as a smocast packet's size: larger ones are lost


class FakeNet:
    def __init__(
        self,
        channel_config: ChannelConfig,
        receivers: int,
        seed: int = 1,
        net: Terrible | None = None,
        receiver_config: ReceiverConfig | None = None,
    ) -> None:
        self.rng = random.Random(seed)
        self.net = net or Terrible()
        self.now = 0.0
        self.channel = Channel(GROUP, channel_config, random.Random(seed + 1))
        self.source_events: list[object] = []
        self.peers: list[Peer] = []
        self._queue: list[tuple[float, int, Address, Address, Datagram]] = []
        self._seq = 0
        self._receiver_config = receiver_config or ReceiverConfig(channel_id=channel_config.channel_id)
        self.source_dead = False
        for _ in range(receivers):
            self.add_receiver()

    def kill_source(self) -> None:
        """The source's process dies: it sends nothing more, and what it sent but not yet arrived is lost."""
        self.source_dead = True
        self._queue = [entry for entry in self._queue if entry[2] != SERVER]
        heapq.heapify(self._queue)

    def kill(self, peer: Peer) -> None:
        """A receiver's process dies without a word: unicast to it draws an ICMP port unreachable."""
        peer.frozen = peer.dead = True

    def add_receiver(self, connect: bool = True) -> Peer:
        index = len(self.peers)
        receiver = Receiver(SERVER, self._receiver_config, random.Random(self.rng.getrandbits(32)))
        peer = Peer(receiver, (f"198.51.{index // 250}.{index % 250 + 1}", 6000))
        self.peers.append(peer)
        if connect:
            receiver.connect(self.now)
            self._pump_peer(peer)
        return peer

    # --- delivery --------------------------------------------------------------------------

    def _post(self, datagram: Datagram, source: Address, target: Address, drop: float) -> None:
        copies = 1
        if self.rng.random() < drop:
            return
        if self.rng.random() < self.net.duplicate:
            copies = 2
        for _ in range(copies):
            at = self.now + self.net.delay + self.rng.random() * self.net.jitter
            self._seq += 1
            heapq.heappush(self._queue, (at, self._seq, source, target, datagram))

    def _pump_source(self) -> None:
        if self.source_dead:
            return
        for datagram in self.channel.datagrams_to_send(self.now):
            targets = [p.address for p in self.peers] if datagram.multicast else [datagram.destination]
            for target in targets:
                self._post(datagram, SERVER, target, self.net.drop)
        while (event := self.channel.next_event()) is not None:
            self.source_events.append(event)

    def _pump_peer(self, peer: Peer) -> None:
        if peer.frozen:
            return
        for datagram in peer.receiver.datagrams_to_send(self.now):
            self._post(datagram, peer.address, SERVER, self.net.ack_drop)
        while (event := peer.receiver.next_event()) is not None:
            peer.events.append(event)
            if isinstance(event, ev.DataReceived):
                peer.receiver.consumed(len(event.data))
                assert peer.start is not None
                assert event.offset == peer.start + len(peer.data), "bytes delivered out of order"
                peer.data += event.data
            elif isinstance(event, ev.Connected):
                peer.start = event.start
            elif isinstance(event, ev.StreamEnded):
                peer.ended = True
            elif isinstance(event, ev.ConnectionReset | ev.ConnectFailed):
                peer.reset = event.reason

    def _deliver(self, source: Address, target: Address, datagram: Datagram) -> None:
        if target == SERVER:
            if self.source_dead:
                return
            if datagram is UNREACHABLE:
                self.channel.unreachable(source, self.now)
            else:
                self.channel.receive_datagram(datagram.data, source, self.now)
            self._pump_source()
            return
        for peer in self.peers:
            if peer.address == target and peer.dead and not datagram.multicast:
                self._seq += 1
                heapq.heappush(self._queue, (self.now + self.net.delay, self._seq, target, SERVER, UNREACHABLE))
            if peer.max_packet is not None and len(datagram.data) > peer.max_packet:
                continue
            if peer.address == target and not peer.frozen:
                peer.receiver.receive_datagram(datagram.data, SERVER, self.now)
                self._pump_peer(peer)

    def _next_timer(self) -> tuple[float, object] | None:
        best: tuple[float, object] | None = None
        endpoints: list[object] = [] if self.source_dead else [self.channel]
        endpoints += [p for p in self.peers if not p.frozen]
        for owner in endpoints:
            endpoint = owner if isinstance(owner, Channel) else owner.receiver  # type: ignore[attr-defined]
            deadline = endpoint.next_deadline()
            if deadline is not None and (best is None or deadline < best[0]):
                best = (deadline, owner)
        return best

    def step(self) -> bool:
        """Advance to the next delivery or timer; False when nothing is left to do."""
        timer = self._next_timer()
        if self._queue and (timer is None or self._queue[0][0] <= timer[0]):
            at, _, source, target, datagram = heapq.heappop(self._queue)
            self.now = max(self.now, at)
            self._deliver(source, target, datagram)
            return True
        if timer is None:
            return False
        self.now = max(self.now, timer[0])
        owner = timer[1]
        if isinstance(owner, Channel):
            owner.handle_timer(self.now)
            self._pump_source()
        else:
            assert isinstance(owner, Peer)
            owner.receiver.handle_timer(self.now)
            self._pump_peer(owner)
        return True

    def run(self, until: float = 120.0, stop: object = None) -> None:
        self._pump_source()
        while self.now < until and self.step():
            if callable(stop) and stop():
                return

    def finished(self) -> bool:
        return any(isinstance(e, ev.ChannelFinished) for e in self.source_events)
