"""Real-time streaming (TCP-RTM) on real sockets over loopback multicast: stalls, late joiners, skips, the CLI."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from typing import Any

import pytest
from tests.aio.netutil import Loopback, loopback, run

import smocast
from smocast.aio import AsyncChannel, AsyncReceiver, ResetError
from smocast.aio.receiver import Gap, Message
from smocast.aio.sockets import loopback_multicast_works, port_in_use
from smocast.apps.stream import HEADER, LiveTally, StreamReport, StreamSpec, stream, synthetic_bodies, watch
from smocast.cli.main import main
from smocast.smo.events import ReceiverDropped
from smocast.wire import PacketType, decode

pytestmark = [
    pytest.mark.network,
    pytest.mark.timeout(90),
    pytest.mark.skipif(not loopback_multicast_works(), reason="loopback multicast is unavailable here"),
]

REALTIME = {"realtime": True, "framing": True, "playout_delay": 0.3, "linger": 0.1}


def live_channel(net: Loopback, **options: Any) -> smocast.aio.Opening[AsyncChannel]:
    return smocast.open_channel(net.group, net.server, admission="continuous", min_receivers=0, **options)


async def tally_of(rx: AsyncReceiver) -> LiveTally:
    tally = LiveTally()
    await watch(rx, tally)
    return tally


def test_a_stalled_receiver_is_reset_while_three_others_keep_the_rate_and_it_may_rejoin() -> None:
    net = loopback()
    spec = StreamSpec(rate=200, size=1000, packets=1000, min_receivers=4)

    async def main() -> tuple[
        StreamReport, list[LiveTally], list[int], list[Message | Gap], BaseException | None, int | None
    ]:
        async with live_channel(net, policy="buffer:400000", progress_timeout=1.5) as ch:
            readers = [await smocast.connect(net.server, net.group, **REALTIME) for _ in range(3)]
            stalled = await smocast.connect(net.server, net.group, receive_buffer=65536, **REALTIME)
            tallies = [LiveTally() for _ in readers]
            tasks = [asyncio.create_task(watch(rx, tally)) for rx, tally in zip(readers, tallies, strict=True)]
            streaming = asyncio.create_task(stream(ch, spec, synthetic_bodies(spec.size)))
            await dropped_one(ch)  # the stalled receiver never read a message so far
            at_reset = [tally.messages for tally in tallies]
            kept, error = await drain_until_reset(stalled)
            rejoin_start = await rejoin(net)
            report = await streaming
            await asyncio.gather(*tasks)
        for rx in readers:
            await rx.aclose()
        return report, tallies, at_reset, kept, error, rejoin_start

    report, tallies, at_reset, kept, error, rejoin_start = run(main())
    summary = report.summary
    assert (summary.receivers, summary.completed, summary.dropped, summary.left) == (5, 3, 1, 1)
    (dropped,) = [r for r in summary.records if r.status == "dropped"]
    assert dropped.reason is not None and "window shut" in dropped.reason
    for tally in tallies:  # every message reached the three readers
        assert (tally.messages, tally.first, tally.last, tally.gaps) == (1000, 0, 999, 0)
    assert isinstance(error, ResetError) and "no-progress" in str(error)
    assert 0 < len(kept) < 1000  # what it had taken in before the reset, then the reset itself
    # Not held back until the reset: while the stalled window stayed shut (1.5 s, 300 messages at
    # 200/s), the readers went on well past what the stalled receiver had taken in.
    assert min(at_reset) >= len(kept) + 100, (at_reset, len(kept))
    assert rejoin_start is not None and rejoin_start > 0  # a new connection starts at the current sequence


async def dropped_one(ch: AsyncChannel) -> None:
    async for event in ch.events():
        if isinstance(event, ReceiverDropped):
            return


async def drain_until_reset(rx: AsyncReceiver) -> tuple[list[Message | Gap], BaseException | None]:
    kept: list[Message | Gap] = []
    try:
        async for item in rx.messages():
            kept.append(item)
    except ResetError as exc:
        return kept, exc
    finally:
        rx.close()
    return kept, None


async def rejoin(net: Loopback) -> int | None:
    """Connect again after the reset, while the stream goes on; return where the new connection starts."""
    async with smocast.connect(net.server, net.group, timeout=2.0, **REALTIME) as rx:
        await rx.read_message()
        return rx.start


def test_a_late_joiner_starts_at_the_current_message_cleanly() -> None:
    net = loopback()
    spec = StreamSpec(rate=100, size=600, packets=200, min_receivers=1)

    async def main() -> tuple[LiveTally, LiveTally, int | None]:
        async with live_channel(net) as ch:
            early = await smocast.connect(net.server, net.group, **REALTIME)
            early_task = asyncio.create_task(tally_of(early))
            streaming = asyncio.create_task(stream(ch, spec, synthetic_bodies(spec.size)))
            await asyncio.sleep(0.7)
            async with smocast.connect(net.server, net.group, **REALTIME) as late:
                late_tally = await tally_of(late)
            await streaming
            await early.aclose()
            return await early_task, late_tally, late.start

    early, late, start = run(main())
    assert (early.messages, early.first, early.last) == (200, 0, 199)
    assert start is not None and start > 0 and start % (spec.size + 4) == 0  # a message boundary
    assert late.first is not None and late.first == start // (spec.size + 4) > 0
    assert (late.last, late.gaps, late.skipped_bytes, late.perceived_loss) == (199, 0, 0, 0.0)
    assert late.messages == 200 - late.first


def drop_first_copy_of(rx: AsyncReceiver, offset: int) -> list[int]:
    """Make the receiver lose the first DATA segment at ``offset`` (as the network would)."""
    endpoint = rx._receiver
    assert endpoint is not None
    original = endpoint.receive_datagram
    dropped: list[int] = []

    def lossy(data: bytes, source: tuple[str, int], now: float, *, via_group: bool = False) -> None:
        packet = decode(data)
        if packet.type is PacketType.DATA and packet.seq == offset and not dropped:
            dropped.append(offset)
            return
        original(data, source, now, via_group=via_group)

    def lossy_batch(
        batch: list[tuple[memoryview, tuple[str, int]]], now: float, *, via_group: bool = False, arrival: object = None
    ) -> None:
        for data, source in batch:  # one by one: the general path, with the loss above
            lossy(bytes(data), source, now, via_group=via_group)

    endpoint.receive_datagram = lossy  # type: ignore[method-assign]
    endpoint.receive_datagrams = lossy_batch  # type: ignore[method-assign,assignment]
    return dropped


def test_without_framing_a_waiting_read_skips_the_hole_and_counts_it() -> None:
    net = loopback()
    data = bytes(range(256)) * 40  # 10240 bytes: several segments

    async def main() -> tuple[bytes, AsyncReceiver, list[int]]:
        async with live_channel(net, mss=1000) as ch:
            async with smocast.connect(net.server, net.group, realtime=True, linger=0.1) as rx:
                dropped = drop_first_copy_of(rx, 2000)
                await ch.send(data)
                ch.close()
                got = b"".join([chunk async for chunk in rx])
            await ch.wait_closed()
        return got, rx, dropped

    got, rx, dropped = run(main())
    assert dropped == [2000]
    assert got == data[:2000] + data[3000:]  # the later data, not a stall until the repair
    assert (rx.stats.skips, rx.stats.skipped_bytes) == (1, 1000)
    assert rx.last_gap is not None and (rx.last_gap.start, rx.last_gap.end) == (2000, 3000)


def test_with_framing_messages_come_whole_or_as_one_gap_notice() -> None:
    net = loopback()
    bodies = [bytes([i]) * 500 for i in range(12)]

    async def main() -> list[Message | Gap]:
        async with live_channel(net, mss=1000) as ch:
            async with smocast.connect(net.server, net.group, realtime=True, framing=True, linger=0.1) as rx:
                drop_first_copy_of(rx, 3 * 504)  # the fourth message
                for body in bodies:
                    await ch.send_message(body)
                ch.close()
                items = [item async for item in rx.messages()]
            await ch.wait_closed()
        return items

    items = run(main())
    gaps = [i for i in items if isinstance(i, Gap)]
    assert [(g.start, g.end) for g in gaps] == [(3 * 504, 4 * 504)]
    assert [i.data for i in items if isinstance(i, Message)] == bodies[:3] + bodies[4:]
    assert isinstance(items[3], Gap)


def smocast_cli(*argv: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "smocast.cli.main", *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def test_stream_and_recv_realtime_commands_report_no_loss(capsys: pytest.CaptureFixture[str]) -> None:
    net = loopback(ssm=True)
    sender = smocast_cli(
        "stream",
        "--group",
        net.group_text,
        "--bind",
        net.server_text,
        "--rate",
        "100",
        "--size",
        "700",
        "--packets",
        "150",
        "--min-receivers",
        "1",
        "--wait",
        "20s",
        "--json",
    )
    try:
        deadline = time.monotonic() + 10
        while not port_in_use(net.server) and time.monotonic() < deadline and sender.poll() is None:
            time.sleep(0.01)
        code = main(["recv", "--realtime", "--server", net.server_text, "--group", net.group_text, "--json"])
        sent_out, sent_err = sender.communicate(timeout=30)
    finally:
        sender.kill()
    received = json.loads(capsys.readouterr().out)
    sent = json.loads(sent_out)
    assert code == 0 and sender.returncode == 0, sent_err
    assert (received["messages"], received["perceived_loss"], received["missing"]) == (150, 0.0, 0)
    assert (received["first_message"], received["last_message"], received["ended"]) == (0, 149, "fin")
    assert received["latency_ms"]["p50"] > 0 and received["jitter_ms"] >= 0
    assert (sent["messages"], sent["bytes"]) == (150, 150 * 700)
    assert (sent["receivers"]["joined"], sent["receivers"]["completed"], sent["dropped"]) == (1, 1, [])


def test_ctrl_c_ends_the_stream_with_fin(capsys: pytest.CaptureFixture[str]) -> None:
    net = loopback()
    sender = smocast_cli(
        "stream",
        "--group",
        net.group_text,
        "--bind",
        net.server_text,
        "--rate",
        "50",
        "--size",
        "200",
        "--min-receivers",
        "1",
        "--json",
    )

    async def receive() -> tuple[LiveTally, bool]:
        async with smocast.connect(net.server, net.group, **REALTIME) as rx:
            await asyncio.sleep(0.5)
            sender.send_signal(2)  # SIGINT, as Ctrl-C
            tally = await tally_of(rx)
            return tally, rx.finished

    try:
        deadline = time.monotonic() + 10
        while not port_in_use(net.server) and time.monotonic() < deadline and sender.poll() is None:
            time.sleep(0.01)
        tally, finished = run(receive(), limit=30)
        out, err = sender.communicate(timeout=30)
    finally:
        sender.kill()
    report = json.loads(out)
    assert sender.returncode == 0, err
    assert finished and report["interrupted"] is True
    assert report["messages"] == tally.messages > 0 and tally.last == report["messages"] - 1
    assert report["receivers"]["completed"] == 1


def test_header_round_trip() -> None:
    tally = LiveTally()
    assert tally.on_message(HEADER.pack(7, 1000.0) + b"body", 1000.25) == b"body"
    assert tally.on_message(b"short", 1000.5) is None
    assert (tally.first, tally.messages, tally.malformed) == (7, 1, 1)
    assert tally.latencies[0] == pytest.approx(0.25)  # arrival minus the send time in the header
