"""Maximum throughput Λ of each class: the rate the most heavily loaded host can sustain (§1).

    Λ^w = 1 / max_{roles k of class w} E[cost_k^w]        [CONF] (Pingali: Λ = min{1/E[X], 1/E[Y]})

Costs are per application packet in the time unit of the mean processing costs, so Λ is in
packets per time unit (with unit costs: packets per "one packet-processing time").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from smocast.model.flat import costs_a, costs_n1, costs_n2
from smocast.model.params import Costs, ModelOptions, check_class
from smocast.model.ring import costs_ring, receiver_ring, sender_ring
from smocast.model.transmissions import check_loss, check_receivers, loss_odds
from smocast.model.tree import costs_h1, costs_h2

DEFAULT_COSTS = Costs()
DEFAULT_OPTIONS = ModelOptions()


def role_costs(
    cls: str, p: float, receivers: int, costs: Costs = DEFAULT_COSTS, options: ModelOptions = DEFAULT_OPTIONS
) -> dict[str, float]:
    """Expected cost per packet of each role of class ``cls`` at loss p with R receivers.

    Roles: "sender" and "receiver" for every class; "leader" for H1/H2 when R > B; "token_site"
    for the ring (see :mod:`smocast.model.ring` for its R = 1 and rotating variants).
    """
    cls = check_class(cls)
    p = check_loss(p)
    receivers = check_receivers(receivers)
    if cls == "A":
        return costs_a(p, receivers, costs)
    if cls == "N1":
        return costs_n1(p, receivers, costs)
    if cls == "N2":
        return costs_n2(p, receivers, costs, options)
    if cls == "H1":
        return costs_h1(p, receivers, costs, options)
    if cls == "H2":
        return costs_h2(p, receivers, costs, options)
    return costs_ring(p, receivers, costs, options)


def throughput_from_roles(roles: Mapping[str, float]) -> float:
    """Λ = 1 / max role cost (∞ if every cost is 0, which only all-zero cost parameters give)."""
    worst = max(roles.values())
    return float("inf") if worst <= 0.0 else 1.0 / worst


def throughput(
    cls: str, p: float, receivers: int, costs: Costs = DEFAULT_COSTS, options: ModelOptions = DEFAULT_OPTIONS
) -> float:
    """Λ^w(R) = 1 / max_k E[cost_k^w]. [CONF]"""
    return throughput_from_roles(role_costs(cls, p, receivers, costs, options))


def throughput_limit(
    cls: str, p: float, costs: Costs = DEFAULT_COSTS, options: ModelOptions = DEFAULT_OPTIONS
) -> float:
    """lim_{R→∞} Λ^w(R) (Table 1, §8). [DERIVED]

    0 for A, N1, N2 and the token-site ring; Λ^w(B + 1) for the trees, whose costs do not depend on
    R once R > B; 1 / max(E[X^R], E[Y^R] + q(X_n + X_p)) for the rotating ring, the limit of
    E[T^R]/R + (1 − 1/R)·E[Y^R].
    """
    cls = check_class(cls)
    p = check_loss(p)
    if cls in ("H1", "H2"):
        return throughput(cls, p, costs.B + 1, costs, options)
    if cls == "R" and options.ring_load == "rotating":
        per_receiver = receiver_ring(p, costs, options) + loss_odds(p) * (costs.X_n + costs.X_p)
        return throughput_from_roles({"sender": sender_ring(p, costs, options), "receiver": per_receiver})
    return 0.0


@dataclass(frozen=True)
class ThroughputPoint:
    """One evaluation of the model: class, loss, group size, Λ, and the role costs behind it."""

    cls: str
    p: float
    receivers: int
    throughput: float
    roles: Mapping[str, float] = field(default_factory=dict)

    @property
    def bottleneck(self) -> str:
        """The role with the largest cost (the first such role on a tie)."""
        return max(self.roles, key=lambda role: self.roles[role])

    def as_dict(self) -> dict[str, object]:
        """{"class", "p", "receivers", "throughput", "roles": {role: cost}} for JSON output."""
        return {
            "class": self.cls,
            "p": self.p,
            "receivers": self.receivers,
            "throughput": self.throughput,
            "roles": dict(self.roles),
        }


def evaluate(
    cls: str, p: float, receivers: int, costs: Costs = DEFAULT_COSTS, options: ModelOptions = DEFAULT_OPTIONS
) -> ThroughputPoint:
    """Role costs and Λ of one class at one (p, R)."""
    roles = role_costs(cls, p, receivers, costs, options)
    return ThroughputPoint(cls, p, receivers, throughput_from_roles(roles), roles)


def throughput_points(
    classes: Iterable[str],
    losses: Iterable[float],
    receivers: Iterable[int],
    costs: Costs = DEFAULT_COSTS,
    options: ModelOptions = DEFAULT_OPTIONS,
) -> list[ThroughputPoint]:
    """Every combination, ordered by p, then class, then R (the layout of Figure 6)."""
    classes, losses, receivers = list(classes), list(losses), list(receivers)
    return [evaluate(cls, p, r, costs, options) for p in losses for cls in classes for r in receivers]
