"""Supportable receivers versus relative processor speed: Figure 7 and equations (58)-(64) (§9).

Equations (58)-(64) of the paper could not be recovered [OPEN]; this is the reconstruction of §9
[DERIVED], consistent with the paper's prose ("normalizing classes to the baseline processor of
Pingali et al.: protocol A supporting exactly one receiver with a processor of speed 1"):

* A processor s times faster than the baseline divides every cost by s: Λ^w_s(R) = s·Λ^w(R).
* Baseline (58): the required rate is λ0 = Λ^A(R0), the rate at which protocol A on a speed-1
  processor just supports R0 receivers (R0 = 1 in the paper).
* (59)-(64), one per class: the supportable receivers
      R*_w(s, λ0) = max{ R ≥ 1 : s·Λ^w(R) ≥ λ0 },
  which is ∞ when lim_R s·Λ^w(R) ≥ λ0 (the trees, Table 1) and 0 when not even R = 1 qualifies.
* Read the other way, s_w(R) = λ0 / Λ^w(R) is the relative processor speed class w needs for R
  receivers; R*_w is its inverse.
* Dual reading: Λ^w(R) / Λ^A(R) is the speed-up a protocol-A host needs to match class w at R.

Numerics: the comparison s·Λ ≥ λ0 allows a relative slack of ``RATE_SLACK`` (1e-12) so that a
speed that exactly matches a cost ratio is not lost to rounding. The search assumes that the
receivers a class supports form an initial segment 1..R*, i.e. that max role cost does not fall
as R grows; that holds for every class at the Figure 6/7 costs (tested). It stops at
``max_receivers``; a result there is reported as ``at_search_limit`` (the true R* is at least it).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from smocast.core.errors import ConfigError
from smocast.model.params import Costs, ModelOptions
from smocast.model.throughput import DEFAULT_COSTS, DEFAULT_OPTIONS, throughput, throughput_limit

RATE_SLACK = 1e-12
"""Relative slack of the test s·Λ^w(R) ≥ λ0."""

DEFAULT_MAX_RECEIVERS = 10**9
"""Where the search for R* stops by default."""


def baseline_rate(
    p: float, baseline_receivers: int = 1, costs: Costs = DEFAULT_COSTS, options: ModelOptions = DEFAULT_OPTIONS
) -> float:
    """λ0 = Λ^A(R0), equation (58) as reconstructed. [DERIVED]"""
    return throughput("A", p, baseline_receivers, costs, options)


def relative_speed_required(
    cls: str,
    p: float,
    receivers: int,
    rate: float,
    costs: Costs = DEFAULT_COSTS,
    options: ModelOptions = DEFAULT_OPTIONS,
) -> float:
    """s_w(R) = λ0 / Λ^w(R): the processor speed, relative to the baseline, class w needs for R receivers."""
    return rate / throughput(cls, p, receivers, costs, options)


def speedup_over_a(
    cls: str, p: float, receivers: int, costs: Costs = DEFAULT_COSTS, options: ModelOptions = DEFAULT_OPTIONS
) -> float:
    """Dual reading of §9: Λ^w(R) / Λ^A(R), the speed-up protocol A needs to match class w. [DERIVED]"""
    return throughput(cls, p, receivers, costs, options) / throughput("A", p, receivers, costs, options)


@dataclass(frozen=True)
class SupportablePoint:
    """R*_w(s, λ0) of one class at one loss probability and processor speed.

    ``receivers`` is None when unbounded (every group size is supported); when
    ``at_search_limit`` is True it equals the search limit and the true value is at least that.
    """

    cls: str
    p: float
    speed: float
    receivers: int | None
    unbounded: bool
    at_search_limit: bool

    def as_dict(self) -> dict[str, object]:
        """Keys: class, p, speed, supportable_receivers (null when unbounded), unbounded, at_search_limit."""
        return {
            "class": self.cls,
            "p": self.p,
            "speed": self.speed,
            "supportable_receivers": self.receivers,
            "unbounded": self.unbounded,
            "at_search_limit": self.at_search_limit,
        }


def _largest_supported(ok: Callable[[int], bool], max_receivers: int) -> tuple[int, bool]:
    """(largest R in [1, max_receivers] with ok(R), whether it is max_receivers), ok true on 1..R*."""
    if not ok(1):
        return 0, False
    if ok(max_receivers):
        return max_receivers, True
    low, high = 1, 2
    while ok(high):  # exponential search: ok(low), not ok(high) afterwards
        low, high = high, min(2 * high, max_receivers)
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if ok(middle) else (low, middle)
    return low, False


def supportable_receivers(
    cls: str,
    p: float,
    speed: float,
    rate: float,
    costs: Costs = DEFAULT_COSTS,
    options: ModelOptions = DEFAULT_OPTIONS,
    max_receivers: int = DEFAULT_MAX_RECEIVERS,
) -> SupportablePoint:
    """R*_w(s, λ0) = max{R ≥ 1 : s·Λ^w(R) ≥ λ0}, equations (59)-(64) as reconstructed. [DERIVED]"""
    if not (math.isfinite(speed) and speed > 0.0):
        raise ConfigError(f"the relative processor speed must be a positive number, got {speed!r}")
    if not (math.isfinite(rate) and rate > 0.0):
        raise ConfigError(f"the required rate must be a positive number, got {rate!r}")
    if max_receivers < 1:
        raise ConfigError(f"the search limit must be >= 1, got {max_receivers}")
    needed = rate * (1.0 - RATE_SLACK)
    if speed * throughput_limit(cls, p, costs, options) >= needed:
        return SupportablePoint(cls, p, speed, None, unbounded=True, at_search_limit=False)

    def ok(receivers: int) -> bool:
        return speed * throughput(cls, p, receivers, costs, options) >= needed

    found, at_limit = _largest_supported(ok, max_receivers)
    return SupportablePoint(cls, p, speed, found, unbounded=False, at_search_limit=at_limit)


def supportable_points(
    classes: Iterable[str],
    losses: Iterable[float],
    speeds: Iterable[float],
    baseline_receivers: int = 1,
    costs: Costs = DEFAULT_COSTS,
    options: ModelOptions = DEFAULT_OPTIONS,
    max_receivers: int = DEFAULT_MAX_RECEIVERS,
) -> list[SupportablePoint]:
    """R* for every combination, ordered by p, then class, then speed; λ0 = Λ^A(R0) per p."""
    classes, losses, speeds = list(classes), list(losses), list(speeds)
    points = []
    for p in losses:
        rate = baseline_rate(p, baseline_receivers, costs, options)
        points += [
            supportable_receivers(cls, p, s, rate, costs, options, max_receivers) for cls in classes for s in speeds
        ]
    return points
