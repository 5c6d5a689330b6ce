"""Unicast datagrams to several destinations in one ``sendmmsg``: batching, partial sends, EAGAIN, errors."""

from __future__ import annotations

import asyncio
import errno
import itertools
import random
import socket
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from tests.aio.netutil import loopback, payload, run, sha

import smocast
from smocast.aio.batchio import BatchReader
from smocast.aio.batchsend import SEND_MIN, BatchSender, batch_sending_available, encode_name
from smocast.aio.driver import Driver
from smocast.aio.errors import NetworkError
from smocast.core.datagram import Address, Datagram

needs_sendmmsg = pytest.mark.skipif(not batch_sending_available(), reason="no sendmmsg in this C library")


def receivers(count: int, family: socket.AddressFamily = socket.AF_INET) -> list[socket.socket]:
    host = "::1" if family == socket.AF_INET6 else "127.0.0.1"
    made = []
    for _ in range(count):
        sock = socket.socket(family, socket.SOCK_DGRAM)
        sock.bind((host, 0))
        sock.settimeout(2.0)
        made.append(sock)
    return made


@pytest.fixture
def sender() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setblocking(False)
    yield sock
    sock.close()


def unicast(data: bytes, destination: Address) -> Datagram[None]:
    return Datagram(data, destination, False, None)


def address_of(sock: socket.socket) -> Address:
    host, port = sock.getsockname()[:2]
    return (host, port)


@needs_sendmmsg
@pytest.mark.parametrize("family", [socket.AF_INET, socket.AF_INET6], ids=["ipv4", "ipv6"])
def test_one_call_sends_each_datagram_to_its_own_destination(family: socket.AddressFamily) -> None:
    try:
        peers = receivers(3, family)
    except OSError:
        pytest.skip("no IPv6 loopback here")
    out = socket.socket(family, socket.SOCK_DGRAM)
    out.setblocking(False)
    batch = BatchSender(out)
    datagrams = [unicast(f"repair {i}".encode() * (i + 1), address_of(peers[i % 3])) for i in range(9)]
    assert batch.send(datagrams, 0, len(datagrams)) == 9
    assert batch.calls == 1 and batch.sent == 9
    for k, peer in enumerate(peers):
        assert [peer.recv(2048) for _ in range(3)] == [d.data for d in datagrams[k::3]]  # whole, in order
    batch.close()
    for sock in [out, *peers]:
        sock.close()


@needs_sendmmsg
def test_a_call_stops_at_a_failing_datagram_and_the_next_reports_its_error(sender: socket.socket) -> None:
    """sendmmsg loses the error of a datagram after others went: the next call, from it, reports it."""
    good = receivers(2)
    datagrams = [
        unicast(b"first", address_of(good[0])),
        unicast(b"to port 0", ("127.0.0.1", 0)),  # EINVAL, this datagram alone
        unicast(b"third", address_of(good[1])),
    ]
    batch = BatchSender(sender)
    assert batch.send(datagrams, 0, 3) == 1
    with pytest.raises(OSError) as failed:
        batch.send(datagrams, 1, 3)
    assert failed.value.errno == errno.EINVAL
    assert batch.send(datagrams, 2, 3) == 1
    assert good[0].recv(64) == b"first" and good[1].recv(64) == b"third"
    batch.close()
    for sock in good:
        sock.close()


@needs_sendmmsg
def test_what_cannot_go_this_way_is_left_to_sendto(sender: socket.socket) -> None:
    peer = receivers(1)[0]
    here = address_of(peer)
    batch = BatchSender(sender, slot=100)
    named = [unicast(b"a", ("localhost", here[1])), unicast(b"b", here)]
    assert batch.send(named, 0, 2) == 0 and batch.calls == 0  # a name, not an address: sendto resolves it
    sizes = [unicast(b"x" * 100, here), unicast(b"y" * 101, here)]
    assert batch.send(sizes, 0, 2) == 1  # the second does not fit a slot: it stops the batch
    assert batch.send(sizes, 1, 2) == 0 and batch.calls == 1  # and is left to sendto
    assert peer.recv(200) == b"x" * 100
    assert encode_name(("10.1", 5), socket.AF_INET) is None and encode_name(("10.0.0.1", 5), socket.AF_INET)
    batch.close()
    peer.close()


# --- the driver's output with a scripted sendmmsg ----------------------------------------------


class ScriptedBatch:
    """Stands in for :class:`BatchSender`: each call takes the next outcome (a count, or an errno)."""

    made: ClassVar[list[ScriptedBatch]] = []
    outcomes: ClassVar[list[int | str]] = []

    def __init__(self, sock: Any) -> None:
        self.calls: list[tuple[int, int]] = []
        self.sent: list[bytes] = []
        ScriptedBatch.made.append(self)

    def send(self, datagrams: list[Datagram[Any]], start: int, end: int) -> int:
        self.calls.append((start, end))
        outcome = ScriptedBatch.outcomes.pop(0) if ScriptedBatch.outcomes else end - start
        if outcome == "EAGAIN":
            raise BlockingIOError(errno.EAGAIN, "Resource temporarily unavailable")
        if isinstance(outcome, str):
            raise OSError(getattr(errno, outcome), outcome)
        taken = min(outcome, end - start)
        self.sent += [d.data for d in datagrams[start : start + taken]]
        return taken

    def close(self) -> None:
        pass


class DatagramSocket:
    """A real socket's descriptor (writable at once) whose ``sendto`` records what it sent."""

    type = socket.SOCK_DGRAM
    family = socket.AF_INET

    def __init__(self) -> None:
        self._real = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sent: list[bytes] = []

    def fileno(self) -> int:
        return self._real.fileno()

    def sendto(self, data: bytes, destination: Address) -> int:
        self.sent.append(data)
        return len(data)

    def close(self) -> None:
        self._real.close()


class Endpoint:
    """Gives ``batches`` one per call."""

    def __init__(self, *batches: list[Datagram[Any]]) -> None:
        self.batches = list(batches)

    def receive_datagram(self, data: bytes, source: Address, now: float) -> None:
        pass

    def datagrams_to_send(self, now: float) -> list[Datagram[Any]]:
        return self.batches.pop(0) if self.batches else []

    def next_deadline(self) -> float | None:
        return None

    def handle_timer(self, now: float) -> None:
        pass

    def next_event(self) -> object | None:
        return None


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[ScriptedBatch]]:
    monkeypatch.setattr("smocast.aio.output.BatchSender", ScriptedBatch)
    monkeypatch.setattr("smocast.aio.output.batch_sending_available", lambda: True)
    ScriptedBatch.made, ScriptedBatch.outcomes = [], []
    yield ScriptedBatch


def repairs(n: int) -> list[Datagram[None]]:
    """Unicast datagrams to ``n`` different receivers (one each), as a pump step's repairs."""
    return [unicast(i.to_bytes(2, "big"), ("127.0.0.1", 7000 + i)) for i in range(n)]


def drive(batch: list[Datagram[None]], *, wait_for: int) -> tuple[Driver, DatagramSocket, list[NetworkError]]:
    sock = DatagramSocket()
    errors: list[NetworkError] = []

    async def main() -> Driver:
        driver = Driver(
            Endpoint(batch),
            sock,
            [],
            on_event=lambda _: True,
            on_error=errors.append,
            peer="test",
            unicast_errors_fatal=False,
        )
        driver.pump()
        async with asyncio.timeout(5.0):
            while driver.counters.datagrams_sent + driver.counters.unicast_send_errors < wait_for:
                await asyncio.sleep(0.001)
        driver.close()
        return driver

    driver = asyncio.run(main())
    sock.close()
    return driver, sock, errors


def test_repairs_to_several_receivers_go_out_in_one_call(scripted: type[ScriptedBatch]) -> None:
    batch = repairs(5)
    driver, sock, errors = drive(batch, wait_for=5)
    (sender,) = scripted.made
    assert sender.calls == [(0, 5)] and sender.sent == [d.data for d in batch]
    assert sock.sent == [] and driver.counters.batch_sends == 1 and driver.counters.datagrams_sent == 5
    assert errors == []


def test_a_partial_send_goes_on_from_the_first_datagram_not_sent(scripted: type[ScriptedBatch]) -> None:
    scripted.outcomes = [2, 1]
    batch = repairs(8)
    driver, _, errors = drive(batch, wait_for=8)
    (sender,) = scripted.made
    assert sender.calls == [(0, 8), (2, 8), (3, 8)]
    assert sender.sent == [d.data for d in batch] and driver.counters.batch_sends == 3
    assert errors == []


def test_a_full_socket_keeps_the_unsent_queued_in_order(scripted: type[ScriptedBatch]) -> None:
    scripted.outcomes = [2, "EAGAIN"]  # then the socket drains: the rest goes out when writable
    batch = repairs(7)
    driver, _, errors = drive(batch, wait_for=7)
    (sender,) = scripted.made
    assert sender.calls == [(0, 7), (2, 7), (0, 5)]  # the flush sends the queue: the 5 left
    assert sender.sent == [d.data for d in batch]  # nothing lost, nothing reordered
    assert driver.counters.send_waits == 1 and driver.counters.datagrams_sent == 7
    assert errors == []


def test_an_unreachable_receiver_does_not_stop_the_others_repairs(scripted: type[ScriptedBatch]) -> None:
    scripted.outcomes = [1, "ECONNREFUSED", "EHOSTUNREACH"]
    batch = repairs(8)
    driver, _, errors = drive(batch, wait_for=8)
    (sender,) = scripted.made
    assert sender.calls == [(0, 8), (1, 8), (2, 8), (3, 8)]
    assert sender.sent == [batch[0].data, *[d.data for d in batch[3:]]]
    assert driver.counters.unicast_send_errors == 2 and driver.counters.datagrams_sent == 6
    assert errors == []  # nothing fatal


def test_a_few_datagrams_and_a_name_go_by_sendto(scripted: type[ScriptedBatch]) -> None:
    driver, sock, _ = drive(repairs(SEND_MIN - 1), wait_for=SEND_MIN - 1)
    assert scripted.made[0].calls == [] and len(sock.sent) == SEND_MIN - 1 and driver.counters.batch_sends == 0
    scripted.outcomes = [0, 1]  # the first cannot go this way (a name): sendto, then the batch again
    driver, sock, _ = drive(repairs(SEND_MIN + 1), wait_for=SEND_MIN + 1)
    assert scripted.made[1].calls == [(0, SEND_MIN + 1), (1, SEND_MIN + 1)]
    assert len(sock.sent) == SEND_MIN  # the first, and the last ones: too few left for a batch
    assert driver.counters.batch_sends == 1 and driver.counters.datagrams_sent == SEND_MIN + 1


def test_group_runs_keep_their_gso_send_between_batches_of_unicast(scripted: type[ScriptedBatch]) -> None:
    """Unicast repairs before and after a run to the group: two batches around one GSO send."""
    group: Address = ("239.255.1.1", 9)
    burst = [Datagram(bytes(100), group, True, None) for _ in range(4)]
    batch = [*repairs(4), *burst, *repairs(4)]
    gso_runs: list[int] = []

    class GsoSocket(DatagramSocket):
        def sendmsg(self, buffers: list[bytes], *_: Any) -> int:
            gso_runs.append(len(buffers))
            return sum(map(len, buffers))

    sock = GsoSocket()
    errors: list[NetworkError] = []

    async def main() -> Driver:
        driver = Driver(
            Endpoint(batch),
            sock,
            [],
            on_event=lambda _: True,
            on_error=errors.append,
            peer="test",
            unicast_errors_fatal=False,
        )
        driver.pump()
        driver.close()
        return driver

    driver = asyncio.run(main())
    sock.close()
    assert gso_runs == [4] and scripted.made[0].calls == [(0, 4), (8, 12)]
    assert driver.counters.datagrams_sent == 12 and errors == []


def test_without_sendmmsg_every_datagram_goes_by_sendto(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("smocast.aio.output.batch_sending_available", lambda: False)
    driver, sock, errors = drive(repairs(4), wait_for=4)
    assert len(sock.sent) == 4 and driver.counters.batch_sends == 0 and errors == []


# --- a real transfer with unicast repairs ------------------------------------------------------


class LossyReader(BatchReader):
    """Drops a seeded tenth of what the source sends (its data and its repairs); never an ACK."""

    server: Address = ("", 0)
    seeds = itertools.count(1)

    def __init__(self, sock: socket.socket, batch: int = 64, *, gro: bool = False, timestamps: bool = False) -> None:
        super().__init__(sock, batch, gro=gro, timestamps=timestamps)
        self._rng = random.Random(next(LossyReader.seeds))

    def read(self) -> list[tuple[memoryview, Address]]:
        got = super().read()
        return [(data, source) for data, source in got if source != self.server or self._rng.random() >= 0.1]


@needs_sendmmsg
@pytest.mark.network
def test_a_transfer_with_unicast_repairs_delivers_identical_copies_through_sendmmsg(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    net = loopback()
    LossyReader.server = net.server
    monkeypatch.setattr("smocast.aio.driver.BatchReader", LossyReader)
    data = payload(1 << 20, seed=11)

    async def transfer() -> tuple[list[bytes], Any, Any]:
        async def receive() -> bytes:
            async with smocast.connect(net.server, net.group, linger=0.1) as rx:
                return b"".join([chunk async for chunk in rx])

        async with smocast.open_channel(net.group, net.server, min_receivers=4) as ch:
            tasks = [asyncio.create_task(receive()) for _ in range(4)]
            await ch.send(data)
            assert ch._driver is not None
            counters, stats = ch._driver.counters, ch.stats
        return list(await asyncio.gather(*tasks)), counters, stats

    copies, counters, stats = run(transfer())
    assert [sha(got) for got in copies] == [sha(data)] * 4
    assert stats.repair_unicast > 0 and counters.batch_sends > 0  # repairs to several receivers, one call
