"""What the protection layer counted: every packet it dropped, by reason, and its own traffic.

A dropped packet changes nothing but one of these counters: no core state, no window, no
timer. ``as_json`` is what a command reports.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(slots=True)
class ProtectionStats:
    """Counters of one protected endpoint."""

    sealed: int = 0
    """Datagrams sealed for the core (unicast and group)."""
    opened: int = 0
    """Datagrams opened and handed to the core."""
    malformed: int = 0
    """Not a protected datagram (a plain packet, too short, an unknown kind), or a bad layer message."""
    cleartext: int = 0
    """A CLEAR datagram (a packet sent unprotected on purpose) where the caller allows none of its kind."""
    unknown_session: int = 0
    """A unicast datagram whose session id names no session."""
    wrong_address: int = 0
    """A session's datagram from another address than the session's peer."""
    replayed: int = 0
    """A packet number already accepted (or older than the replay window)."""
    forged: int = 0
    """The AEAD tag did not verify: made without the key (an outsider), or damaged."""
    no_key: int = 0
    """A group datagram of an epoch whose key this receiver does not hold (yet)."""
    insider_forged: int = 0
    """Opened under the group key, but not what the source signed: forged by a key holder."""
    bad_signature: int = 0
    """A signed block whose signature does not verify."""
    unverified: int = 0
    """Group packets dropped because their signed block did not come in time, or the hold was full."""
    untrusted: int = 0
    """Key-exchange replies signed by a source key this receiver does not trust (the connection ended)."""
    no_session_out: int = 0
    """Core packets to a peer without a session, not sent."""
    blocks_signed: int = 0
    block_packets: int = 0
    """Group packets the signed blocks covered (their mean size is block_packets / blocks_signed)."""
    blocks_verified: int = 0
    held: int = 0
    """Group packets that waited for their signed block."""
    key_updates_sent: int = 0
    key_requests_sent: int = 0
    signature_requests_sent: int = 0
    signatures_resent: int = 0

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
        return {**asdict(self), "dropped": self.dropped}
