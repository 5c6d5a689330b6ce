"""A deterministic network for the attack tests: one channel, real receivers, and an attacker.

The channel and the receivers are driven only through the public sans-IO contract
(``receive_datagram``, ``datagrams_to_send``, ``next_deadline``, ``handle_timer``,
``next_event``), so the tests stay valid whatever the endpoints do inside: a defence that
adds a cookie exchange is followed by the real receivers on their own.

The attacker is whatever the test schedules with :meth:`Net.at`: it may :meth:`Net.inject`
any bytes from any source address to the source, to the group or to one receiver. What the
channel sends to an address that is not a receiver (a spoofed one) goes nowhere: it is
counted, and handed to ``on_stray`` if the test wants to look at it. Receivers keep a
running SHA-256 of what they got, not the bytes, so memory measurements see the endpoints
and not this harness.
"""

from __future__ import annotations

import hashlib
import heapq
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from smocast.core.datagram import Address, Datagram
from smocast.smo import Channel, ChannelConfig, Receiver, ReceiverConfig
from smocast.smo import events as ev

SERVER: Address = ("192.0.2.1", 5000)
GROUP: Address = ("232.9.9.9", 5000)


@dataclass
class Peer:
    """One real receiver and what it got."""

    receiver: Receiver
    address: Address
    start: int | None = None
    received: int = 0
    digest: Any = field(default_factory=hashlib.sha256)
    length: int | None = None  # the stream length its StreamEnded announced
    ended_at: float | None = None
    reset: str | None = None
    frozen: bool = False  # an attacker took its place: nothing reaches the receiver any more
    capture: bool = False
    sent: list[Datagram] = field(default_factory=list)  # what it sent (with ``capture``)
    inbox: list[bytes] = field(default_factory=list)  # what reached its address once frozen (with ``capture``)
    received_at: list[tuple[float, int]] = field(default_factory=list)  # (time, bytes) of each delivery
    drop: Callable[[bytes], bool] | None = None  # the link to it loses the datagrams this accepts

    @property
    def sha256(self) -> str:
        return str(self.digest.hexdigest())


class Net:
    """The channel, its receivers and a scheduled attacker, on links with a fixed delay."""

    def __init__(self, config: ChannelConfig, seed: int = 1, delay: float = 0.005) -> None:
        self.channel = Channel(GROUP, config, random.Random(seed))
        self.config = config
        self.rng = random.Random(seed + 1000)
        self.delay = delay
        self.now = 0.0
        self.peers: list[Peer] = []
        self._by_address: dict[Address, Peer] = {}
        self._queue: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = 0
        self.source_events: list[object] = []
        self.stray_datagrams = 0
        self.stray_bytes = 0
        self.on_stray: Callable[[Datagram], None] | None = None

    # --- set-up ----------------------------------------------------------------------------

    def add_receiver(
        self, connect_at: float = 0.0, config: ReceiverConfig | None = None, capture: bool = False
    ) -> Peer:
        """A real receiver that connects at ``connect_at``."""
        index = len(self.peers)
        cfg = config or ReceiverConfig(channel_id=self.config.channel_id)
        receiver = Receiver(SERVER, cfg, random.Random(self.rng.getrandbits(64)))
        peer = Peer(receiver, (f"198.51.100.{index + 1}", 6000), capture=capture)
        self.peers.append(peer)
        self._by_address[peer.address] = peer

        def connect() -> None:
            receiver.connect(self.now)
            self._pump_peer(peer)

        self.at(connect_at, connect)
        return peer

    def at(self, when: float, action: Callable[[], None]) -> None:
        """Run ``action`` at time ``when`` (the attacker's schedule, the application's writes)."""
        self._seq += 1
        heapq.heappush(self._queue, (max(when, self.now), self._seq, action))

    def paced_write(self, data: bytes, chunk: int, every: float) -> None:
        """The application writes ``data`` a chunk every ``every`` seconds, then closes."""
        for i, start in enumerate(range(0, len(data), chunk)):
            self.at(i * every, partial(self._write, data[start : start + chunk], start + chunk >= len(data)))

    def _write(self, piece: bytes, last: bool) -> None:
        self.channel.write(piece)
        if last:
            self.channel.close()
        self.pump_source()

    def inject(self, data: bytes, source: Address, destination: Address) -> None:
        """An attacker's datagram: from any ``source`` to the server, the group or a receiver."""
        self._post(data, source, destination)

    def deliver_now(self, data: bytes, source: Address) -> None:
        """An attacker's datagram that reaches the source at once (a flood, without the queue)."""
        self.channel.receive_datagram(data, source, self.now)
        self.pump_source()

    def deliver_to(self, peer: Peer, data: bytes, source: Address) -> list[Datagram]:
        """An attacker's datagram that reaches ``peer`` at once; returns what it sent in answer."""
        before = len(peer.sent)
        self._to_peer(peer, data, source)
        return peer.sent[before:]

    # --- running ---------------------------------------------------------------------------

    def advance(self, seconds: float) -> None:
        """Let the network run for ``seconds``: deliveries, answers and timers (between the
        steps of an attack that is sent from a loop, so nothing piles up in flight)."""
        self.run(until=self.now + seconds)

    def run(self, until: float, stop: Callable[[], bool] | None = None) -> None:
        """Advance to ``until``, or until ``stop()`` is true."""
        self.pump_source()
        while True:
            due = self._next_due()
            if due is None or due[0] > until:
                self.now = max(self.now, until)
                return
            self.now = max(self.now, due[0])
            due[1]()
            if stop is not None and stop():
                return

    def _next_due(self) -> tuple[float, Callable[[], None]] | None:
        best: tuple[float, Callable[[], None]] | None = None
        if self._queue:
            at = self._queue[0][0]
            best = (at, self._pop)
        deadline = self.channel.next_deadline()
        if deadline is not None and (best is None or deadline < best[0]):
            best = (deadline, self._source_timer)
        for peer in self.peers:
            if peer.frozen:
                continue
            deadline = peer.receiver.next_deadline()
            if deadline is not None and (best is None or deadline < best[0]):
                best = (deadline, _PeerTimer(self, peer))
        return best

    def _pop(self) -> None:
        _, _, action = heapq.heappop(self._queue)
        action()

    def _source_timer(self) -> None:
        self.channel.handle_timer(self.now)
        self.pump_source()

    # --- delivery --------------------------------------------------------------------------

    def _post(self, data: bytes, source: Address, destination: Address) -> None:
        if destination == SERVER:
            self.at(self.now + self.delay, lambda: self.deliver_now(data, source))
        elif destination == GROUP:
            self.at(self.now + self.delay, lambda: self._to_group(data, source))
        elif destination in self._by_address:
            peer = self._by_address[destination]
            self.at(self.now + self.delay, lambda: self._to_peer(peer, data, source))

    def _to_group(self, data: bytes, source: Address) -> None:
        for peer in self.peers:
            self._to_peer(peer, data, source)

    def _to_peer(self, peer: Peer, data: bytes, source: Address) -> None:
        if peer.frozen:
            if peer.capture:
                peer.inbox.append(data)
            return
        if peer.drop is not None and peer.drop(data):
            return
        peer.receiver.receive_datagram(data, source, self.now)
        self._pump_peer(peer)

    def pump_source(self) -> None:
        """Send what the channel wants sent and collect its events."""
        for datagram in self.channel.datagrams_to_send(self.now):
            destination = datagram.destination
            if datagram.multicast or destination == GROUP:
                self._post(datagram.data, SERVER, GROUP)
            elif destination in self._by_address:
                self._post(datagram.data, SERVER, destination)
            else:
                self.stray_datagrams += 1
                self.stray_bytes += len(datagram.data)
                if self.on_stray is not None:
                    self.on_stray(datagram)
        while (event := self.channel.next_event()) is not None:
            self.source_events.append(event)

    def _pump_peer(self, peer: Peer) -> None:
        if peer.frozen:
            return
        for datagram in peer.receiver.datagrams_to_send(self.now):
            if peer.capture:
                peer.sent.append(datagram)
            self._post(datagram.data, peer.address, datagram.destination)
        while (event := peer.receiver.next_event()) is not None:
            self._on_peer_event(peer, event)

    def _on_peer_event(self, peer: Peer, event: object) -> None:
        if isinstance(event, ev.DataReceived):
            peer.received += len(event.data)
            peer.digest.update(event.data)
            peer.received_at.append((self.now, len(event.data)))
            peer.receiver.consumed(len(event.data))  # the application takes what it is given at once
        elif isinstance(event, ev.Connected):
            peer.start = event.start
        elif isinstance(event, ev.StreamEnded):
            peer.length, peer.ended_at = event.length, self.now
        elif isinstance(event, ev.ConnectionReset | ev.ConnectFailed):
            peer.reset = event.reason

    # --- what happened -----------------------------------------------------------------------

    def of(self, kind: type) -> list[Any]:
        """The source events of one type."""
        return [e for e in self.source_events if isinstance(e, kind)]

    def finished(self) -> bool:
        return any(isinstance(e, ev.ChannelFinished) for e in self.source_events)


class _PeerTimer:
    """A receiver's timer firing (a small callable, so ``_next_due`` allocates no closure list)."""

    __slots__ = ("net", "peer")

    def __init__(self, net: Net, peer: Peer) -> None:
        self.net, self.peer = net, peer

    def __call__(self) -> None:
        self.peer.receiver.handle_timer(self.net.now)
        self.net._pump_peer(self.peer)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
