"""A small packet-forging toolkit for the attack tests, built on :mod:`smocast.wire`'s encoder.

Everything an attacker sends is an ordinary :class:`~smocast.wire.Packet` encoded by
:func:`~smocast.wire.encode`, so the forged bytes follow the wire format wherever it goes
(a wider connection id, say). The helpers only choose the fields an attack needs.

For the real network there are two root-only tools: :func:`send_spoofed` writes a UDP
datagram with any source address through a raw socket (what an attacker on the LAN does),
and :class:`LoopbackSniffer` reads the datagrams on ``lo`` (an on-path observer).
"""

from __future__ import annotations

import random
import socket
import struct
from collections.abc import Iterable, Iterator

from smocast.core.datagram import Address, Datagram
from smocast.wire import (
    FLAG_MSG_START,
    FLAG_RESUME,
    NO_COOKIE,
    DecodeError,
    Packet,
    PacketType,
    ResetCode,
    decode,
    encode,
)

CHANNEL = 1


def syn(
    connection: int, *, channel: int = CHANNEL, tsval: int = 1, resume: int | None = None, cookie: bytes = NO_COOKIE
) -> bytes:
    """A SYN; without ``cookie``, a first one, as a receiver that never saw the source sends it."""
    flags = FLAG_RESUME if resume is not None else 0
    return encode(
        Packet(
            PacketType.SYN,
            channel,
            connection,
            ack=resume or 0,
            window=1 << 20,
            tsval=tsval,
            flags=flags,
            payload=cookie,
        )
    )


def rst(connection: int, *, seq: int = 0, reason: bytes = b"", channel: int = CHANNEL) -> bytes:
    """An RST "from the source" that says it dropped the receiver, for ``reason``."""
    payload = bytes([ResetCode.DROPPED]) + reason if reason else b""
    return encode(Packet(PacketType.RST, channel, connection, seq=seq, payload=payload))


def fin(connection: int, seq: int, *, channel: int = CHANNEL) -> bytes:
    """A FIN "from the source" that says the stream ends at ``seq``."""
    return encode(Packet(PacketType.FIN, channel, connection, seq=seq))


def ack(connection: int, ack_to: int, *, window: int = 1 << 20, tsecr: int = 0, channel: int = CHANNEL) -> bytes:
    """A cumulative ACK "from a receiver"."""
    return encode(Packet(PacketType.ACK, channel, connection, ack=ack_to, window=window, tsecr=tsecr))


def data(seq: int, payload: bytes, *, kind: PacketType = PacketType.DATA, connection: int = 0) -> bytes:
    """A DATA (to the group) or REPAIR segment at stream offset ``seq``."""
    return encode(Packet(kind, CHANNEL, connection, seq=seq, payload=payload))


def updata(connection: int, offset: int, payload: bytes, *, message_start: bool = False) -> bytes:
    """An UPDATA segment of a receiver's up-stream (session relay) at ``offset``."""
    flags = FLAG_MSG_START if message_start else 0
    return encode(Packet(PacketType.UPDATA, CHANNEL, connection, seq=offset, flags=flags, payload=payload))


def spoofed_addresses(rng: random.Random) -> Iterator[Address]:
    """Endless random source addresses in 198.18.0.0/15 (the benchmarking range), random ports."""
    while True:
        host = rng.getrandbits(17)
        yield (f"198.{18 + (host >> 16)}.{(host >> 8) & 0xFF}.{host & 0xFF}", 1024 + rng.getrandbits(15))


def decoded(datagrams: Iterable[Datagram | bytes]) -> list[Packet]:
    """The packets among ``datagrams`` (what an observer of those datagrams reads)."""
    out = []
    for datagram in datagrams:
        try:
            out.append(decode(datagram if isinstance(datagram, bytes) else datagram.data))
        except DecodeError:
            continue
    return out


def connection_of(datagrams: Iterable[Datagram]) -> int:
    """The connection id a receiver uses, read from the ACKs it sent (its own, or sniffed)."""
    for packet in decoded(datagrams):
        if packet.type is PacketType.ACK and packet.connection:
            return packet.connection
    raise AssertionError("no ACK with a connection id among the datagrams")


# --- the real network (root) ---------------------------------------------------------------


def _checksum(header: bytes) -> int:
    if len(header) % 2:
        header += b"\0"
    total: int = sum(struct.unpack(f"!{len(header) // 2}H", header))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def spoofed_udp(payload: bytes, source: Address, destination: Address) -> bytes:
    """An IPv4 + UDP datagram from ``source`` to ``destination`` (UDP checksum 0: none)."""
    length = 20 + 8 + len(payload)
    header = struct.pack(
        "!BBHHHBBH4s4s",
        0x45,
        0,
        length,
        0,
        0x4000,
        1,
        socket.IPPROTO_UDP,
        0,
        socket.inet_aton(source[0]),
        socket.inet_aton(destination[0]),
    )
    header = header[:10] + struct.pack("!H", _checksum(header)) + header[12:]
    udp = struct.pack("!HHHH", source[1], destination[1], 8 + len(payload), 0)
    return header + udp + payload


def send_spoofed(payload: bytes, source: Address, destination: Address, interface: str = "127.0.0.1") -> None:
    """Send one UDP datagram that claims to come from ``source`` (needs root: a raw socket).

    ``destination`` may be a multicast group: it goes out on ``interface`` and loops back to
    the members on this host.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW) as raw:
        raw.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(interface))
        raw.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
        raw.sendto(spoofed_udp(payload, source, destination), (destination[0], 0))


class LoopbackSniffer:
    """Reads every UDP datagram on ``lo`` (needs root): what an on-path observer sees.

    A source's GSO burst crosses the loopback as one large packet, where a real link carries
    each datagram on its own: the capture asks for each frame's virtio-net header
    (``PACKET_VNET_HDR``) and splits a UDP GSO packet at its segment size, as the wire would.
    """

    ETH_P_ALL = 0x0003
    SO_RCVBUFFORCE = 33  # root may exceed rmem_max: the loopback carries every test's traffic
    BUFFER = 32 << 20
    SOL_PACKET, PACKET_VNET_HDR = 263, 15
    VNET_HEADER = struct.Struct("=BBHHHH")  # flags, gso_type, hdr_len, gso_size, csum_start, csum_offset
    GSO_UDP_L4 = 5  # VIRTIO_NET_HDR_GSO_UDP_L4

    def __init__(self) -> None:
        self._sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(self.ETH_P_ALL))
        self._sock.setsockopt(socket.SOL_SOCKET, self.SO_RCVBUFFORCE, self.BUFFER)
        self._sock.setsockopt(self.SOL_PACKET, self.PACKET_VNET_HDR, 1)
        self._sock.bind(("lo", 0))
        self._sock.setblocking(False)

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> LoopbackSniffer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def drain(self) -> list[tuple[Address, Address, bytes]]:
        """``(source, destination, payload)`` of the UDP datagrams seen since the last call."""
        seen: list[tuple[Address, Address, bytes]] = []
        while True:
            try:
                frame = self._sock.recv(70000)
            except BlockingIOError:
                return seen
            _, gso_type, _, gso_size, _, _ = self.VNET_HEADER.unpack_from(frame)
            frame = frame[self.VNET_HEADER.size :]
            parsed = _udp_of(frame[14:])  # lo frames carry a 14-byte (zero) Ethernet header
            if parsed is None:
                continue
            source, destination, payload = parsed
            if gso_type == self.GSO_UDP_L4 and gso_size:
                seen.extend((source, destination, payload[i : i + gso_size]) for i in range(0, len(payload), gso_size))
            else:
                seen.append(parsed)


def _udp_of(ip: bytes) -> tuple[Address, Address, bytes] | None:
    if len(ip) < 28 or ip[0] >> 4 != 4 or ip[9] != socket.IPPROTO_UDP:
        return None
    header = (ip[0] & 0x0F) * 4
    sport, dport, length = struct.unpack_from("!HHH", ip, header)
    source = (socket.inet_ntoa(ip[12:16]), sport)
    destination = (socket.inet_ntoa(ip[16:20]), dport)
    return source, destination, ip[header + 8 : header + length]
