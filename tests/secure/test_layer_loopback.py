"""The asyncio runtime drives the protection layer unchanged: a protected transfer over real UDP on loopback.

The sockets and the driver are the ones ``smocast send`` and ``recv`` use; only the endpoints
are wrapped, with the keys of a real (in-memory) key exchange installed, as the handshake
will install them. An outsider's forged DATA, sent to the group from another socket, is
dropped and counted; every copy is identical.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import socket
from typing import Any

import pytest

from smocast.aio.driver import Driver
from smocast.aio.sockets import loopback_multicast_works, receiver_sockets, source_socket
from smocast.secure.identity import Identity
from smocast.secure.receiver import ProtectedReceiver
from smocast.secure.source import ProtectedSource
from smocast.smo import events as ev
from smocast.smo.channel import Channel
from smocast.smo.config import ChannelConfig, ReceiverConfig
from smocast.smo.receiver import Receiver
from smocast.wire import Packet, PacketType, encode
from tests.aio.netutil import loopback
from tests.secure.harness import MSS, exchange

pytestmark = [
    pytest.mark.network,
    pytest.mark.skipif(not loopback_multicast_works(), reason="loopback multicast is unavailable here"),
]


def fail(error: Exception) -> None:
    raise error


async def transfer(receivers: int, payload: bytes) -> tuple[list[bytes], list[ProtectedReceiver[Any]]]:
    where = loopback()
    rng = random.Random(1)
    identity = Identity.generate(rng.randbytes)
    config = ChannelConfig(mss=MSS, admission="wait", min_receivers=receivers)
    channel = Channel(where.group, config, random.Random(2))
    source = ProtectedSource(channel, identity, rng.randbytes)
    finished = asyncio.Event()
    sock = source_socket(where.server, where.group, None, 1)

    def on_source(event: object) -> None:
        if isinstance(event, ev.ChannelFinished):
            finished.set()

    drivers = [Driver(source, sock, [sock], on_event=on_source, on_error=fail, peer="r", unicast_errors_fatal=False)]
    copies = [bytearray() for _ in range(receivers)]
    layers: list[ProtectedReceiver[Any]] = []
    for index in range(receivers):
        sockets = receiver_sockets(where.server, where.group, where.server[0], None)
        core = Receiver(where.server, ReceiverConfig(), random.Random(10 + index))
        layer: ProtectedReceiver[Any] = ProtectedReceiver(core, where.server)
        keys = exchange(identity, rng, source.group.grants(), b"loopback")
        layer.install(keys)
        source.install(sockets.local, keys)

        def on_event(event: object, core: Receiver = core, copy: bytearray = copies[index]) -> None:
            if isinstance(event, ev.DataReceived):
                core.consumed(len(event.data))
                copy.extend(event.data)

        driver = Driver(
            layer, sockets.unicast, [sockets.group, sockets.unicast], on_event=on_event, on_error=fail, peer="s",
            unicast_errors_fatal=True,
        )  # fmt: skip
        drivers.append(driver)
        layers.append(layer)
        core.connect(driver.now)
        driver.pump()
    forger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    forger.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
    forger.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1"))
    for seq in range(0, len(payload), MSS * 7):
        forger.sendto(encode(Packet(PacketType.DATA, 1, 0, seq=seq, payload=b"\xee" * MSS)), where.group)
    channel.write(payload)
    channel.close()
    drivers[0].pump()
    try:
        await asyncio.wait_for(finished.wait(), 30)
    finally:
        forger.close()
        for driver in drivers:
            driver.close()
    return [bytes(c) for c in copies], layers


def test_a_protected_transfer_over_real_udp_is_identical_despite_forged_data() -> None:
    payload = random.Random(3).randbytes(300_000)
    copies, layers = asyncio.run(transfer(3, payload))
    assert [hashlib.sha256(c).digest() for c in copies] == [hashlib.sha256(payload).digest()] * 3
    assert all(layer.stats.opened > 0 for layer in layers)
    assert sum(layer.stats.malformed for layer in layers) > 0  # the forged DATA reached them and was dropped
