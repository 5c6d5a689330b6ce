"""Group keys: numbered epochs, a rotation schedule at the source, a small key ring at each receiver.

Multicast packets are sealed under the key of the current epoch. The source makes the next
epoch's key ahead of time and sends it to every receiver over its unicast session (a key
update, sealed under that receiver's own key) ``lead`` seconds before it starts using it; a
receiver that missed the update asks for it when the first packet of the new epoch arrives.
A new epoch starts every ``interval`` seconds, after ``max_packets`` packets, and soon after
a receiver leaves or is dropped (:meth:`~smocast.secure.rotation.GroupSchedule.revoke`): the next key is then made
afresh, sent to the receivers that remain, and used ``lead`` seconds later. A receiver that
left can therefore read the group's packets until that switch (at most ``holdoff + lead``
seconds after it left), and nothing after. Keys are never derived from one another: knowing
one epoch's key says nothing about any other.

Epoch numbers only grow; an epoch whose key was replaced before use is skipped, never reused
with another key.

The source's side (:class:`~smocast.secure.rotation.GroupSchedule` and its
:class:`~smocast.secure.rotation.RotationPolicy`) is in :mod:`smocast.secure.rotation`, which
a receiver never loads; the grants and the receivers' key ring are here.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from smocast.secure.primitives import SECRET_SIZE, PacketKey
from smocast.secure.replay import ReplayWindow

_GRANT = struct.Struct(f"!Q{SECRET_SIZE}s")
MAX_GRANTS = 4
GROUP_REPLAY_WINDOW = 4096
"""Group packet numbers a receiver tells apart; multicast data may be reordered deeper than ACKs."""


class GroupGrant(NamedTuple):
    """One epoch's group key, as the source hands it to a receiver."""

    epoch: int
    secret: bytes

    def packet_key(self) -> PacketKey:
        """The AEAD key and IV of this epoch."""
        return PacketKey.derive(self.secret, b"group")


def encode_grants(grants: tuple[GroupGrant, ...]) -> bytes:
    """``u8 count`` then ``count x (u64 epoch, 32-byte secret)``."""
    if len(grants) > MAX_GRANTS:
        raise ValueError(f"at most {MAX_GRANTS} group keys at once")
    return bytes([len(grants)]) + b"".join(_GRANT.pack(g.epoch, g.secret) for g in grants)


def decode_grants(data: bytes) -> tuple[GroupGrant, ...]:
    """The grants of :func:`encode_grants`; raise ValueError on anything else."""
    if not data or data[0] > MAX_GRANTS or len(data) != 1 + data[0] * _GRANT.size:
        raise ValueError("not a list of group keys")
    return tuple(GroupGrant(*_GRANT.unpack_from(data, 1 + i * _GRANT.size)) for i in range(data[0]))


class EpochKey:
    """A receiver's key for one epoch, with the replay window of that epoch's packet numbers."""

    __slots__ = ("epoch", "key", "replay", "secret")

    def __init__(self, grant: GroupGrant) -> None:
        self.epoch = grant.epoch
        self.secret = grant.secret
        self.key = grant.packet_key()
        self.replay = ReplayWindow(GROUP_REPLAY_WINDOW)


class GroupKeyRing:
    """A receiver's group keys: the few newest epochs it was granted (older ones are forgotten)."""

    __slots__ = ("_keys", "keep")

    def __init__(self, keep: int = MAX_GRANTS) -> None:
        self.keep = keep
        self._keys: dict[int, EpochKey] = {}

    def add(self, grant: GroupGrant) -> bool:
        """Keep ``grant``; False when the epoch is known already (the first key of an epoch stays)."""
        if grant.epoch in self._keys or (len(self._keys) >= self.keep and grant.epoch < min(self._keys)):
            return False
        self._keys[grant.epoch] = EpochKey(grant)
        while len(self._keys) > self.keep:
            del self._keys[min(self._keys)]
        return True

    def get(self, epoch: int) -> EpochKey | None:
        """The key of ``epoch``, or None when this receiver does not hold it."""
        return self._keys.get(epoch)

    @property
    def newest(self) -> int:
        """The highest epoch held (-1: none)."""
        return max(self._keys, default=-1)
