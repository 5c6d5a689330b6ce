"""Announcements: a source says, on a well-known group, which channel it serves and what it holds.

A receiver daemon (``smocast recvd``) listens on the announcement group and joins the
channels it wants. One announcement is one datagram, big-endian::

    0   4s   magic b"SMOA"
    4   u8   version (1)
    5   u8   flags: bit 0 sending (the transfer started), bit 1 history (the source serves
             any byte again: a late joiner or a resume is welcome), bit 2 stream (size unknown)
    6   8s   transfer id (random per run of the source)
    14  u32  sequence (counts up; repeated announcements of one transfer)
    18  ...  server address (where receivers connect), group, SSM source: each an address
         u64 total bytes | u32 files | u32 directories | 32 bytes manifest digest
         u8 name length | name, UTF-8 | u16 description length | description, UTF-8
         u16 signature length | signature (reserved: empty until sources sign)

An address is ``u8 version (4, 6, or 0 for none) | 4 or 16 bytes | u16 port``; an unspecified
server address (a source bound to every address) means "the address this datagram came from".
The signature covers every byte before its length field (:meth:`Announcement.signed_bytes`);
until the authenticated mode exists it is empty and receivers accept any announcement that
passes their filter. Text in an announcement comes from the network: print it through
:func:`smocast.text.plain`.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass, replace

from smocast.core.datagram import Address
from smocast.core.errors import RemoteProtocolError

MAGIC = b"SMOA"
VERSION = 1
FLAG_SENDING = 0x01
FLAG_HISTORY = 0x02
FLAG_STREAM = 0x04
MAX_NAME = 255
MAX_DESCRIPTION = 1024
MAX_SIGNATURE = 512
MAX_SIZE = 4 + 2 + 8 + 4 + 3 * 19 + 48 + 1 + MAX_NAME + 2 + MAX_DESCRIPTION + 2 + MAX_SIGNATURE
DEFAULT_GROUP_V4: Address = ("239.255.77.77", 5077)  # administratively scoped (RFC 2365)
DEFAULT_GROUP_V6: Address = ("ff15::77:77", 5077)  # site-local scope, transient
_HEAD = struct.Struct("!4sBB8sI")
_SUMMARY = struct.Struct("!QII32s")


class AnnouncementError(RemoteProtocolError):
    """A datagram on the announcement group is not a valid announcement (it is ignored and counted)."""


@dataclass(frozen=True, slots=True)
class Announcement:
    """One source's announcement of its channel and what it holds."""

    transfer: bytes  # 8 random bytes naming this run of the source
    server: Address
    group: Address
    source: str | None  # the SSM source, when it is not the server's address
    digest: bytes  # the manifest's SHA-256 (:attr:`smocast.apps.fileset.FileSet.digest`)
    name: str
    total_bytes: int
    files: int
    directories: int = 0
    description: str = ""
    sending: bool = False
    history: bool = True
    stream: bool = False
    sequence: int = 0
    signature: bytes = b""

    def signed_bytes(self) -> bytes:
        """What a source signs: every field before the signature."""
        flags = (
            (FLAG_SENDING if self.sending else 0)
            | (FLAG_HISTORY if self.history else 0)
            | (FLAG_STREAM if self.stream else 0)
        )
        name = _clip(self.name, MAX_NAME)
        description = _clip(self.description, MAX_DESCRIPTION)
        return b"".join(
            [
                _HEAD.pack(MAGIC, VERSION, flags, self.transfer, self.sequence & 0xFFFFFFFF),
                _address(self.server),
                _address(self.group),
                _address((self.source, 0) if self.source else None),
                _SUMMARY.pack(self.total_bytes, self.files, self.directories, self.digest),
                bytes([len(name)]),
                name,
                struct.pack("!H", len(description)),
                description,
            ]
        )

    def encode(self) -> bytes:
        return self.signed_bytes() + struct.pack("!H", len(self.signature)) + self.signature

    def next(self, *, sending: bool) -> Announcement:
        """The same announcement with the next sequence number and the transfer's state."""
        return replace(self, sequence=self.sequence + 1, sending=sending)

    def server_from(self, sender: Address) -> Address:
        """Where to connect: the announced server, or the datagram's source when the server was
        announced unspecified (or link-local, whose zone only the receiving host knows)."""
        host = self.server[0]
        ip = ipaddress.ip_address(host)
        if ip.is_unspecified or (ip.version == 6 and ip.is_link_local):
            return (sender[0], self.server[1])
        return self.server

    @property
    def ident(self) -> str:
        return self.transfer.hex()


def decode(data: bytes) -> Announcement:
    """The announcement in ``data``; :class:`AnnouncementError` for anything else."""
    if len(data) > MAX_SIZE:
        raise AnnouncementError(f"an announcement of {len(data)} bytes (at most {MAX_SIZE})")
    reader = _Reader(data)
    magic, version, flags, transfer, sequence = _HEAD.unpack(reader.take(_HEAD.size))
    if magic != MAGIC:
        raise AnnouncementError("not a smocast announcement")
    if version != VERSION:
        raise AnnouncementError(f"announcement version {version} is not supported (this is version {VERSION})")
    server = reader.address()
    group = reader.address()
    source = reader.address()
    if server is None or group is None:
        raise AnnouncementError("an announcement without a server or a group")
    total, files, directories, digest = _SUMMARY.unpack(reader.take(_SUMMARY.size))
    name = reader.text(reader.take(1)[0])
    description = reader.text(struct.unpack("!H", reader.take(2))[0])
    signature = reader.take(struct.unpack("!H", reader.take(2))[0])
    if reader.left:
        raise AnnouncementError(f"{reader.left} stray bytes after the announcement")
    if not ipaddress.ip_address(group[0]).is_multicast:
        raise AnnouncementError(f"the announced group {group[0]} is not a multicast address")
    return Announcement(
        transfer,
        server,
        group,
        source[0] if source is not None else None,
        digest,
        name,
        total,
        files,
        directories,
        description,
        bool(flags & FLAG_SENDING),
        bool(flags & FLAG_HISTORY),
        bool(flags & FLAG_STREAM),
        sequence,
        signature,
    )


def _clip(text: str, limit: int) -> bytes:
    """``text`` in UTF-8, cut to ``limit`` bytes without splitting a character."""
    return text.encode("utf-8", "replace")[:limit].decode("utf-8", "ignore").encode("utf-8")


def _address(address: Address | None) -> bytes:
    if address is None:
        return b"\x00"
    ip = ipaddress.ip_address(address[0].partition("%")[0])
    return bytes([ip.version]) + ip.packed + struct.pack("!H", address[1])


class _Reader:
    __slots__ = ("_at", "_data")

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._at = 0

    @property
    def left(self) -> int:
        return len(self._data) - self._at

    def take(self, n: int) -> bytes:
        if n > self.left:
            raise AnnouncementError("the announcement is cut short")
        self._at += n
        return self._data[self._at - n : self._at]

    def address(self) -> Address | None:
        version = self.take(1)[0]
        if version == 0:
            return None
        if version not in (4, 6):
            raise AnnouncementError(f"an address of IP version {version}")
        packed = self.take(4 if version == 4 else 16)
        port = struct.unpack("!H", self.take(2))[0]
        return (str(ipaddress.ip_address(packed)), int(port))

    def text(self, length: int) -> str:
        try:
            return self.take(length).decode("utf-8")
        except UnicodeDecodeError:
            raise AnnouncementError("text in the announcement is not valid UTF-8") from None


def default_group(family_of_channel: int) -> Address:
    """The well-known announcement group of the channel's IP version (4 or 6)."""
    return DEFAULT_GROUP_V6 if family_of_channel == 6 else DEFAULT_GROUP_V4
