"""Batched socket I/O: recvmmsg with GRO, GSO sends, their fallbacks, the driver on both paths,
and reads of the large chunks a batch delivers."""

from __future__ import annotations

import asyncio
import errno
import select
import socket
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.aio.netutil import loopback, payload, run, sha

import smocast
from smocast.aio import batchio
from smocast.aio.batchio import BatchReader, GsoSender, batch_reading_available, enable_gro, gso_runs
from smocast.aio.inbox import Inbox
from smocast.aio.sockets import listener_socket, loopback_multicast_works
from smocast.smo.config import ReceiverConfig

needs_batches = pytest.mark.skipif(not batch_reading_available(), reason="recvmmsg is not available here")


def test_runs_join_equal_sizes_to_one_key_within_the_limits() -> None:
    sizes = [5, 5, 5, 5, 3, 3, 7, 7]
    keys: list[object] = ["g", "g", "g", "g", "g", None, "g", "h"]
    assert gso_runs(sizes, keys, max_segments=3) == [(0, 3), (3, 4), (4, 5), (5, 6), (6, 7), (7, 8)]
    assert gso_runs(sizes[:4], keys[:4], max_bytes=10) == [(0, 2), (2, 4)]
    assert gso_runs([], []) == []


class RefusingSocket:
    def __init__(self, code: int) -> None:
        self.code = code
        self.calls = 0

    def sendmsg(self, *args: Any) -> int:
        self.calls += 1
        raise OSError(self.code, "refused")


@pytest.mark.parametrize("code", [errno.EIO, errno.EINVAL, errno.EOPNOTSUPP])
def test_gso_turns_itself_off_at_the_first_refusal(code: int) -> None:
    sender = GsoSender()
    sock = RefusingSocket(code)
    assert sender.send(sock, [b"a" * 10, b"b" * 10], 10, ("239.1.1.1", 1)) is False  # type: ignore[arg-type]
    assert not sender.enabled and sock.calls == 1


def test_other_send_errors_raise_and_leave_gso_on() -> None:
    sender = GsoSender()
    with pytest.raises(BlockingIOError):
        sender.send(RefusingSocket(errno.EAGAIN), [b"a"], 1, ("239.1.1.1", 1))  # type: ignore[arg-type]
    assert sender.enabled


def _group_pair(group: tuple[str, int]) -> tuple[socket.socket, socket.socket]:
    receiver = listener_socket(group, "127.0.0.1")
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sender.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1"))
    sender.bind(("127.0.0.1", 0))
    return receiver, sender


def _read_all(reader: BatchReader, expected: int) -> list[tuple[bytes, tuple[str, int]]]:
    got: list[tuple[bytes, tuple[str, int]]] = []
    deadline = time.monotonic() + 5.0
    while len(got) < expected and time.monotonic() < deadline:
        try:
            got += [(bytes(view), source) for view, source in reader.read()]
        except BlockingIOError:
            time.sleep(0.01)
    return got


@needs_batches
@pytest.mark.network
@pytest.mark.parametrize("stamped", [False, True], ids=["", "stamped"])
@pytest.mark.parametrize("gro", [True, False], ids=["gro", "no-gro"])
def test_the_reader_returns_every_datagram_whole_and_in_order(gro: bool, stamped: bool) -> None:
    """GSO bursts, single datagrams and a short last segment, read through the same slots again
    and again: every datagram comes back as sent, with its source (the slots' name and control
    lengths are reset after each read). Stamped, every message carries a timestamp, and only
    the coalesced ones a UDP_GRO size as well: batches of singles alone skip the parsing."""
    if not loopback_multicast_works():
        pytest.skip("no multicast on loopback")
    net = loopback()
    receiver, sender = _group_pair(net.group)
    if gro:
        assert enable_gro(receiver)
    if stamped:
        assert batchio.enable_timestamps(receiver)
    # odd: coalesced and single messages take turns in each slot
    reader = BatchReader(receiver, batch=3, gro=gro, timestamps=stamped)
    gso = GsoSender()
    sent: list[bytes] = []
    try:
        for round_ in range(6):
            burst = [bytes([round_, i]) * 700 for i in range(5)] + [b"short" * (round_ + 1)]
            assert gso.send(sender, burst, 1400, net.group)
            singles = [b"single %d.%d" % (round_, i) for i in range(round_ % 3 + 1)]
            for single in singles:
                sender.sendto(single, net.group)
            sent += [*burst, *singles]
        got = _read_all(reader, len(sent))
        address = sender.getsockname()
    finally:
        reader.close()
        receiver.close()
        sender.close()
    assert [data for data, _ in got] == sent
    assert {source for _, source in got} == {address}


@needs_batches
@pytest.mark.network
@pytest.mark.parametrize("gro", [True, False], ids=["gro", "no-gro"])
def test_the_reader_stamps_each_batch_with_the_kernels_arrival_time(gro: bool) -> None:
    """With ``SO_TIMESTAMPNS`` (and ``UDP_GRO``: two control messages in one slot) every read says
    when its last message reached the host, and the data still comes back whole."""
    if not loopback_multicast_works():
        pytest.skip("no multicast on loopback")
    net = loopback()
    receiver, sender = _group_pair(net.group)
    assert batchio.enable_timestamps(receiver)
    if gro:
        assert enable_gro(receiver)
    reader = BatchReader(receiver, batch=4, gro=gro, timestamps=True)
    gso = GsoSender()
    try:
        for round_ in range(3):
            before = time.time()
            burst = [bytes([round_, i]) * 700 for i in range(3)]
            assert gso.send(sender, burst, 1400, net.group)
            select.select([receiver], [], [], 5.0)  # it arrived (the burst travels in one piece)
            time.sleep(0.05)
            read_at = time.time()  # the stamp is the arrival, before this, not the read
            got = _read_all(reader, len(burst))
            assert [data for data, _ in got] == burst
            assert reader.arrival is not None
            assert before <= reader.arrival <= read_at
    finally:
        reader.close()
        receiver.close()
        sender.close()


@needs_batches
def test_the_reader_decodes_both_families() -> None:
    name4 = socket.AF_INET.to_bytes(2, "little") + (5000).to_bytes(2, "big") + socket.inet_aton("10.1.2.3")
    assert batchio._decode_name(name4) == ("10.1.2.3", 5000)
    name6 = socket.AF_INET6.to_bytes(2, "little") + (6000).to_bytes(2, "big") + bytes(4)
    name6 += socket.inet_pton(socket.AF_INET6, "fd00::7") + bytes(4)
    assert batchio._decode_name(name6) == ("fd00::7", 6000)


async def _transfer(net: Any, data: bytes, receivers: int) -> tuple[list[bytes], list[Any], Any]:
    async def receive() -> tuple[bytes, Any]:
        async with smocast.connect(net.server, net.group, linger=0.1) as rx:
            parts = [chunk async for chunk in rx]
            assert rx._driver is not None
            return b"".join(parts), rx._driver.counters

    async with smocast.open_channel(net.group, net.server, min_receivers=receivers) as ch:
        tasks = [asyncio.create_task(receive()) for _ in range(receivers)]
        await ch.send(data)
        assert ch._driver is not None
        source = ch._driver.counters
    results = await asyncio.gather(*tasks)
    return [got for got, _ in results], [counters for _, counters in results], source


@pytest.mark.network
@pytest.mark.parametrize("batched", [True, False], ids=["batched", "one-by-one"])
def test_a_transfer_is_the_same_on_the_batched_path_and_the_general_one(
    batched: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The driver's batched path (recvmmsg, GRO, GSO, receive_datagrams) and its general path
    (recvfrom_into, sendto, receive_datagram) deliver the same bytes; the batched one really
    batches where the kernel offers it."""
    if not batched:
        monkeypatch.setattr("smocast.aio.driver.batch_reading_available", lambda: False)
        monkeypatch.setattr("smocast.aio.output.GsoSender", lambda enabled=True: GsoSender(enabled=False))
    net = loopback()
    data = payload(2 << 20, seed=5)
    copies, counters, source = run(_transfer(net, data, 2))
    assert [sha(got) for got in copies] == [sha(data)] * 2
    if batched and batch_reading_available():
        assert source.gso_sends > 0
        assert all(c.reads < c.datagrams_received for c in counters)  # several datagrams per system call
    if not batched:
        assert source.gso_sends == 0
        assert all(c.reads == c.datagrams_received for c in counters)


@settings(max_examples=200, deadline=None)
@given(
    chunks=st.lists(st.binary(min_size=1, max_size=300), min_size=1, max_size=12),
    sizes=st.lists(st.integers(1, 700), min_size=1, max_size=30),
)
def test_reads_of_any_size_return_the_stream_in_order(chunks: list[bytes], sizes: list[int]) -> None:
    """A chunk may be a whole batch's run: reads take it piece by piece, in order, nothing lost."""
    inbox = Inbox(ReceiverConfig())  # an AsyncReceiver's reading side
    for chunk in chunks:
        inbox.add_bytes(chunk)
    out: list[bytes] = []
    index = 0
    while inbox.has_bytes:
        n = sizes[index % len(sizes)]
        piece = inbox.take(n)
        assert 1 <= len(piece) <= n
        out.append(piece)
        index += 1
    assert b"".join(out) == b"".join(chunks)


@pytest.mark.network
def test_the_sources_loss_filter_gets_the_receivers_one_way_delays(monkeypatch: pytest.MonkeyPatch) -> None:
    """End to end over loopback: the receiver stamps the group's batches (SO_TIMESTAMPNS), its
    ACKs carry the one-way delay, and the source's loss filter takes them."""
    if not loopback_multicast_works():
        pytest.skip("no multicast on loopback")
    from smocast.core.congestion import LossFilter

    samples: list[int] = []
    original = LossFilter.on_delay_sample

    def record(self: LossFilter, sample: int, now: float) -> None:
        samples.append(sample)
        original(self, sample, now)

    monkeypatch.setattr(LossFilter, "on_delay_sample", record)
    net = loopback()
    data = payload(2 << 20)

    async def main() -> bytes:
        async def receive() -> bytes:
            async with smocast.connect(net.server, net.group, linger=0.1) as rx:
                return b"".join([chunk async for chunk in rx])

        async with smocast.open_channel(net.group, net.server, min_receivers=1, congestion_control="lossfilter") as ch:
            task = asyncio.create_task(receive())
            await ch.send(data)
        return await task

    assert sha(run(main())) == sha(data)
    assert len(samples) > 10
    queueing = [(s - min(samples)) % 2**32 for s in samples]
    assert sorted(queueing)[len(queueing) // 2] < 50_000  # microseconds: one-way delays on loopback, not garbage
