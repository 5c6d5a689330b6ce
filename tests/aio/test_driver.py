"""The pump on the event loop: drain loops, backpressure, the one timer, errors."""

from __future__ import annotations

import asyncio
import errno
import socket
import time
from typing import Any

import pytest

from smocast.aio import sockopts
from smocast.aio.driver import Driver
from smocast.aio.errors import NetworkError
from smocast.core.datagram import Address, Datagram

GROUP: Address = ("239.255.1.1", 9)
PEER: Address = ("127.0.0.1", 9)


class Endpoint:
    """A scripted sans-IO endpoint: returns ``batches`` one per call, records its input."""

    def __init__(self, *batches: list[Datagram], deadline: float | None = None) -> None:
        self.batches = list(batches)
        self.asked = 0
        self.received: list[bytes] = []
        self.deadline = deadline
        self.timer_calls = 0

    def receive_datagram(self, data: bytes, source: Address, now: float) -> None:
        self.received.append(data)

    def datagrams_to_send(self, now: float) -> list[Datagram]:
        self.asked += 1
        return self.batches.pop(0) if self.batches else []

    def next_deadline(self) -> float | None:
        return self.deadline

    def handle_timer(self, now: float) -> None:
        self.timer_calls += 1

    def next_event(self) -> object | None:
        return None


class FlakySocket:
    """A real socket's file descriptor with a scripted ``sendto``: errno by call number."""

    def __init__(self, fails: dict[int, int]) -> None:
        self._real = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.fails = fails
        self.calls = 0
        self.sent: list[bytes] = []

    def fileno(self) -> int:
        return self._real.fileno()

    def sendto(self, data: bytes, destination: Address) -> int:
        self.calls += 1
        code = self.fails.get(self.calls)
        if code == errno.EAGAIN:
            raise BlockingIOError(code, "Resource temporarily unavailable")
        if code is not None:
            raise OSError(code, "scripted failure")
        self.sent.append(data)
        return len(data)

    def close(self) -> None:
        self._real.close()


def datagrams(n: int, *, multicast: bool = True) -> list[Datagram]:
    return [Datagram(i.to_bytes(2, "big"), GROUP if multicast else PEER, multicast, None) for i in range(n)]


def make_driver(
    endpoint: Endpoint,
    sock: Any,
    errors: list[NetworkError],
    *,
    fatal: bool = False,
    read: list[socket.socket] | None = None,
) -> Driver:
    return Driver(
        endpoint,
        sock,
        read or [],
        on_event=lambda _: True,
        on_error=errors.append,
        peer="test",
        unicast_errors_fatal=fatal,
    )


async def until(condition: Any, limit: float = 5.0) -> None:
    async with asyncio.timeout(limit):
        while not condition():
            await asyncio.sleep(0.001)


def test_a_full_socket_queues_in_order_and_the_endpoint_waits() -> None:
    batch = datagrams(20)
    endpoint = Endpoint(batch)
    sock = FlakySocket({3: errno.EAGAIN, 9: errno.ENOBUFS})
    errors: list[NetworkError] = []

    async def main() -> Driver:
        driver = make_driver(endpoint, sock, errors)
        driver.pump()
        driver.pump()  # while datagrams wait for room the endpoint is not asked for more
        assert endpoint.asked == 1
        await until(lambda: len(sock.sent) == len(batch))
        driver.close()
        return driver

    driver = asyncio.run(main())
    assert sock.sent == [d.data for d in batch]  # nothing dropped, nothing reordered
    assert driver.counters.send_waits == 2 and driver.counters.datagrams_sent == len(batch)
    assert errors == []


def test_a_vanished_receiver_is_skipped_but_a_group_send_failure_is_fatal() -> None:
    unicast = datagrams(5, multicast=False)
    sock = FlakySocket({2: errno.ECONNREFUSED, 8: errno.EPERM})
    endpoint = Endpoint(unicast, datagrams(5))
    errors: list[NetworkError] = []

    async def main() -> Driver:
        driver = make_driver(endpoint, sock, errors)
        driver.pump()
        assert len(sock.sent) == 4 and driver.counters.unicast_send_errors == 1
        driver.pump()
        return driver

    driver = asyncio.run(main())
    assert driver.closed
    assert len(errors) == 1 and "sending to the group at 239.255.1.1:9" in str(errors[0])
    assert "not permitted" in str(errors[0]) and errors[0].errno == errno.EPERM


def test_a_receiver_treats_a_refusal_from_its_source_as_fatal() -> None:
    sock = FlakySocket({1: errno.ECONNREFUSED})
    errors: list[NetworkError] = []

    async def main() -> None:
        make_driver(Endpoint(datagrams(1, multicast=False)), sock, errors, fatal=True).pump()

    asyncio.run(main())
    assert len(errors) == 1 and "refused" in str(errors[0])


def test_a_drain_loop_reads_many_datagrams_per_wakeup() -> None:
    reader = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    reader.setblocking(False)
    reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    reader.bind(("127.0.0.1", 0))
    endpoint = Endpoint()
    errors: list[NetworkError] = []
    count = 600

    async def main() -> int:
        driver = make_driver(endpoint, reader, errors, read=[reader])
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as writer:
            for i in range(count):
                writer.sendto(i.to_bytes(4, "big") * 100, reader.getsockname())
        asked = endpoint.asked
        await until(lambda: len(endpoint.received) == count)
        pumps = endpoint.asked - asked
        driver.close()
        return pumps

    pumps = asyncio.run(main())
    assert [int.from_bytes(d[:4], "big") for d in endpoint.received] == list(range(count))
    assert all(len(d) == 400 for d in endpoint.received)
    assert pumps <= 10  # one pump per drained batch, not one per datagram


def test_a_deadline_the_endpoint_never_moves_does_not_spin_the_loop() -> None:
    endpoint = Endpoint(deadline=0.0)  # always due, and handle_timer leaves it there
    errors: list[NetworkError] = []

    async def main() -> None:
        driver = make_driver(endpoint, FlakySocket({}), errors)
        driver.pump()
        await asyncio.sleep(0.1)
        driver.close()

    asyncio.run(main())
    assert 1 <= endpoint.timer_calls < 1000  # a spinning loop would make tens of thousands


class OneShotEndpoint(Endpoint):
    """An endpoint whose deadline, once handled, is gone: as a real endpoint moves its own."""

    def handle_timer(self, now: float) -> None:
        super().handle_timer(now)
        self.deadline = None


@pytest.mark.parametrize("deadline_offset", [0.02, 0.05])
def test_the_timer_fires_at_the_deadline(deadline_offset: float) -> None:
    # The scripted Endpoint keeps a handled deadline, which the driver fires again a step later
    # (the test above): on a slow machine, before the poll below saw the first call.
    endpoint = OneShotEndpoint()
    errors: list[NetworkError] = []

    async def main() -> None:
        driver = make_driver(endpoint, FlakySocket({}), errors)
        endpoint.deadline = driver.now + deadline_offset
        driver.pump()
        await until(lambda: endpoint.timer_calls > 0)
        await asyncio.sleep(0.05)  # a timer that fired again would show here
        driver.close()

    asyncio.run(main())
    assert endpoint.timer_calls == 1


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.parametrize(
    "family",
    [
        pytest.param(socket.AF_INET, id="ipv4"),
        pytest.param(
            socket.AF_INET6,
            id="ipv6",
            marks=pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback here"),
        ),
    ],
)
def test_an_icmp_port_unreachable_names_the_dead_receiver_and_sending_goes_on(family: socket.AddressFamily) -> None:
    """The source's socket has IP_RECVERR (IPV6_RECVERR): a unicast to a closed port comes back
    as an ICMP error that makes the next sendto fail once; the driver reads the error queue,
    reports the address, sends the datagram that met the error, and the loop does not spin."""
    host = "::1" if family == socket.AF_INET6 else "127.0.0.1"
    source = socket.socket(family, socket.SOCK_DGRAM)
    source.setblocking(False)
    source.bind((host, 0))
    sockopts.report_unreachable(source)
    live = socket.socket(family, socket.SOCK_DGRAM)
    live.bind((host, 0))
    live.settimeout(2.0)
    with socket.socket(family, socket.SOCK_DGRAM) as closed:
        closed.bind((host, 0))
        dead = closed.getsockname()[1]
    to_dead = Datagram(b"repair", (host, dead), False, None)
    to_live = [Datagram(bytes([i]), live.getsockname()[:2], False, None) for i in range(3)]
    endpoint = Endpoint([to_dead], to_live)
    gone: list[Address] = []
    errors: list[NetworkError] = []

    async def main() -> Driver:
        driver = Driver(
            endpoint,
            source,
            [source],
            on_event=lambda _: True,
            on_error=errors.append,
            peer="receivers",
            unicast_errors_fatal=False,
            on_unreachable=lambda address, now: gone.append(address),
        )
        driver.pump()
        await asyncio.sleep(0.05)  # the ICMP error is back; reading it is the driver's job
        driver.pump()
        await until(lambda: bool(gone))
        await asyncio.sleep(0.05)
        return driver

    driver = asyncio.run(main())
    assert gone == [(host, dead)] and errors == [] and not driver.closed
    assert [live.recv(16) for _ in to_live] == [d.data for d in to_live]  # none lost to the error
    assert driver.counters.icmp_errors == 1
    driver.close()
    live.close()


class SlowStampedReader:
    """Two batches, each arriving while the drain loop runs (30 ms after the read before)."""

    timestamps = True
    full = True  # each read fills the batch: the drain reads on

    def __init__(self) -> None:
        self.arrival: float | None = None
        self.left = 2
        self.read_at: list[float] = []  # on the loop's clock (monotonic), when each batch arrived

    def read(self) -> list[tuple[memoryview, Address]]:
        if not self.left:
            raise BlockingIOError
        self.left -= 1
        time.sleep(0.03)  # the batch arrives while the drain loop runs
        self.read_at.append(time.monotonic())
        self.arrival = time.time()  # the kernel's stamp: CLOCK_REALTIME
        return [(memoryview(b"x"), PEER)]


def test_each_batchs_arrival_is_measured_when_it_is_read_not_when_the_drain_began() -> None:
    """A batch that arrived after the drain loop began is not dated back to its start: a
    one-way delay sample must never come out lower than the truth (the filter keeps minima)."""
    got: list[tuple[float, float | None]] = []
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    def stamped(batch: Any, now: float, *, arrival: float | None) -> None:
        got.append((now, arrival))

    reader = SlowStampedReader()

    async def main() -> None:
        driver = make_driver(Endpoint(), sock, [])
        driver._drain_batches(reader, None, lambda *_: None, stamped)  # type: ignore[arg-type]
        driver.close()

    try:
        asyncio.run(main())
    finally:
        sock.close()
    (now, first), (_, second) = got
    assert first is not None and second is not None
    # ordering only, from lower bounds a sleep guarantees (load can only widen them): each batch is
    # dated when it arrived, at least one 30 ms sleep after the one before, never back to the
    # drain's start
    assert now < reader.read_at[0] < reader.read_at[1]
    assert first >= now + 0.025 and second >= first + 0.025
