"""The load generator's secure mode (``--trust FINGERPRINT``): each receiver joins through the protection layer.

The handshake is the real one: a :class:`~smocast.smo.receiver.Receiver` behind
:func:`~smocast.secure.tcpsmo.protect_receiver` per socket, driven until it is connected
(the key exchange rides on it). Then the generator's hot loop goes on as in the plain mode,
but every ACK is sealed under its receiver's session (:meth:`Sealers.seal`), as a secure
receiver sends it, and the group's datagrams are opened with the group key to learn how far
the source has sent (:meth:`GroupReader.open`). So the source pays, per ACK, what it pays
for a real secure receiver: one AEAD opening, the replay window, then the plain ACK path.
"""

from __future__ import annotations

import random
import select
import selectors
import socket
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from smocast.core.datagram import Address
from smocast.secure.envelope import HEADER_SIZE, Kind, parse
from smocast.secure.group import GroupKeyRing
from smocast.secure.identity import parse_fingerprint
from smocast.secure.keyexchange import Trust
from smocast.secure.keyfiles import system_random
from smocast.secure.receiver import ProtectedReceiver
from smocast.secure.tcpsmo import protect_receiver
from smocast.smo import events as ev
from smocast.smo.config import ReceiverConfig
from smocast.smo.receiver import Receiver

HANDSHAKE_LIMIT = 60.0

Send = Callable[[bytes], object]
Opener = Callable[[bytes], "bytes | None"]
Drain = Callable[[socket.socket, Any, dict[int, int], Opener], "int | None"]


class GroupReader:
    """Opens the group's DATA with the group key the handshake delivered (BLOCKs and others: None)."""

    def __init__(self, ring: GroupKeyRing) -> None:
        self._ring = ring

    def open(self, data: bytes) -> bytes | None:
        parsed = parse(data)
        if parsed is None or parsed[0] is not Kind.GROUP:
            return None
        key = self._ring.get(parsed[1])
        return key.key.open(parsed[2], data[:HEADER_SIZE], data[HEADER_SIZE:]) if key is not None else None


def secure_handshake(
    server: Address, sockets: list[socket.socket], window: int, trust: str
) -> tuple[list[int], list[int], list[Send], GroupReader]:
    """Connect every socket's receiver through the layer; their connection ids, start offsets,
    sealing senders and the group reader."""
    pinned = Trust(frozenset({parse_fingerprint(trust)}))
    rng = random.SystemRandom()
    cores = [Receiver(server, ReceiverConfig(receive_buffer=max(window, 4096)), rng) for _ in sockets]
    layers = [protect_receiver(core, server, system_random, pinned) for core in cores]
    for core in cores:
        core.connect(0.0)
    starts = _drive(server, sockets, layers)
    sends: list[Send] = []
    for sock, layer in zip(sockets, layers, strict=True):
        session = layer.session
        assert session is not None
        sends.append(partial(_sealed_send, sock.send, session.seal))
    return [core.connection for core in cores], starts, sends, GroupReader(layers[0].ring)


def secure_start(
    fleet: Any, trust: str, counters: Any, tsvals: dict[int, int], drain: Drain
) -> tuple[tuple[list[Send], Opener], int]:
    """Join ``fleet``'s receivers through the layer, then wait for the first data as the plain path
    does; the sealing senders and the opener for the hot loop, and the highest byte seen."""
    server = fleet.sockets[0].getpeername()
    fleet.connections, fleet.acked, sends, reader = secure_handshake(server, fleet.sockets, fleet.window, trust)
    counters.handshake_acks += len(fleet.sockets)
    deadline = time.monotonic() + HANDSHAKE_LIMIT
    while time.monotonic() < deadline:
        high = drain(fleet.group, counters, tsvals, reader.open)
        if high is not None:
            return (sends, reader.open), high
        select.select([fleet.group], [], [], 0.05)
    raise TimeoutError(f"the source did not start within {HANDSHAKE_LIMIT:g} s")


def _sealed_send(send: Callable[[bytes], int], seal: Callable[[Kind, bytes], bytes], ack: bytes) -> int:
    """Send ``ack`` sealed under the receiver's session, as a secure receiver sends it."""
    return send(seal(Kind.UNICAST, ack))


Layers = list[ProtectedReceiver[ev.ReceiverEvent]]


def _drive(server: Address, sockets: list[socket.socket], layers: Layers) -> list[int]:
    """Run every receiver's handshake over its socket; the stream offset each starts at."""
    selector = selectors.DefaultSelector()
    starts: dict[int, int] = {}
    clock = time.monotonic
    began = clock()
    for index, (sock, layer) in enumerate(zip(sockets, layers, strict=True)):
        selector.register(sock, selectors.EVENT_READ, index)
        _flush(sock, layer, 0.0)
    try:
        while len(starts) < len(layers):
            now = clock() - began
            if now > HANDSHAKE_LIMIT:
                raise TimeoutError(f"the source did not accept every receiver within {HANDSHAKE_LIMIT:g} s")
            for key, _ in selector.select(timeout=0.05):
                _take(sockets[key.data], layers[key.data], server, now)
            for index, layer in enumerate(layers):
                deadline = layer.next_deadline()
                if deadline is not None and deadline <= now:
                    layer.handle_timer(now)
                _flush(sockets[index], layer, now)
                while (event := layer.next_event()) is not None:
                    if isinstance(event, ev.Connected):
                        starts[index] = event.start
                    elif isinstance(event, ev.ConnectFailed | ev.ConnectionReset):
                        raise TimeoutError(f"a receiver could not join: {event.reason}")
    finally:
        selector.close()
    return [starts[i] for i in range(len(layers))]


def _take(sock: socket.socket, layer: ProtectedReceiver[ev.ReceiverEvent], server: Address, now: float) -> None:
    while True:
        try:
            data = sock.recv(65536)
        except BlockingIOError:
            return
        layer.receive_datagram(data, server, now)


def _flush(sock: socket.socket, layer: ProtectedReceiver[ev.ReceiverEvent], now: float) -> None:
    for datagram in layer.datagrams_to_send(now):
        sock.send(datagram.data)
