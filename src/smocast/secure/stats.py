"""What the protection layer counted: every packet it dropped, by reason, and its own traffic.

A dropped packet changes nothing but one of these counters: no core state, no window, no
timer. ``as_json`` is what a command reports.
"""

from __future__ import annotations

from smocast.core.counters import Counters

_COUNTERS = (
    "sealed",
    "opened",
    "malformed",
    "cleartext",
    "unknown_session",
    "wrong_address",
    "replayed",
    "forged",
    "no_key",
    "insider_forged",
    "bad_signature",
    "unverified",
    "untrusted",
    "no_session_out",
    "blocks_signed",
    "block_packets",
    "blocks_verified",
    "held",
    "key_updates_sent",
    "key_requests_sent",
    "signature_requests_sent",
    "signatures_resent",
)
"""The counters, in the order a report lists them."""


class ProtectionStats(Counters):
    """Counters of one protected endpoint."""

    __slots__ = _COUNTERS

    def __init__(self) -> None:
        self.sealed: int = 0
        """Datagrams sealed for the core (unicast and group)."""
        self.opened: int = 0
        """Datagrams opened and handed to the core."""
        self.malformed: int = 0
        """Not a protected datagram (a plain packet, too short, an unknown kind), or a bad layer message."""
        self.cleartext: int = 0
        """A CLEAR datagram (a packet sent unprotected on purpose) where the caller allows none of its kind."""
        self.unknown_session: int = 0
        """A unicast datagram whose session id names no session."""
        self.wrong_address: int = 0
        """A session's datagram from another address than the session's peer."""
        self.replayed: int = 0
        """A packet number already accepted (or older than the replay window)."""
        self.forged: int = 0
        """The AEAD tag did not verify: made without the key (an outsider), or damaged."""
        self.no_key: int = 0
        """A group datagram of an epoch whose key this receiver does not hold (yet)."""
        self.insider_forged: int = 0
        """Opened under the group key, but not what the source signed: forged by a key holder."""
        self.bad_signature: int = 0
        """A signed block whose signature does not verify."""
        self.unverified: int = 0
        """Group packets dropped because their signed block did not come in time, or the hold was full."""
        self.untrusted: int = 0
        """Key-exchange replies signed by a source key this receiver does not trust (the connection ended)."""
        self.no_session_out: int = 0
        """Core packets to a peer without a session, not sent."""
        self.blocks_signed: int = 0
        self.block_packets: int = 0
        """Group packets the signed blocks covered (their mean size is block_packets / blocks_signed)."""
        self.blocks_verified: int = 0
        self.held: int = 0
        """Group packets that waited for their signed block."""
        self.key_updates_sent: int = 0
        self.key_requests_sent: int = 0
        self.signature_requests_sent: int = 0
        self.signatures_resent: int = 0

    @property
    def dropped(self) -> int:
        """Every packet dropped, for whatever reason."""
        return (
            self.malformed
            + self.cleartext
            + self.unknown_session
            + self.wrong_address
            + self.replayed
            + self.forged
            + self.no_key
            + self.insider_forged
            + self.bad_signature
            + self.unverified
        )

    def as_json(self) -> dict[str, int]:
        return {**{name: getattr(self, name) for name in _COUNTERS}, "dropped": self.dropped}
