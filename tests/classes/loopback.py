"""A minimal real-socket driver for the protocol classes, for the loopback tests.

Every endpoint gets a non-blocking unicast UDP socket on 127.0.0.1 (it sends everything from
there, multicast via IP_MULTICAST_IF=127.0.0.1 with IP_MULTICAST_LOOP=1) and one socket per
multicast group it must join, bound to the group's address and port with SO_REUSEADDR, so
that several endpoints on this host each get a copy. The driver runs the same pump as the
simulator: feed input (drained until the socket is empty), hand events to the test, send
the endpoint's datagrams, and re-arm the endpoint's one timer, on a selector.

``data_loss`` drops that share of incoming DATA datagrams at the receivers, to exercise the
repair paths; it draws from a seeded generator but, real time being real, runs still differ.
"""

from __future__ import annotations

import contextlib
import itertools
import random
import selectors
import socket
import time
from dataclasses import dataclass, field

from smocast.classes import ACK_BASED, AddressPlan, ClassConfig, Delivered, SenderFinished, StreamComplete, build
from smocast.classes.base import Endpoint
from smocast.classes.packet import Kind
from smocast.core.datagram import Address

IP_MULTICAST_ALL = getattr(socket, "IP_MULTICAST_ALL", 49)  # Linux: deliver only this socket's groups
LOCALHOST = "127.0.0.1"
_GROUPS = itertools.count(1)


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind((LOCALHOST, 0))
        return int(probe.getsockname()[1])


def _unicast_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setblocking(False)
    sock.bind((LOCALHOST, 0))
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(LOCALHOST))
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 0)
    return sock


def _group_socket(group: Address) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setblocking(False)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.IPPROTO_IP, IP_MULTICAST_ALL, 0)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    sock.bind(group)
    membership = socket.inet_aton(group[0]) + socket.inet_aton(LOCALHOST)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
    return sock


@dataclass
class _Peer:
    endpoint: Endpoint
    unicast: socket.socket
    address: Address
    sockets: list[socket.socket] = field(default_factory=list)
    data: list[bytes] = field(default_factory=list)
    complete: bool = False


class LoopbackRun:
    """One class, one source and ``receivers`` receivers over real UDP on 127.0.0.1."""

    def __init__(
        self,
        cls: str,
        receivers: int,
        config: ClassConfig,
        payloads: list[bytes],
        data_loss: float = 0.0,
        seed: int = 1,
    ) -> None:
        self.cls = cls
        self.payloads = payloads
        self._loss = data_loss
        self._rng = random.Random(seed)
        self._selector = selectors.DefaultSelector()
        self.finished = False
        unicast = [_unicast_socket() for _ in range(receivers + 1)]
        addresses: list[Address] = [s.getsockname() for s in unicast]
        base = next(_GROUPS) % 200 + 1
        port = free_udp_port()
        plan = AddressPlan(
            addresses[0],
            (f"239.255.{base}.1", port),
            addresses[1:],
            {n: (f"239.255.{base}.{n + 2}", port) for n in range(receivers // config.branching + 1)},
        )
        built = build(cls, plan, config, random.Random(seed))
        endpoints: list[Endpoint] = [built.sender, *built.receivers]
        self.peers = [_Peer(e, s, a) for e, s, a in zip(endpoints, unicast, addresses, strict=True)]
        for index, peer in enumerate(self.peers):
            peer.sockets = [peer.unicast] + [_group_socket(g) for g in peer.endpoint.groups]
            for sock in peer.sockets:
                self._selector.register(sock, selectors.EVENT_READ, index)
        for payload in payloads:
            built.sender.write(payload)
        built.sender.close()

    def close(self) -> None:
        for peer in self.peers:
            for sock in peer.sockets:
                self._selector.unregister(sock)
                sock.close()
        self._selector.close()

    @property
    def receivers(self) -> list[_Peer]:
        return self.peers[1:]

    def done(self) -> bool:
        if not all(p.complete for p in self.receivers):
            return False
        return self.finished or self.cls not in ACK_BASED

    def run(self, limit: float = 30.0) -> bool:
        """Pump until done or ``limit`` seconds; True if done."""
        start = time.monotonic()
        for index in range(len(self.peers)):
            self._pump(index, 0.0)
        while not self.done():
            now = time.monotonic() - start
            if now > limit:
                return False
            deadlines = [(p.endpoint.next_deadline(), i) for i, p in enumerate(self.peers)]
            for deadline, index in deadlines:
                if deadline is not None and deadline <= now:
                    self.peers[index].endpoint.handle_timer(now)
                    self._pump(index, now)
            due = [d for d, _ in deadlines if d is not None]
            wait = min([0.05, *(max(0.0, d - now) for d in due)])
            for key, _ in self._selector.select(wait):
                self._drain(key.fileobj, key.data, time.monotonic() - start)  # type: ignore[arg-type]
        return True

    def _drain(self, sock: socket.socket, index: int, now: float) -> None:
        peer = self.peers[index]
        while True:
            try:
                data, source = sock.recvfrom(65536)
            except BlockingIOError:
                break
            if source == peer.address:
                continue  # our own multicast, looped back
            if index and self._loss and len(data) > 2 and data[2] == Kind.DATA and self._rng.random() < self._loss:
                continue
            peer.endpoint.receive_datagram(data, source, now)
        self._pump(index, now)

    def _pump(self, index: int, now: float) -> None:
        peer = self.peers[index]
        for datagram in peer.endpoint.datagrams_to_send(now):
            peer.unicast.sendto(datagram.data, datagram.destination)
        while (event := peer.endpoint.next_event()) is not None:
            if isinstance(event, Delivered):
                peer.data.append(event.data)
            elif isinstance(event, StreamComplete):
                peer.complete = True
            elif isinstance(event, SenderFinished):
                self.finished = True
