"""Per-packet costs of the flat classes A, N1, N2 (§4; Pingali/Towsley/Kurose, restated by Levine).

Each function returns the expected processing cost per application packet of each role, as a
mapping role -> cost with roles "sender" and "receiver". Throughput is 1 / max of these (§1).
E[·] of a processing time is written as its symbol (costs are means).
"""

from __future__ import annotations

from smocast.model.params import Costs, ModelOptions, received_nak_charge
from smocast.model.transmissions import (
    acks_protocol_a,
    copies_per_receiver,
    expected_transmissions,
    naks_heard_n2,
    naks_protocol_n1,
    naks_sent_n2,
    timeouts_per_receiver,
)


def sender_a(p: float, receivers: int, costs: Costs) -> float:
    """E[X^A] = X_f + E[M]·X_p + (E[M] − 1)·X_t + R(1 − p)E[M]·X_a.   [RECALL; terms CONF]

    One fetch from the higher layer, E[M] multicasts, a timeout before every retransmission (the
    last transmission draws none), and one ACK for every copy any receiver gets.
    """
    em = expected_transmissions(p, receivers)
    return costs.X_f + em * costs.X_p + (em - 1.0) * costs.X_t + acks_protocol_a(p, receivers) * costs.X_a


def receiver_a(p: float, receivers: int, costs: Costs) -> float:
    """E[Y^A] = (1 − p)E[M]·(Y_p + Y_a) + Y_f.   [RECALL; terms CONF]

    A receiver processes and ACKs each of the (1 − p)E[M] copies it receives, duplicates included.
    """
    return copies_per_receiver(p, receivers) * (costs.Y_p + costs.Y_a) + costs.Y_f


def sender_n1(p: float, receivers: int, costs: Costs) -> float:
    """E[X^{N1}] = X_f + E[M]·X_p + R·q·X_n.   [RECALL; terms CONF]

    Every receiver still missing the packet after a round unicasts a NAK: R·q NAKs per packet.
    """
    em = expected_transmissions(p, receivers)
    return costs.X_f + em * costs.X_p + naks_protocol_n1(p, receivers) * costs.X_n


def receiver_n1(p: float, receivers: int, costs: Costs) -> float:
    """E[Y^{N1}] = (1 − p)E[M]·Y_p + Y_f + q·(Y_n + Y_t).   [RECALL; terms CONF]

    A NAK and a timer for each of the q expected losses of this receiver.
    """
    q = timeouts_per_receiver(p)
    return copies_per_receiver(p, receivers) * costs.Y_p + costs.Y_f + q * (costs.Y_n + costs.Y_t)


def sender_n2(p: float, receivers: int, costs: Costs) -> float:
    """E[X^{N2}] = X_f + E[M]·X_p + (E[M] − 1)·X_n.   [RECALL]

    With ideal NAK suppression exactly one NAK reaches the sender per retransmission round.
    """
    em = expected_transmissions(p, receivers)
    return costs.X_f + em * costs.X_p + (em - 1.0) * costs.X_n


def receiver_n2(p: float, receivers: int, costs: Costs, options: ModelOptions) -> float:
    """E[Y^{N2}] = (1 − p)E[M]·Y_p + Y_f + q·Y_t + ((E[M] − 1)/R)·Y_n + (E[M] − 1)(1 − 1/R)·Y_nr.

    [RECALL + OPEN term] By symmetry each receiver sends (E[M] − 1)/R of the M − 1 NAKs (1/R NAK
    sharing) and processes one backoff timeout per round it still misses the packet (q). The last
    term, the NAKs heard from the others, is charged at Y_nr (default 0) or at Y_n, as chosen by
    ``options.received_nak_cost``.
    """
    return (
        copies_per_receiver(p, receivers) * costs.Y_p
        + costs.Y_f
        + timeouts_per_receiver(p) * costs.Y_t
        + naks_sent_n2(p, receivers) * costs.Y_n
        + naks_heard_n2(p, receivers) * received_nak_charge(costs, options)
    )


def costs_a(p: float, receivers: int, costs: Costs) -> dict[str, float]:
    """Role costs of protocol A: {"sender": E[X^A], "receiver": E[Y^A]}. Λ^A = 1/max(...)."""
    return {"sender": sender_a(p, receivers, costs), "receiver": receiver_a(p, receivers, costs)}


def costs_n1(p: float, receivers: int, costs: Costs) -> dict[str, float]:
    """Role costs of protocol N1: {"sender": E[X^{N1}], "receiver": E[Y^{N1}]}."""
    return {"sender": sender_n1(p, receivers, costs), "receiver": receiver_n1(p, receivers, costs)}


def costs_n2(p: float, receivers: int, costs: Costs, options: ModelOptions) -> dict[str, float]:
    """Role costs of protocol N2: {"sender": E[X^{N2}], "receiver": E[Y^{N2}]}."""
    return {"sender": sender_n2(p, receivers, costs), "receiver": receiver_n2(p, receivers, costs, options)}
