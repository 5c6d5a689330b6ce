"""Packet types, flags and the decoded packet record."""

from __future__ import annotations

from enum import IntEnum
from typing import NamedTuple

from smocast.core.errors import RemoteProtocolError

VERSION = 3
"""Version 3: DATA and REPAIR in the 16-byte short form (:mod:`smocast.wire.dataform`). Version 2
brought 64-bit connection ids (a 48-byte header) and the stateless cookie handshake (RETRY)."""

FLAG_AUTH = 0x01
"""Reserved for the authenticated mode: a trailer (a MAC) follows the payload."""
FLAG_MSG_START = 0x02
"""The first payload byte starts an application message (message framing, TCP-RTM)."""
FLAG_RESUME = 0x04
"""On a SYN: ``ack`` is the stream offset the receiver wants to resume from."""
KNOWN_FLAGS = FLAG_AUTH | FLAG_MSG_START | FLAG_RESUME

COOKIE_SIZE = 16
"""Bytes of the address-validation cookie: the payload of every SYN and RETRY."""
NO_COOKIE = bytes(COOKIE_SIZE)
"""The cookie field of a first SYN (the receiver has no cookie yet): zeros."""


class PacketType(IntEnum):
    """What a packet is. DATA goes to the group; REPAIR goes to the group or one receiver.

    UPDATA carries a receiver's own stream up its connection to the source (session relay);
    the source acknowledges it with an ACK sent to that receiver.

    RETRY is the source's stateless answer to a SYN without a valid cookie: its payload is
    a cookie the receiver echoes in its next SYN. SYN and RETRY payloads are always exactly
    :data:`COOKIE_SIZE` bytes (a first SYN carries :data:`NO_COOKIE`), so a RETRY is never
    larger than the SYN it answers.

    PROBE and PROBE_ACK are path MTU discovery (RFC 8899, :mod:`smocast.smo.pmtu`): the source
    sends one receiver a PROBE padded with zeros to the size it tests (``seq``: the probe's
    number; ``window``: its size, header included); the receiver answers a PROBE_ACK with the
    same number and the size it received. A probe carries no stream data, so losing one costs
    nothing but the probe.
    """

    SYN = 1
    SYN_ACK = 2
    ACK = 3
    DATA = 4
    REPAIR = 5
    RST = 6
    FIN = 7
    UPDATA = 8
    RETRY = 9
    PROBE = 10
    PROBE_ACK = 11


class ResetCode(IntEnum):
    """Why a connection was reset: the first byte of an RST's payload; UTF-8 text for people follows.

    A receiver that fails says why it leaves (its own failures, 1 to 15), so the source can
    report more than "left"; the source says why it dropped or refused a receiver (16 and up).
    An empty payload, or a code this version does not know, reads as :attr:`UNSPECIFIED`.
    """

    UNSPECIFIED = 0
    CLOSED = 1  # the receiver's application left before the end
    INTERRUPTED = 2  # its user stopped it (Ctrl-C), or the application was cancelled
    DISK_FULL = 3  # no space left (or over quota) to store the data
    NOT_WRITABLE = 4  # the output is read-only, or writing it is not permitted
    VERIFY_FAILED = 5  # the data does not match what was announced (size, SHA-256)
    RECEIVER_ERROR = 6  # any other failure of the receiver itself
    SOURCE_SILENT = 7  # the receiver heard nothing from the source for a few heartbeats
    DROPPED = 16  # the source dis-associated the receiver (the text names the drop reason)
    REFUSED = 17  # the source refused the connection (a late join, an impossible resume)

    @property
    def label(self) -> str:
        """The code as people read it in tables and logs: ``disk-full``, ``not-writable``..."""
        return self.name.lower().replace("_", "-")


class DecodeError(RemoteProtocolError):
    """The bytes are not a valid smocast packet; the message says what is wrong."""


class Packet(NamedTuple):
    """One decoded packet. Fields a type does not use are zero or empty.

    ``connection`` is the receiver's 64-bit random connection id (0: the group).
    ``seq`` and ``ack`` are byte offsets in the channel's stream (no wrap-around; at most
    2**48 - 1, what DATA's short form carries).
    ``window`` is the receive window in bytes. ``tsval``/``tsecr`` are 32-bit microsecond
    timestamps (RFC 7323 style). ``ack_every`` is the source's ACK frequency hint in data
    packets. ``sack`` holds up to four ``(start, end)`` blocks. ``trailer`` is non-empty
    only with :data:`FLAG_AUTH`.

    A NamedTuple rather than a frozen dataclass: it is built once per packet on the hot
    path, where a frozen dataclass costs four times as much to construct.
    """

    type: PacketType
    channel: int
    connection: int = 0
    seq: int = 0
    ack: int = 0
    window: int = 0
    tsval: int = 0
    tsecr: int = 0
    flags: int = 0
    ack_every: int = 0
    sack: tuple[tuple[int, int], ...] = ()
    payload: bytes = b""
    trailer: bytes = b""
