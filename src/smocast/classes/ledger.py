"""Counting the operations of the analytic model at each endpoint.

Every endpoint owns a :class:`Ledger`: per role, how many times it did each operation of the
model (``smocast.model`` and ``reference/analytic-model.md`` §2). A host normally plays one role;
a ring receiver is the token site for some packets and an ordinary receiver for the others, so
it counts under both. The simulator adds the ledgers up per role and divides by the number of
application packets (and of hosts in the role) to get the mean cost per packet.

Sender or parent: X_f take a packet from the application, X_p one (re)transmission, X_a process
an ACK, X_n process a NAK, X_t process a timeout, X_h process a local ACK from a child, X_pa
process one child's periodic ACK / poll reply. Receiver: Y_p process a data packet (duplicates
included), Y_f deliver it, Y_a send an ACK (ring: send or process the ACK/token), Y_n send a NAK,
Y_nr process a NAK multicast by another receiver, Y_t process a timeout, Y_h send a local ACK,
Y_pa send a periodic ACK / poll reply. The model has no symbol for session messages,
heartbeats and polls; they are counted as X_s (sent or processed by a sender or parent) and
Y_s (processed by a receiver) so that a report can show what the model leaves out.
"""

from __future__ import annotations

SENDER_OPS: tuple[str, ...] = ("X_f", "X_p", "X_a", "X_n", "X_t", "X_h", "X_pa", "X_s")
RECEIVER_OPS: tuple[str, ...] = ("Y_p", "Y_f", "Y_a", "Y_n", "Y_nr", "Y_t", "Y_h", "Y_pa", "Y_s")
OPS: tuple[str, ...] = SENDER_OPS + RECEIVER_OPS
UNMODELLED_OPS: tuple[str, ...] = ("X_s", "Y_s")

SENDER = "sender"
RECEIVER = "receiver"
LEADER = "leader"
TOKEN_SITE = "token_site"
ROLES: tuple[str, ...] = (SENDER, RECEIVER, LEADER, TOKEN_SITE)


def blank() -> dict[str, int]:
    """A zero count for every operation (a plain dict: ``ops["X_p"] += 1`` is the hot path)."""
    return dict.fromkeys(OPS, 0)


class Ledger:
    """Operation counts of one endpoint, per role."""

    __slots__ = ("roles",)

    def __init__(self) -> None:
        self.roles: dict[str, dict[str, int]] = {}

    def role(self, name: str) -> dict[str, int]:
        """The counts of role ``name``, created on first use; increment its entries directly."""
        ops = self.roles.get(name)
        if ops is None:
            ops = self.roles[name] = blank()
        return ops

    def total(self, role: str) -> dict[str, int]:
        """A copy of the counts of ``role`` (all zero if the endpoint never played it)."""
        return dict(self.roles.get(role) or blank())
