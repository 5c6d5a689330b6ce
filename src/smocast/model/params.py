"""The parameters of the model: mean processing costs (§2), the [OPEN] switches (§11), class names.

All costs are *mean* processing times E[X_·], E[Y_·] in arbitrary time units; the model only uses
means because processing times are independent of the loss process (§1). The defaults are the
setting of Figures 6 and 7 (§2, §9, [SEED]): every mean processing time is 1, the amortised
periodic costs X_pa = Y_pa are 0.1, the branching factor B is 10, and Y_nr is 0.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Literal

from smocast.core.errors import ConfigError

CLASSES: tuple[str, ...] = ("A", "N1", "N2", "H1", "H2", "R")
"""The protocol classes: sender-initiated A, receiver-initiated N1 (unicast NAKs) and N2 (multicast
NAKs with NAK avoidance), tree-based H1, tree-NAPP H2, ring-based R."""

CLASS_DESCRIPTIONS: dict[str, str] = {
    "A": "sender-initiated: every receiver ACKs every copy, sender retransmits on timeout",
    "N1": "receiver-initiated: unicast NAKs to the sender",
    "N2": "receiver-initiated: multicast NAKs with NAK avoidance (RINA)",
    "H1": "tree-based: local ACKs to a group leader of B children",
    "H2": "tree-NAPP: local NAK avoidance and periodic polling in groups of B",
    "R": "ring-based: a token site ACKs, unicast NAKs and repairs",
}

ReceivedNakCost = Literal["y_nr", "y_n"]
H2PeriodicCost = Literal["per_child", "single"]
RingLoad = Literal["token_site", "rotating"]
H1AckCosts = Literal["local", "global"]


def check_class(name: str) -> str:
    """Return the class name if it is one of CLASSES; raise ConfigError otherwise."""
    if name not in CLASSES:
        raise ConfigError(f"unknown protocol class {name!r}; choose from {', '.join(CLASSES)}")
    return name


@dataclass(frozen=True)
class Costs:
    """Mean processing costs per operation (§2) and the branching factor B.

    Sender (or parent): X_f get a packet from the higher layer [SEED]; X_p one (re)transmission
    [SEED]; X_a process an ACK [RECALL]; X_n process a NAK [RECALL]; X_t process a timeout [SEED];
    X_h process a local ACK from a child (H1) [SEED]; X_pa per-packet amortised cost of one child's
    periodic ACK / poll reply (H2) [OPEN: symbol name].

    Receiver (or child): Y_p process a received data packet, duplicates included [RECALL]; Y_f
    deliver to the higher layer [RECALL]; Y_a send an ACK (ring: process the token-site ACK/token)
    [RECALL]; Y_n send a NAK [RECALL]; Y_nr process a NAK multicast by another receiver (N2, H2)
    [OPEN, default 0]; Y_t process a timeout [RECALL]; Y_h send a local ACK (H1) [DERIVED]; Y_pa
    per-packet amortised periodic ACK / poll reply (H2) [OPEN: symbol name].

    B: children per local group of the trees H1, H2 [SEED].
    """

    X_f: float = 1.0
    X_p: float = 1.0
    X_a: float = 1.0
    X_n: float = 1.0
    X_t: float = 1.0
    X_h: float = 1.0
    X_pa: float = 0.1
    Y_p: float = 1.0
    Y_f: float = 1.0
    Y_a: float = 1.0
    Y_n: float = 1.0
    Y_nr: float = 0.0
    Y_t: float = 1.0
    Y_h: float = 1.0
    Y_pa: float = 0.1
    B: int = 10

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "B":
                if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                    raise ConfigError(f"the branching factor B must be a whole number >= 1, got {value!r}")
            elif not isinstance(value, float | int) or isinstance(value, bool) or not value >= 0.0:
                raise ConfigError(f"cost {f.name} must be a number >= 0, got {value!r}")

    def with_values(self, **values: float) -> Costs:
        """A copy with some costs replaced (names as the fields, e.g. ``X_a=2.0``)."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"unknown cost parameter(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return replace(self, **values)  # type: ignore[arg-type]


COST_NAMES: tuple[str, ...] = tuple(f.name for f in fields(Costs))


@dataclass(frozen=True)
class ModelOptions:
    """The [OPEN] choices of the reference (§11), each a switch whose default is the reference's.

    received_nak_cost -- §4.3, §6. What an N2/H2 receiver pays for each NAK multicast by another
        receiver: "y_nr" charges Costs.Y_nr (default 0: Pingali-style accounting); "y_n" charges
        Y_n (full accounting; with Y_nr = 0 the two NAK terms then collapse to (E[M] − 1)·Y_n).
    h2_periodic_cost -- §6. The H2 parent's amortised periodic cost per packet: "per_child" is
        B·X_pa (one periodic ACK from each child, 1.0 per packet at the defaults); "single" is one
        X_pa.
    ring_load -- §7. "token_site": the current token site is a role of its own and the ring's
        bottleneck (Λ^R = Θ(1/(R q))); "rotating": the token moves every packet and each receiver's
        load is averaged, E[T^R]/R + (1 − 1/R)·E[Y^R] = O(1) (contradicts Levine's conclusion).
    ring_source_pays_recovery -- §7. Whether the source also pays q·(X_n + X_p) to repair the
        token site's own losses (True) or only X_f + X_p + X_a (False).
    ring_ack_at_every_receiver -- §7. Whether every ordinary receiver pays Y_a for processing the
        token site's ACK/token multicast (True) or only the token site pays Y_a (False).
    h1_ack_costs -- §5. The symbols of H1's local ACKs: "local" uses X_h (parent) and Y_h (child);
        "global" uses protocol A's X_a and Y_a.
    """

    received_nak_cost: ReceivedNakCost = "y_nr"
    h2_periodic_cost: H2PeriodicCost = "per_child"
    ring_load: RingLoad = "token_site"
    ring_source_pays_recovery: bool = True
    ring_ack_at_every_receiver: bool = True
    h1_ack_costs: H1AckCosts = "local"

    def __post_init__(self) -> None:
        _check_choice("received_nak_cost", self.received_nak_cost, ("y_nr", "y_n"))
        _check_choice("h2_periodic_cost", self.h2_periodic_cost, ("per_child", "single"))
        _check_choice("ring_load", self.ring_load, ("token_site", "rotating"))
        _check_choice("h1_ack_costs", self.h1_ack_costs, ("local", "global"))
        for name in ("ring_source_pays_recovery", "ring_ack_at_every_receiver"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"option {name} must be True or False, got {getattr(self, name)!r}")

    def as_dict(self) -> dict[str, str | bool]:
        """The switches by name, for reports."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _check_choice(name: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"option {name} must be one of {', '.join(choices)}, got {value!r}")


def received_nak_charge(costs: Costs, options: ModelOptions) -> float:
    """The cost an N2/H2 receiver pays per NAK heard from another receiver: Y_nr or Y_n. [OPEN]"""
    return costs.Y_n if options.received_nak_cost == "y_n" else costs.Y_nr


def local_ack_charges(costs: Costs, options: ModelOptions) -> tuple[float, float]:
    """(parent cost, child cost) of one H1 local ACK: (X_h, Y_h) or (X_a, Y_a). [OPEN]"""
    if options.h1_ack_costs == "global":
        return costs.X_a, costs.Y_a
    return costs.X_h, costs.Y_h
