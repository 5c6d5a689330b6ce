"""Stateless address validation: the cookies a source sends in RETRY, like TCP SYN cookies or QUIC's Retry.

A first SYN (no cookie, or one that is not valid now) is answered by a RETRY that carries a
cookie and nothing is stored. Only a SYN that echoes a valid cookie proves that its sender
receives at the address it claims, and only then does the channel create a child for it.

A cookie is ``slot (u32) || tag (12 bytes)``: ``slot`` is the coarse time slot it was made
in (:data:`COOKIE_SLOT` seconds each) and ``tag`` an HMAC-SHA256, cut to 96 bits, over the
channel id, the receiver's connection id, the slot and the source address and port, keyed
by the secret of that slot. A new secret is drawn from the injected generator for each
slot, and only the current and the previous slot's secrets are kept, so a cookie is valid
for between one and two slots, and a handshake replayed later is answered with a new RETRY,
never with state.
"""

from __future__ import annotations

import random
import struct

from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.constant_time import bytes_eq

from smocast.core.datagram import Address
from smocast.wire import COOKIE_SIZE

COOKIE_SLOT = 5.0  # seconds per time slot: a cookie is valid for 5 to 10 s after it was sent
SECRET_SIZE = 32  # bytes of each slot's HMAC key
_SLOT = struct.Struct("!I")
_FIELDS = struct.Struct("!IQIH")  # channel, connection, slot, port
TAG_SIZE = COOKIE_SIZE - _SLOT.size


class CookieJar:
    """Makes and checks the cookies of one channel; holds two secrets and nothing per peer.

    ``rng`` is the channel's injected generator (seeded in a simulation, backed by the OS on
    a real network): it draws each slot's secret.
    """

    __slots__ = ("_channel", "_current", "_previous", "_rng", "_slot")

    def __init__(self, channel_id: int, rng: random.Random) -> None:
        self._channel = channel_id
        self._rng = rng
        self._slot: int | None = None
        self._current = b""
        self._previous = b""  # the previous slot's secret; empty when that slot had none

    def make(self, address: Address, connection: int, now: float) -> bytes:
        """The cookie for a SYN from ``address`` with ``connection`` at time ``now``."""
        slot = self._rotate(now)
        return _SLOT.pack(slot) + self._tag(self._current, address, connection, slot)

    def check(self, cookie: bytes, address: Address, connection: int, now: float) -> bool:
        """True when ``cookie`` was made for ``address`` and ``connection`` in this slot or the last."""
        if len(cookie) != COOKIE_SIZE:
            return False
        current = self._rotate(now)
        (slot,) = _SLOT.unpack_from(cookie)
        if slot == current:
            secret = self._current
        elif slot == (current - 1) & 0xFFFFFFFF and self._previous:
            secret = self._previous
        else:
            return False
        return bytes_eq(cookie[_SLOT.size :], self._tag(secret, address, connection, slot))

    def _rotate(self, now: float) -> int:
        """The slot of ``now`` (32 bits); draws a new secret when a new slot began."""
        slot = int(now // COOKIE_SLOT) & 0xFFFFFFFF
        if slot != self._slot:
            follows = self._slot is not None and slot == (self._slot + 1) & 0xFFFFFFFF
            self._previous = self._current if follows else b""
            self._current = self._rng.randbytes(SECRET_SIZE)
            self._slot = slot
        return slot

    def _tag(self, secret: bytes, address: Address, connection: int, slot: int) -> bytes:
        mac = hmac.HMAC(secret, hashes.SHA256())
        mac.update(_FIELDS.pack(self._channel, connection, slot, address[1] & 0xFFFF))
        mac.update(address[0].encode())
        return mac.finalize()[:TAG_SIZE]
