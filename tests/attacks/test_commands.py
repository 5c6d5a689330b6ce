"""The real commands and the runtime under attack, on loopback (issue 10).

Measured on main before the defence: ``smocast send`` exited 1 after any drop, also when
the quorum the user asked for was met (the issue asks: non-zero after drops, unless a quorum
was asked for and met); the reason text of an RST was printed to the terminal with rich markup interpreted and raw
escape sequences passed through; each SYN refused after the start left a record in the
channel's report (100,000 SYNs: a 36.7 MB JSON report with 100,001 entries).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import time
from pathlib import Path

import pytest
from tests.aio.netutil import loopback, payload, run, sha
from tests.attacks import forge
from tests.attacks.realnet import silent_receiver, wait_bound
from tests.attacks.realnet import smocast as command

import smocast
from smocast.core.datagram import Address
from smocast.wire import Packet, PacketType

pytestmark = pytest.mark.network

RECORD_BOUND = 64


@pytest.mark.parametrize(
    "policy",
    [
        "slowest",  # exits 1 before the defence too: any drop made it fail
        "quorum:0.5",
    ],
)
def test_send_exits_non_zero_after_drops_unless_a_quorum_was_asked_for_and_met(tmp_path: Path, policy: str) -> None:
    net = loopback()
    data = payload(300_000, seed=41)
    (tmp_path / "out").mkdir()
    (tmp_path / "file.bin").write_bytes(data)
    sender = command(
        "send", str(tmp_path / "file.bin"), "--group", net.group_text, "--bind", net.server_text,
        "--min-receivers", "2", "--progress-timeout", "1s", "--policy", policy, "--wait", "20s", "--json",
    )  # fmt: skip
    receiver = None
    try:
        wait_bound(net.server, sender)
        silent_receiver(net.server)  # joins, then says nothing: dropped after 1 s without progress
        receiver = command("recv", "--server", net.server_text, "--group", net.group_text, "-o", str(tmp_path / "out"))
        out, err = sender.communicate(timeout=60)
        receiver.communicate(timeout=30)
    finally:
        for process in (sender, receiver):
            if process is not None:
                process.kill()
    report = json.loads(out)
    assert (tmp_path / "out" / "file.bin").read_bytes() == data and receiver.returncode == 0
    assert (report["completed"], report["dropped"]) == (1, 1), err
    if policy == "slowest":
        assert sender.returncode != 0, "smocast send exited 0 after dropping a receiver"
        assert report["outcome"] == "1 receiver dropped"
    else:
        assert sender.returncode == 0, f"exit {sender.returncode} though the quorum (1 of 2) was met"
        assert report["outcome"] == "quorum 1 of 2 met: 1 completed, 1 receiver dropped"


EVIL_REASON = b"[blink]forged[/blink] \x1b]0;owned\x07\x1b[2J\x08 end"


@pytest.mark.root
def test_recv_prints_a_forged_rst_reason_as_plain_text(tmp_path: Path) -> None:
    """An on-path attacker reads the receiver's ACK, then sends it an RST at the exact
    expected sequence, from the source's address, with markup and escapes in its reason."""
    net = loopback()
    (tmp_path / "file.bin").write_bytes(payload(10_000))
    (tmp_path / "out").mkdir()
    env = {**os.environ, "FORCE_COLOR": "1", "TERM": "xterm-256color", "COLUMNS": "200"}  # as on a terminal
    with forge.LoopbackSniffer() as sniffer:
        sender = command(
            "send",
            str(tmp_path / "file.bin"),
            "--group",
            net.group_text,
            "--bind",
            net.server_text,
            "--min-receivers",
            "2",
            "--wait",
            "20s",
            "--json",
            "--insecure",
        )  # fmt: skip  (the plain protocol's own defence: the secure mode never lets this RST through)
        receiver = None
        try:
            wait_bound(net.server, sender)
            receiver = command(
                "recv", "--server", net.server_text, "--group", net.group_text, "-o", str(tmp_path / "out"),
                "--insecure", env=env,
            )  # fmt: skip
            ack = wait_for_ack(sniffer, net.server)  # admission waits for a second receiver: nothing moves
            forged = forge.rst(ack[1].connection, seq=ack[1].ack, reason=EVIL_REASON)
            forge.send_spoofed(forged, net.server, ack[0])
            _, err = receiver.communicate(timeout=20)
        finally:
            for process in (sender, receiver):
                if process is not None:
                    process.kill()
    assert "forged" in err, f"the reason was not shown: {err!r}"
    for injected in ("\x1b]0;", "\x07", "\x1b[2J", "\x08"):
        assert injected not in err, f"{injected!r} from the wire reached the terminal: {err!r}"
    assert "[blink]forged[/blink]" in err, f"markup from the wire was interpreted: {err!r}"


def wait_for_ack(sniffer: forge.LoopbackSniffer, server: Address, limit: float = 10.0) -> tuple[Address, Packet]:
    """The first ACK a receiver sends to ``server``: its address and the packet."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        for source, destination, raw in sniffer.drain():
            if destination != server:
                continue
            for packet in forge.decoded([raw]):
                if packet.type is PacketType.ACK:
                    return source, packet
        time.sleep(0.01)
    raise AssertionError("no ACK seen on the loopback")


def test_syns_refused_during_a_transfer_leave_the_report_bounded() -> None:
    net = loopback()
    first, second = payload(200_000, seed=1), payload(200_000, seed=2)
    syns = 3_000

    async def main() -> tuple[bytes, int]:
        async with (
            smocast.open_channel(net.group, net.server, min_receivers=1) as channel,
            smocast.connect(net.server, net.group, linger=0.1) as rx,
        ):
            await channel.send(first)
            got = await rx.readexactly(len(first))
            await flood(net.server, syns)
            await channel.send(second)
            channel.close()
            rest = b"".join([chunk async for chunk in rx])
            summary = await channel.wait_closed()
        return got + rest, len(summary.records)

    got, records = run(main())
    assert sha(got) == sha(first + second)
    assert records <= 1 + RECORD_BOUND, f"{records:,} records after {syns:,} refused SYNs"


async def flood(server: Address, count: int) -> None:
    """``count`` SYNs with distinct connection ids, in batches the source's socket can take."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        for n in range(count):
            sock.sendto(forge.syn(0x10000 + n), server)
            if n % 100 == 99:
                await asyncio.sleep(0.005)
    await asyncio.sleep(0.3)
