"""The runtime's per-receiver records: O(1) per receiver that goes, and refusals counted (issue 10).

Before, each receiver that completed, left or was dropped refreshed the record of every live
receiver (10,000 drops froze the source for 37 s: O(N^2)); the events already carry the
receiver's final accounting.
"""

from __future__ import annotations

import io

from rich.console import Console

from smocast.aio.channel import AsyncChannel
from smocast.cli.receivers_view import receiver_rows, receivers_table
from smocast.cli.units import Units
from smocast.smo import events as ev
from smocast.smo.config import ChannelConfig
from smocast.wire import ResetCode

GROUP = ("232.1.1.1", 5000)


def info(index: int, acked: int) -> ev.ReceiverInfo:
    return ev.ReceiverInfo(index, ("198.51.100.1", index), "closed", 0.0, 0, acked, 0.01, 14_000, 3, 1, False)


def test_a_receiver_that_goes_updates_its_own_record_only() -> None:
    channel = AsyncChannel(GROUP, bind=("127.0.0.1", 0), interface=None, ttl=1, config=ChannelConfig())
    scans = 0
    endpoint = channel.endpoint

    def counting_receivers() -> list[ev.ReceiverInfo]:
        nonlocal scans
        scans += 1
        return []

    endpoint.receivers = counting_receivers  # type: ignore[method-assign]
    count = 2_000
    for i in range(1, count + 1):
        channel._on_event(ev.ReceiverJoined(i, ("198.51.100.1", i), 0, 0.0))
    for i in range(1, count + 1):
        dropped = ev.ReceiverDropped(i, ("198.51.100.1", i), ev.DropReason.NO_PROGRESS, "x", 1.0, info(i, 100 * i))
        channel._on_event(dropped)
    assert scans == 0, f"{scans:,} passes over the receivers for {count:,} drops"
    records = {r.receiver: r for r in channel._book.records([])}  # nothing live: no refresh
    assert (records[7].status, records[7].acked, records[7].repairs_unicast) == ("dropped", 700, 3)


def test_refused_attempts_are_counted_by_the_channel_not_by_records() -> None:
    channel = AsyncChannel(GROUP, bind=("127.0.0.1", 0), interface=None, ttl=1, config=ChannelConfig())
    channel.endpoint.stats.refused = 12_345
    channel._on_event(ev.ReceiverDropped(1, ("198.51.100.1", 1), ev.DropReason.REFUSED, "late", 1.0))
    summary = channel.summary()
    assert (summary.refused, len(summary.records)) == (12_345, 1)


def test_a_receiver_that_left_says_why_in_its_record_the_table_and_json() -> None:
    channel = AsyncChannel(GROUP, bind=("127.0.0.1", 0), interface=None, ttl=1, config=ChannelConfig())
    address = ("198.51.100.1", 3)
    channel._on_event(ev.ReceiverJoined(3, address, 0, 0.0))
    said = "cannot write out/f.bin: disk full [red]\x1b[2J"  # the receiver's words, from the network
    channel._on_event(ev.ReceiverLeft(3, address, 1.0, info(3, 300), ResetCode.DISK_FULL, said))
    (record,) = channel.records()
    assert (record.status, record.reason) == ("left", f"disk-full: {said}")
    assert record.as_json()["reason"] == f"disk-full: {said}"
    rows = receiver_rows([record], [], now=2.0)
    out = io.StringIO()
    Console(file=out, width=300, color_system=None).print(
        receivers_table(rows, sort="acked", top=5, units=Units("MiB"), mss=1400, title="receivers")
    )
    text = out.getvalue()
    assert "left" in text and "disk-full: cannot write out/f.bin: disk full [red]\\x1b[2J" in text
    assert "\x1b" not in text
