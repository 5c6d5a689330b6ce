"""The analytic maximum-throughput model of the reliable multicast protocol classes.

Classes A, N1, N2 (Pingali, Towsley, Kurose) and H1, H2, R (Levine, Garcia-Luna-Aceves): the
expected processing cost per packet of each host role, the maximum throughput
Λ = 1 / max role cost, and the number of receivers a processor of a given relative speed supports.
The equations, their provenance tags and the [OPEN] switches are in ``docs/model.md``.

This package is pure: it performs no I/O and imports nothing from the simulator.

    >>> from smocast.model import throughput
    >>> round(throughput("N2", 0.01, 100), 4)
    0.3041
"""

from smocast.model.params import CLASS_DESCRIPTIONS, CLASSES, COST_NAMES, Costs, ModelOptions
from smocast.model.supportable import (
    SupportablePoint,
    baseline_rate,
    relative_speed_required,
    speedup_over_a,
    supportable_points,
    supportable_receivers,
)
from smocast.model.throughput import (
    ThroughputPoint,
    evaluate,
    role_costs,
    throughput,
    throughput_limit,
    throughput_points,
)
from smocast.model.transmissions import (
    SERIES_TOLERANCE,
    expected_transmissions,
    expected_transmissions_alternating,
    expected_transmissions_local,
    harmonic_number,
    loss_odds,
    transmission_bounds,
)

__all__ = [
    "CLASSES",
    "CLASS_DESCRIPTIONS",
    "COST_NAMES",
    "SERIES_TOLERANCE",
    "Costs",
    "ModelOptions",
    "SupportablePoint",
    "ThroughputPoint",
    "baseline_rate",
    "evaluate",
    "expected_transmissions",
    "expected_transmissions_alternating",
    "expected_transmissions_local",
    "harmonic_number",
    "loss_odds",
    "relative_speed_required",
    "role_costs",
    "speedup_over_a",
    "supportable_points",
    "supportable_receivers",
    "throughput",
    "throughput_limit",
    "throughput_points",
    "transmission_bounds",
]
