"""Group keys: numbered epochs, a rotation schedule at the source, a small key ring at each receiver.

Multicast packets are sealed under the key of the current epoch. The source makes the next
epoch's key ahead of time and sends it to every receiver over its unicast session (a key
update, sealed under that receiver's own key) ``lead`` seconds before it starts using it; a
receiver that missed the update asks for it when the first packet of the new epoch arrives.
A new epoch starts every ``interval`` seconds, after ``max_packets`` packets, and soon after
a receiver leaves or is dropped (:meth:`GroupSchedule.revoke`): the next key is then made
afresh, sent to the receivers that remain, and used ``lead`` seconds later. A receiver that
left can therefore read the group's packets until that switch (at most ``holdoff + lead``
seconds after it left), and nothing after. Keys are never derived from one another: knowing
one epoch's key says nothing about any other.

Epoch numbers only grow; an epoch whose key was replaced before use is skipped, never reused
with another key.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from smocast.core.errors import ConfigError
from smocast.secure.primitives import SECRET_SIZE, PacketKey, RandomBytes
from smocast.secure.replay import ReplayWindow

_GRANT = struct.Struct(f"!Q{SECRET_SIZE}s")
MAX_GRANTS = 4
GROUP_REPLAY_WINDOW = 4096
"""Group packet numbers a receiver tells apart; multicast data may be reordered deeper than ACKs."""


@dataclass(frozen=True, slots=True)
class GroupGrant:
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


@dataclass(frozen=True, slots=True)
class RotationPolicy:
    """When the group key changes. Times in seconds.

    ``interval``: a new key at least this often. ``lead``: the next key reaches the receivers
    this long before it is used. ``max_packets``: or after this many packets under one key.
    ``holdoff``: after a receiver leaves, at most one fresh key per this interval (a mass
    departure costs one round of key updates, not one per receiver).
    """

    interval: float = 300.0
    lead: float = 1.0
    max_packets: int = 1 << 32
    holdoff: float = 1.0

    def __post_init__(self) -> None:
        if not 0 < self.lead < self.interval:
            raise ConfigError(f"group key lead {self.lead}s must be positive and shorter than the interval")
        if self.max_packets < 2 or self.holdoff < 0:
            raise ConfigError("group key max_packets must be at least 2 and holdoff not negative")


class GroupSchedule:
    """The source's group keys: the current one (sealing numbered packets) and the announced next one.

    Whenever :meth:`due` says so (at :meth:`deadline`, or when the packet count nears the
    limit): send the grant :meth:`announce` returns to every receiver; when :meth:`switch_due`,
    finish what the old key covers (the pending signed block), then call :meth:`switch`.
    """

    __slots__ = (
        "_randbytes",
        "current",
        "highest_epoch",
        "key",
        "last_rekey",
        "next_number",
        "policy",
        "revoked",
        "soft_limit",
        "switch_at",
        "upcoming",
    )

    def __init__(self, randbytes: RandomBytes, policy: RotationPolicy | None = None, now: float = 0.0) -> None:
        self._randbytes = randbytes
        self.policy = policy or RotationPolicy()
        self.current = GroupGrant(0, randbytes(SECRET_SIZE))
        self.highest_epoch = 0
        self.key = self.current.packet_key()
        self.next_number = 0
        self.soft_limit = self.policy.max_packets - self.policy.max_packets // 8
        self.upcoming: GroupGrant | None = None
        self.switch_at = now + self.policy.interval
        self.last_rekey = now - self.policy.holdoff
        self.revoked = False

    def grants(self) -> tuple[GroupGrant, ...]:
        """What a joining receiver gets: the current key, and the next one once announced."""
        return (self.current,) if self.upcoming is None else (self.current, self.upcoming)

    def number(self) -> tuple[int, int, PacketKey]:
        """``(epoch, packet number, key)`` for the next group packet; the number is used up."""
        number = self.next_number
        self.next_number = number + 1
        return self.current.epoch, number, self.key

    def revoke(self) -> None:
        """A receiver left: the announced key (if any) is known to it; make a fresh one soon and switch to it."""
        self.revoked = True
        self.upcoming = None

    def deadline(self) -> float:
        """The next time :meth:`announce` or :meth:`switch_due` has work (time passing alone)."""
        if self.upcoming is not None:
            return self.switch_at
        if self.revoked:
            return self.last_rekey + self.policy.holdoff
        return self.switch_at - self.policy.lead

    def due(self, now: float) -> bool:
        """True when :meth:`announce` or :meth:`switch_due` may have work now."""
        return now >= self.deadline() or self.next_number >= self.soft_limit

    def announce(self, now: float) -> GroupGrant | None:
        """The next epoch's key when it is time to send it to every receiver, else None."""
        if self.upcoming is not None:
            return None
        if self.revoked:
            if now < self.last_rekey + self.policy.holdoff:
                return None
            self.switch_at = now + self.policy.lead  # the leaver reads until then, and no longer
        elif self.next_number >= self.soft_limit:
            self.switch_at = min(self.switch_at, now + self.policy.lead)
        elif now < self.switch_at - self.policy.lead:
            return None
        self.highest_epoch += 1
        self.upcoming = GroupGrant(self.highest_epoch, self._randbytes(SECRET_SIZE))
        self.revoked = False
        self.last_rekey = now
        self.switch_at = max(self.switch_at, now)
        return self.upcoming

    def switch_due(self, now: float) -> bool:
        """True when the announced key must now replace the current one."""
        return self.upcoming is not None and (now >= self.switch_at or self.next_number >= self.policy.max_packets)

    def switch(self, now: float) -> None:
        """Seal with the announced key from now on."""
        if self.upcoming is None:
            return
        self.current, self.upcoming = self.upcoming, None
        self.key = self.current.packet_key()
        self.next_number = 0
        self.switch_at = now + self.policy.interval


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
