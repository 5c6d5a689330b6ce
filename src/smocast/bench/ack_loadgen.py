"""The load generator of ``smocast bench ack-server``: many TCP-SMO receivers that only ACK.

Run as its own process (``python -m smocast.bench.ack_loadgen``, started by
:mod:`smocast.bench.ack_server`). Each simulated receiver has its own UDP socket connected
to the source, so the source sees one address and connection per receiver, exactly as with
real receivers. One extra socket joins the group to learn how far the source has sent.

1. Handshake: each receiver sends SYN and answers every SYN-ACK with the ACK that
   establishes it (again, if the source repeats its SYN-ACK), until the first DATA shows that
   admission is over and the transfer started.
2. Steady state, in rounds: each receiver whose acknowledged point is behind the highest byte
   seen on the group acknowledges ``step`` more bytes (two segments by default, as a receiver
   that ACKs every second segment), echoing the TSval of the oldest segment it covers. Every ACK is a plain ACK that
   the source accepts: cumulative, strictly increasing per receiver, never beyond what was
   sent. The window each receiver advertises (``--window``) bounds how far the source runs
   ahead of the slowest receiver, and so how many rounds of ACKs can queue at the source.
3. Control on stdin: ``start`` marks the beginning of the measured interval, ``stop`` its end;
   after ``stop`` the generator drains what the source sent to the receivers' sockets and
   prints one JSON object (counters in total and over the interval), then exits.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import selectors
import socket
import struct
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from smocast.aio.sockets import receiver_sockets
from smocast.core.datagram import Address
from smocast.core.timestamps import timestamp
from smocast.wire import NO_COOKIE, VERSION, DecodeError, Packet, PacketType, data_fields, decode, encode, encode_ack

SYN_RETRY = 0.5  # seconds before a receiver without a SYN-ACK sends its SYN again
HANDSHAKE_LIMIT = 60.0  # seconds for the source to start the transfer
TSVALS_KEPT = 4096  # segments whose TSval is remembered (far more than a window)
IDLE_WAIT = 0.002  # seconds to wait for data when no receiver has anything to acknowledge
# The 48-byte header of smocast.wire.codec, for plain ACKs built in the hot loop: struct.pack alone costs
# a fifth of encode_ack, which also builds a Packet. A test checks that both give the same bytes.
_ACK_HEADER = struct.Struct("!BBBBIQQQIIIHBx")
_ACK = int(PacketType.ACK)
Send = Callable[[bytes], object]
Opener = Callable[[bytes], "bytes | None"]


@dataclass(slots=True)
class Counters:
    """What the generator sent and saw; ``window_*`` covers the interval between ``start`` and ``stop``."""

    handshake_acks: int = 0
    syns: int = 0
    acks_sent: int = 0
    bytes_acked: int = 0
    data_seen: int = 0
    window_acks: int = 0
    window_seconds: float = 0.0
    window_cpu_seconds: float = 0.0
    received_by_type: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class Fleet:
    """The receivers' sockets and their state, in parallel lists (the hot loop indexes them)."""

    sockets: list[socket.socket]
    connections: list[int]
    acked: list[int]
    group: socket.socket
    channel: int
    window: int
    cookies: list[bytes] = field(default_factory=list)  # the source's RETRY cookie for each receiver


def open_fleet(server: Address, group: Address, count: int, first_connection: int, channel: int, window: int) -> Fleet:
    """``count`` unicast sockets connected to ``server`` and one socket joined to ``group``."""
    first = receiver_sockets(server, group, server[0], None)
    sockets = [first.unicast]
    try:
        for _ in range(count - 1):
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.setblocking(False)
            sockets.append(sock)
            sock.bind((first.local[0], 0))
            sock.connect(server)
    except OSError:
        for sock in [*sockets, first.group]:
            sock.close()
        raise
    connections = [first_connection + i for i in range(count)]
    return Fleet(sockets, connections, [0] * count, first.group, channel, window, [NO_COOKIE] * count)


def close_fleet(fleet: Fleet) -> None:
    for sock in [*fleet.sockets, fleet.group]:
        sock.close()


# --- handshake ---------------------------------------------------------------------------------


def handshake(fleet: Fleet, counters: Counters, tsvals: dict[int, int]) -> int:
    """Establish every receiver; return the highest byte of the first data seen (the transfer started)."""
    selector = selectors.DefaultSelector()
    for index, sock in enumerate(fleet.sockets):
        selector.register(sock, selectors.EVENT_READ, index)
    selector.register(fleet.group, selectors.EVENT_READ, -1)
    unanswered = set(range(len(fleet.sockets)))
    retry_at = 0.0
    deadline = time.monotonic() + HANDSHAKE_LIMIT
    try:
        while True:
            now = time.monotonic()
            if now > deadline:
                raise TimeoutError(f"the source did not start within {HANDSHAKE_LIMIT:g} s")
            if now >= retry_at and unanswered:
                _send_syns(fleet, unanswered, counters)
                retry_at = now + SYN_RETRY
            for key, _ in selector.select(timeout=0.05):
                if key.data == -1:
                    high = _drain_group(fleet.group, counters, tsvals)
                    if high is not None:
                        return high
                else:
                    _answer_syn_ack(fleet, key.data, unanswered, counters)
    finally:
        selector.close()


def _send_syns(fleet: Fleet, indices: set[int], counters: Counters) -> None:
    tsval = timestamp(time.monotonic())
    for index in indices:
        _send_syn(fleet, index, tsval)
        counters.syns += 1


def _send_syn(fleet: Fleet, index: int, tsval: int) -> None:
    """A SYN that echoes the receiver's latest cookie (none before the source's RETRY)."""
    connection, cookie = fleet.connections[index], fleet.cookies[index]
    syn = Packet(PacketType.SYN, fleet.channel, connection, window=fleet.window, tsval=tsval, payload=cookie)
    fleet.sockets[index].send(encode(syn))


def _answer_syn_ack(fleet: Fleet, index: int, unanswered: set[int], counters: Counters) -> None:
    sock = fleet.sockets[index]
    while True:
        try:
            data = sock.recv(2048)
        except BlockingIOError:
            return
        try:
            packet = decode(data)
        except DecodeError:
            continue
        if packet.type is PacketType.RETRY:  # address validation: echo the cookie at once
            fleet.cookies[index] = packet.payload
            _send_syn(fleet, index, timestamp(time.monotonic()))
            counters.syns += 1
            continue
        if packet.type is not PacketType.SYN_ACK:
            continue
        fleet.acked[index] = packet.seq
        ack = encode_ack(
            channel=fleet.channel,
            connection=fleet.connections[index],
            ack=packet.seq,
            window=fleet.window,
            tsval=timestamp(time.monotonic()),
            tsecr=packet.tsval,
        )[0]
        sock.send(ack)
        counters.handshake_acks += 1
        unanswered.discard(index)


def plain_ack(channel: int, connection: int, ack: int, window: int, tsecr: int) -> bytes:
    """A plain ACK (no SACK, no payload, TSval 0), byte for byte what :func:`smocast.wire.encode_ack` gives."""
    return _ACK_HEADER.pack(VERSION, _ACK, 0, 0, channel, connection, 0, ack, window, 0, tsecr, 0, 0)


def _drain_group(
    group: socket.socket, counters: Counters, tsvals: dict[int, int], opener: Opener | None = None
) -> int | None:
    """The highest stream byte in the DATA waiting on the group socket (None if none).

    Records each segment's TSval by its first byte in ``tsvals``: an ACK echoes the TSval of
    the oldest segment it acknowledges (RFC 7323), as :class:`~smocast.smo.receiver.Receiver` does.
    """
    high: int | None = None
    while True:
        try:
            data = group.recv(65536)
        except BlockingIOError:
            break
        if opener is not None:  # the secure mode: the group's datagrams open under the group key
            opened = opener(data)
            if opened is None:
                continue
            data = opened
        fields = data_fields(data)
        if fields is not None:
            _, seq, tsval, length = fields
            counters.data_seen += 1
            if length:
                tsvals.setdefault(seq, tsval)
            if high is None or seq + length > high:
                high = seq + length
    while len(tsvals) > TSVALS_KEPT:
        del tsvals[next(iter(tsvals))]
    return high


# --- steady state ----------------------------------------------------------------------------


@dataclass(slots=True)
class Control:
    """The ``start``/``stop`` lines from the parent on stdin, read without blocking."""

    started_at: float | None = None
    cpu_at: float = 0.0
    acks_at: int = 0
    stopped: bool = False
    pending: bytes = b""

    def poll(self, counters: Counters) -> None:
        fd = sys.stdin.fileno()
        while not self.stopped and select.select([fd], [], [], 0)[0]:
            chunk = os.read(fd, 256)
            if not chunk:  # EOF: the parent is gone
                self._stop(counters)
                return
            self.pending += chunk
            while b"\n" in self.pending:
                line, self.pending = self.pending.split(b"\n", 1)
                self._command(line.strip(), counters)

    def _command(self, word: bytes, counters: Counters) -> None:
        if word == b"start":
            self.started_at, self.cpu_at, self.acks_at = time.monotonic(), time.process_time(), counters.acks_sent
        elif word == b"stop":
            self._stop(counters)

    def _stop(self, counters: Counters) -> None:
        if self.started_at is not None and not self.stopped:
            counters.window_seconds = time.monotonic() - self.started_at
            counters.window_cpu_seconds = time.process_time() - self.cpu_at
            counters.window_acks = counters.acks_sent - self.acks_at
        self.stopped = True


def ack_rounds(
    fleet: Fleet,
    high: int,
    step: int,
    counters: Counters,
    control: Control,
    tsvals: dict[int, int],
    secure: tuple[list[Send], Opener] | None = None,
) -> None:
    """Acknowledge in rounds until ``stop``: each receiver behind ``high`` moves ``step`` bytes closer.

    ``secure``: each receiver's sealing sender, and the group's opener (the secure mode)."""
    connections, acked = fleet.connections, fleet.acked
    channel, window, group = fleet.channel, fleet.window, fleet.group
    sends: list[Send] = [sock.send for sock in fleet.sockets] if secure is None else secure[0]
    opener = secure[1] if secure is not None else None
    count = len(sends)
    echo = tsvals.get
    pack = _ACK_HEADER.pack
    while not control.stopped:
        seen = _drain_group(group, counters, tsvals, opener)
        if seen is not None and seen > high:
            high = seen
        sent = advanced = 0
        for index in range(count):
            old = acked[index]
            if old < high:
                new = old + step if old + step < high else high
                try:
                    sends[index](
                        pack(VERSION, _ACK, 0, 0, channel, connections[index], 0, new, window, 0, echo(old, 0), 0, 0)
                    )
                except BlockingIOError:
                    continue
                acked[index] = new
                sent += 1
                advanced += new - old
        counters.acks_sent += sent
        counters.bytes_acked += advanced
        if not sent:
            select.select([group, sys.stdin], [], [], IDLE_WAIT)
        control.poll(counters)


def drain_unicast(fleet: Fleet, counters: Counters) -> None:
    """Count what the source sent to the receivers' own sockets (repairs, FIN, RST...)."""
    kinds = counters.received_by_type
    for sock in fleet.sockets:
        while True:
            try:
                data = sock.recv(65536)
            except (BlockingIOError, ConnectionRefusedError):
                break
            try:
                name = decode(data).type.name.lower()
            except DecodeError:
                name = "malformed"
            kinds[name] = kinds.get(name, 0) + 1


# --- the process ---------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> dict[str, Any]:
    fleet = open_fleet(args.server, args.group, args.receivers, args.first_connection, args.channel, args.window)
    counters = Counters()
    try:
        tsvals: dict[int, int] = {}
        secure = None
        if args.trust is None:
            high = handshake(fleet, counters, tsvals)
        else:
            from smocast.bench.ack_loadgen_secure import secure_start  # noqa: PLC0415  (only the secure mode)

            secure, high = secure_start(fleet, args.trust, counters, tsvals, _drain_group)
        print("started", flush=True)
        control = Control()
        ack_rounds(fleet, high, args.step, counters, control, tsvals, secure)
        time.sleep(0.05)
        drain_unicast(fleet, counters)
    finally:
        close_fleet(fleet)
    return report(counters, args)


def report(counters: Counters, args: argparse.Namespace) -> dict[str, Any]:
    window = counters.window_seconds
    return {
        "receivers": args.receivers,
        "syns_sent": counters.syns,
        "handshake_acks_sent": counters.handshake_acks,
        "acks_sent": counters.acks_sent,
        "acks_sent_total": counters.acks_sent + counters.handshake_acks,
        "bytes_acked": counters.bytes_acked,
        "data_datagrams_seen": counters.data_seen,
        "window_acks_sent": counters.window_acks,
        "window_seconds": round(window, 6),
        "window_cpu_seconds": round(counters.window_cpu_seconds, 6),
        "send_rate_acks_per_s": round(counters.window_acks / window) if window else 0,
        "received_by_type": counters.received_by_type,
    }


def _address(text: str) -> Address:
    host, _, port = text.rpartition(":")
    return (host, int(port))


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m smocast.bench.ack_loadgen",
        description="ACK load generator for `smocast bench ack-server` (started by it).",
    )
    p.add_argument("--server", type=_address, required=True, help="the source's HOST:PORT")
    p.add_argument("--group", type=_address, required=True, help="the channel's group GROUP:PORT")
    p.add_argument("--receivers", type=int, required=True, help="receivers simulated by this process")
    p.add_argument("--first-connection", type=int, default=1, help="connection id of the first receiver")
    p.add_argument("--channel", type=int, default=1, help="the channel id")
    p.add_argument("--window", type=int, default=8 * 1400, help="receive window advertised, in bytes")
    p.add_argument("--step", type=int, default=2 * 1400, help="bytes each ACK acknowledges beyond the last one")
    p.add_argument("--trust", default=None, help="the secure mode: the source's key (SHA256:...) the receivers pin")
    return p


def main() -> int:
    args = parser().parse_args()
    try:
        result = run(args)
    except (OSError, TimeoutError) as exc:
        print(json.dumps({"error": str(exc)}), flush=True)
        return 1
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
