"""Unicast sessions: one per receiver, a key per direction, packet numbers and a replay window.

A session is what a finished key exchange installs (:class:`~smocast.secure.keyexchange.SessionKeys`):
the source keeps one per receiver, found by the session id that every protected unicast
datagram carries in its clear header (never by the sender's address, which anyone can
forge); a receiver keeps one, with its source.
"""

from __future__ import annotations

from smocast.core.datagram import Address
from smocast.secure import envelope
from smocast.secure.envelope import HEADER_SIZE, Kind
from smocast.secure.keyexchange import SessionKeys
from smocast.secure.primitives import PacketKey
from smocast.secure.replay import ReplayWindow

SOURCE_TO_RECEIVER = b"source to receiver"
RECEIVER_TO_SOURCE = b"receiver to source"


class UnicastSession:
    """One peer's keys: seals what goes to it, opens what comes from it (each number once)."""

    __slots__ = ("_receive", "_send", "hello", "next_number", "peer", "replay", "replied", "reply", "session_id")

    def __init__(self, session_id: int, peer: Address, send: PacketKey, receive: PacketKey) -> None:
        self.session_id = session_id
        self.peer = peer
        self._send = send
        self._receive = receive
        self.next_number = 0
        self.replay = ReplayWindow()
        self.replied: dict[object, float] = {}  # the source's rate limit of answers to this peer's requests
        self.hello = b""  # the source's end: the receiver's hello that made this session
        self.reply: bytes | None = None  # the source's end: the key-exchange reply, until the receiver confirms

    @classmethod
    def at_source(cls, keys: SessionKeys, peer: Address) -> UnicastSession:
        """The source's end of the session with the receiver at ``peer``."""
        send = PacketKey.derive(keys.source_to_receiver, SOURCE_TO_RECEIVER)
        receive = PacketKey.derive(keys.receiver_to_source, RECEIVER_TO_SOURCE)
        return cls(keys.session_id, peer, send, receive)

    @classmethod
    def at_receiver(cls, keys: SessionKeys, source: Address) -> UnicastSession:
        """The receiver's end of the session with the source at ``source``."""
        send = PacketKey.derive(keys.receiver_to_source, RECEIVER_TO_SOURCE)
        receive = PacketKey.derive(keys.source_to_receiver, SOURCE_TO_RECEIVER)
        return cls(keys.session_id, source, send, receive)

    def seal(self, kind: Kind, plaintext: bytes) -> bytes:
        """A protected datagram of ``kind`` carrying ``plaintext`` to the peer."""
        number = self.next_number
        self.next_number = number + 1
        head = envelope.header(kind, self.session_id, number)
        return head + self._send.seal(number, head, plaintext)

    def seal_with(self, kind: Kind, prefix: bytes, plaintext: bytes) -> bytes:
        """Like :meth:`seal`, with ``prefix`` (clear, authenticated) between the header and the ciphertext."""
        number = self.next_number
        self.next_number = number + 1
        head = envelope.header(kind, self.session_id, number) + prefix
        return head + self._send.seal(number, head, plaintext)

    def open_with(self, number: int, aad: bytes, ciphertext: bytes) -> bytes | None:
        """Like :meth:`open`, for a datagram whose clear part ``aad`` (header and prefix) is given apart."""
        if not self.replay.fresh(number):
            return None
        plaintext = self._receive.open(number, aad, ciphertext)
        if plaintext is not None:
            self.replay.mark(number)
        return plaintext

    def open(self, number: int, data: bytes) -> bytes | None:
        """The plaintext of a datagram from the peer, or None (forged, or a replay).

        An authentic datagram is recorded, so the same number never opens twice.
        """
        if not self.replay.fresh(number):
            return None
        plaintext = self._receive.open(number, data[:HEADER_SIZE], data[HEADER_SIZE:])
        if plaintext is not None:
            self.replay.mark(number)
        return plaintext

    def fresh(self, number: int) -> bool:
        """True when ``number`` was not accepted before (a replay check before opening)."""
        return self.replay.fresh(number)
