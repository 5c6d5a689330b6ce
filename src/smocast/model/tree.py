"""Per-packet costs of the tree classes H1 and H2 (§5, §6; Levine and Garcia-Luna-Aceves).

Receivers form local groups of B children under a parent (the source or a group leader). Inside a
group, H1 behaves like protocol A and H2 like protocol N2 with R replaced by B, so a parent needs
M_B transmissions, E[M_B] = E[M] at R = B [SEED]. A group leader is a receiver of its own parent's
group and the parent of its own group: Levine's rule [SEED] is

    E[H^w] = E[X^w] + E[Y^w] − X_f − X_p

("source plus leaf, without the higher-layer cost and with one transmission less", since the
original comes from the source).

Edge case R ≤ B [DERIVED]: there are no group leaders; the source has R children, so the local
group size is B_eff = min(B, R) and the "leader" role is absent. H1 then equals protocol A.
For R > B every role's cost is independent of R: Levine's scalability result.
"""

from __future__ import annotations

from smocast.model.params import Costs, ModelOptions, local_ack_charges, received_nak_charge
from smocast.model.transmissions import (
    acks_protocol_a,
    check_receivers,
    copies_per_receiver,
    expected_transmissions_local,
    naks_heard_n2,
    naks_sent_n2,
    timeouts_per_receiver,
)


def local_group_size(receivers: int, costs: Costs) -> int:
    """B_eff = min(B, R): the size of the local groups (the source's only group when R ≤ B). [DERIVED]"""
    return min(costs.B, check_receivers(receivers))


def has_leaders(receivers: int, costs: Costs) -> bool:
    """Whether the tree has group leaders besides the source, i.e. R > B. [DERIVED]"""
    return check_receivers(receivers) > costs.B


def local_acks_h1(p: float, group: int) -> float:
    """E[L^{H1}] = B·E[M_B]·(1 − p): local ACKs a parent processes per packet. [SEED]"""
    return acks_protocol_a(p, group)


def leader_cost(sender: float, receiver: float, costs: Costs) -> float:
    """E[H^w] = E[X^w] + E[Y^w] − X_f − X_p. [SEED rule]"""
    return sender + receiver - costs.X_f - costs.X_p


def sender_h1(p: float, group: int, costs: Costs, options: ModelOptions) -> float:
    """E[X^{H1}] = X_f + E[M_B]·X_p + (E[M_B] − 1)·X_t + B(1 − p)E[M_B]·X_h.   [SEED terms; DERIVED algebra]

    X_h becomes X_a when ``options.h1_ack_costs == "global"``.
    """
    emb = expected_transmissions_local(p, group)
    parent_ack, _ = local_ack_charges(costs, options)
    return costs.X_f + emb * costs.X_p + (emb - 1.0) * costs.X_t + local_acks_h1(p, group) * parent_ack


def receiver_h1(p: float, group: int, costs: Costs, options: ModelOptions) -> float:
    """E[Y^{H1}] = (1 − p)E[M_B]·(Y_p + Y_h) + Y_f.   [DERIVED: protocol A's receiver with R → B]

    Y_h becomes Y_a when ``options.h1_ack_costs == "global"``.
    """
    _, child_ack = local_ack_charges(costs, options)
    return copies_per_receiver(p, group) * (costs.Y_p + child_ack) + costs.Y_f


def periodic_parent_cost(group: int, costs: Costs, options: ModelOptions) -> float:
    """The H2 parent's amortised periodic cost per packet: B·X_pa ("per_child") or X_pa ("single"). [OPEN]"""
    return group * costs.X_pa if options.h2_periodic_cost == "per_child" else costs.X_pa


def sender_h2(p: float, group: int, costs: Costs, options: ModelOptions) -> float:
    """E[X^{H2}] = X_f + E[M_B]·X_p + (E[M_B] − 1)·X_n + B·X_pa.   [DERIVED; periodic term OPEN]

    One NAK per retransmission round inside the local group (ideal suppression), plus the periodic
    ACKs / poll replies that release buffers.
    """
    emb = expected_transmissions_local(p, group)
    return costs.X_f + emb * costs.X_p + (emb - 1.0) * costs.X_n + periodic_parent_cost(group, costs, options)


def receiver_h2(p: float, group: int, costs: Costs, options: ModelOptions) -> float:
    """E[Y^{H2}] = (1 − p)E[M_B]·Y_p + Y_f + q·Y_t + ((E[M_B] − 1)/B)·Y_n + (E[M_B] − 1)(1 − 1/B)·Y_nr + Y_pa.

    [DERIVED] Protocol N2's receiver with R → B, plus the child's periodic ACK / poll reply. The
    Y_nr term follows ``options.received_nak_cost`` exactly as for N2.
    """
    return (
        copies_per_receiver(p, group) * costs.Y_p
        + costs.Y_f
        + timeouts_per_receiver(p) * costs.Y_t
        + naks_sent_n2(p, group) * costs.Y_n
        + naks_heard_n2(p, group) * received_nak_charge(costs, options)
        + costs.Y_pa
    )


def _tree_roles(sender: float, receiver: float, leaders: bool, costs: Costs) -> dict[str, float]:
    roles = {"sender": sender, "receiver": receiver}
    if leaders:
        roles["leader"] = leader_cost(sender, receiver, costs)
    return roles


def costs_h1(p: float, receivers: int, costs: Costs, options: ModelOptions) -> dict[str, float]:
    """Role costs of H1: sender E[X^{H1}], receiver (leaf) E[Y^{H1}], and leader E[H^{H1}] when R > B.

    Λ^{H1} = 1 / max(...); once R > B only the leader term matters whenever Y ≥ X_f + X_p and
    X ≥ X_f + X_p (so H ≥ X and H ≥ Y), as at the Figure 6/7 costs.
    """
    group = local_group_size(receivers, costs)
    return _tree_roles(
        sender_h1(p, group, costs, options), receiver_h1(p, group, costs, options), has_leaders(receivers, costs), costs
    )


def costs_h2(p: float, receivers: int, costs: Costs, options: ModelOptions) -> dict[str, float]:
    """Role costs of H2: sender E[X^{H2}], receiver (leaf) E[Y^{H2}], and leader E[H^{H2}] when R > B."""
    group = local_group_size(receivers, costs)
    return _tree_roles(
        sender_h2(p, group, costs, options), receiver_h2(p, group, costs, options), has_leaders(receivers, costs), costs
    )
