"""The source's group keys: when they rotate (:class:`RotationPolicy`) and the schedule that rotates them.

:mod:`smocast.secure.group` says how the epochs work and holds what both sides use (the
grants, the receivers' key ring); a receiver never loads this module.
"""

from __future__ import annotations

from dataclasses import dataclass

from smocast.core.errors import ConfigError
from smocast.secure.group import GroupGrant
from smocast.secure.primitives import SECRET_SIZE, PacketKey, RandomBytes


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
