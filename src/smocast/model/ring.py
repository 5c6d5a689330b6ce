"""Per-packet costs of the ring class R (§7; Levine, after TRP and RMP).

The source multicasts each packet once. The current token site multicasts an ACK that also passes
the token (and time-stamps the packet). Every other receiver unicasts a NAK to the token site for
each loss, and the token site answers each NAK with a unicast retransmission [SEED]. The token site
must itself hold the packet; it recovers it from the source in the same way [DERIVED].

Roles: "sender" (the source), "receiver" (an ordinary receiver; absent when R = 1, where the one
receiver is the token site) and "token_site". With ``options.ring_load == "rotating"`` the token
moves every packet and each receiver's load is averaged over its turns; the roles are then
"sender" and "receiver" (the averaged per-receiver load).
"""

from __future__ import annotations

from smocast.model.params import Costs, ModelOptions
from smocast.model.transmissions import check_receivers, loss_odds, naks_at_token_site


def sender_ring(p: float, costs: Costs, options: ModelOptions) -> float:
    """E[X^R] = X_f + X_p + X_a + q·(X_n + X_p).   [DERIVED]

    One multicast, one token-site ACK, and unicast repairs of the token site's q expected losses.
    The repair term is dropped when ``options.ring_source_pays_recovery`` is False [OPEN].
    """
    base = costs.X_f + costs.X_p + costs.X_a
    if not options.ring_source_pays_recovery:
        return base
    return base + loss_odds(p) * (costs.X_n + costs.X_p)


def receiver_ring(p: float, costs: Costs, options: ModelOptions) -> float:
    """E[Y^R] = Y_p + Y_f + Y_a + q·(Y_n + Y_t).   [DERIVED]

    One successful reception (the first multicast or a unicast repair), delivery, processing the
    ACK/token multicast, and a NAK plus a timer per loss. Y_a is dropped when
    ``options.ring_ack_at_every_receiver`` is False [OPEN].
    """
    ack = costs.Y_a if options.ring_ack_at_every_receiver else 0.0
    return costs.Y_p + costs.Y_f + ack + loss_odds(p) * (costs.Y_n + costs.Y_t)


def token_site_ring(p: float, receivers: int, costs: Costs) -> float:
    """E[T^R] = Y_p + Y_f + Y_a + q·(Y_n + Y_t) + E[L^R]·(X_n + X_p),  E[L^R] = (R − 1)·q.

    [SEED terms; DERIVED algebra] The token site receives and delivers the packet, recovers its own
    losses from the source, sends the ACK/token (always Y_a), and answers each of the (R − 1)·q NAKs
    of the others with one unicast repair.
    """
    own = costs.Y_p + costs.Y_f + costs.Y_a + loss_odds(p) * (costs.Y_n + costs.Y_t)
    return own + naks_at_token_site(p, receivers) * (costs.X_n + costs.X_p)


def rotating_receiver_ring(p: float, receivers: int, costs: Costs, options: ModelOptions) -> float:
    """Per-receiver load when the token rotates every packet: E[T^R]/R + (1 − 1/R)·E[Y^R]. [OPEN variant]"""
    receivers = check_receivers(receivers)
    share = 1.0 / receivers
    return share * token_site_ring(p, receivers, costs) + (1.0 - share) * receiver_ring(p, costs, options)


def costs_ring(p: float, receivers: int, costs: Costs, options: ModelOptions) -> dict[str, float]:
    """Role costs of the ring. Λ^R = 1 / max(...); the token site is the bottleneck: Θ(1/(R q)).

    "token_site" (default): {"sender", "receiver" (R ≥ 2 only), "token_site"}.
    "rotating": {"sender", "receiver"} with the averaged per-receiver load, which is O(1).
    """
    receivers = check_receivers(receivers)
    sender = sender_ring(p, costs, options)
    if options.ring_load == "rotating":
        return {"sender": sender, "receiver": rotating_receiver_ring(p, receivers, costs, options)}
    roles = {"sender": sender}
    if receivers > 1:
        roles["receiver"] = receiver_ring(p, costs, options)
    roles["token_site"] = token_site_ring(p, receivers, costs)
    return roles
