"""Supportable receivers versus relative processor speed (§9, Figure 7) and the dual reading."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smocast.core.errors import ConfigError
from smocast.model import (
    CLASSES,
    ModelOptions,
    baseline_rate,
    relative_speed_required,
    speedup_over_a,
    supportable_points,
    supportable_receivers,
    throughput,
)

LOSSES = (0.01, 0.1, 0.25)


@pytest.mark.parametrize("p", LOSSES)
def test_baseline_is_protocol_a_with_one_receiver(p: float) -> None:
    # With E[M] = 1/(1 − p): X^A(1) = 1 + E[M] + (E[M] − 1) + (1 − p)E[M] = 1 + 2/(1 − p), above Y^A(1) = 3.
    assert baseline_rate(p) == pytest.approx(1 / (1 + 2 / (1 - p)))
    point = supportable_receivers("A", p, 1.0, baseline_rate(p))
    assert (point.receivers, point.unbounded, point.at_search_limit) == (1, False, False)


@pytest.mark.parametrize("p", LOSSES)
@pytest.mark.parametrize("cls", ["A", "N1", "N2", "R", "H1", "H2"])
@pytest.mark.parametrize("speed", [0.8, 1.0, 1.5, 3.0, 10.0])
def test_result_is_the_largest_supported_group(p: float, cls: str, speed: float) -> None:
    rate = baseline_rate(p)
    point = supportable_receivers(cls, p, speed, rate, max_receivers=10**7)
    if point.unbounded:
        assert point.receivers is None
        assert cls in ("H1", "H2")
        assert speed * throughput(cls, p, 10**6) >= rate
        return
    assert point.receivers is not None
    if point.at_search_limit:
        assert point.receivers == 10**7
        assert speed * throughput(cls, p, 10**7) >= rate
        return
    if point.receivers > 0:
        assert speed * throughput(cls, p, point.receivers) >= rate * (1 - 1e-12)
    assert speed * throughput(cls, p, point.receivers + 1) < rate


def test_trees_become_unbounded_at_the_speed_of_their_plateau() -> None:
    p = 0.1
    rate = baseline_rate(p)
    plateau_speed = relative_speed_required("H2", p, 11, rate)
    assert supportable_receivers("H2", p, plateau_speed * 1.001, rate).unbounded
    below = supportable_receivers("H2", p, plateau_speed * 0.999, rate)
    assert not below.unbounded
    assert below.receivers == 10  # the best it does without group leaders


def test_slow_processors_support_nobody() -> None:
    point = supportable_receivers("A", 0.1, 0.5, baseline_rate(0.1))
    assert point.receivers == 0


def test_search_limit_is_reported() -> None:
    point = supportable_receivers("N2", 0.01, 50.0, baseline_rate(0.01), max_receivers=1000)
    assert (point.receivers, point.at_search_limit, point.unbounded) == (1000, True, False)


def test_faster_processors_support_more_receivers_in_the_order_of_figure_7() -> None:
    p = 0.1
    points = supportable_points(["A", "N1", "R"], [p], [2.0, 20.0])
    by_key = {(pt.cls, pt.speed): pt.receivers for pt in points}
    for cls in ("A", "N1", "R"):
        assert by_key[cls, 20.0] > by_key[cls, 2.0]  # type: ignore[operator]
    assert by_key["N1", 20.0] > by_key["R", 20.0] > by_key["A", 20.0]  # type: ignore[operator]


@pytest.mark.parametrize("p", LOSSES)
def test_n1_and_ring_support_receivers_in_proportion_to_speed(p: float) -> None:
    # From Λ^{N1}·R → 1/q and Λ^R·R → 1/(2q): R* ≈ s/(λ0·q) and s/(2·λ0·q) for fast processors.
    rate, q, speed = baseline_rate(p), p / (1 - p), 1000.0
    n1 = supportable_receivers("N1", p, speed, rate).receivers
    ring = supportable_receivers("R", p, speed, rate).receivers
    assert n1 is not None and ring is not None
    assert n1 * rate * q / speed == pytest.approx(1.0, rel=0.01)
    assert ring * rate * 2 * q / speed == pytest.approx(1.0, rel=0.01)


def test_rotating_ring_is_unbounded_once_fast_enough() -> None:
    rotating = ModelOptions(ring_load="rotating")
    rate = baseline_rate(0.1, options=rotating)
    assert supportable_receivers("R", 0.1, 2.0, rate, options=rotating).unbounded
    assert not supportable_receivers("R", 0.1, 2.0, rate).unbounded


def test_baseline_receivers_raise_the_required_rate_less() -> None:
    # A baseline of A with 10 receivers asks for a lower rate, so every class supports more.
    one, ten = supportable_points(["N1"], [0.1], [2.0], 1), supportable_points(["N1"], [0.1], [2.0], 10)
    assert ten[0].receivers > one[0].receivers  # type: ignore[operator]
    assert supportable_points(["A"], [0.1], [1.0], 10)[0].receivers == 10


def test_dual_reading_is_the_throughput_ratio_to_protocol_a() -> None:
    p = 0.01
    # At R = 1: X^A = 1 + 2/(1 − p), X^{N1} = 2/(1 − p).
    assert speedup_over_a("N1", p, 1) == pytest.approx((1 + 2 / (1 - p)) / (2 / (1 - p)))
    assert speedup_over_a("A", p, 500) == 1.0
    assert speedup_over_a("H2", p, 10000) > speedup_over_a("H2", p, 100) > 1


def test_point_serialises_with_clear_keys() -> None:
    point = supportable_receivers("H1", 0.1, 100.0, baseline_rate(0.1)).as_dict()
    assert point == {
        "class": "H1",
        "p": 0.1,
        "speed": 100.0,
        "supportable_receivers": None,
        "unbounded": True,
        "at_search_limit": False,
    }


@pytest.mark.parametrize(("speed", "rate", "limit"), [(0.0, 0.3, 10), (1.0, -1.0, 10), (1.0, 0.3, 0)])
def test_rejects_bad_arguments(speed: float, rate: float, limit: int) -> None:
    with pytest.raises(ConfigError):
        supportable_receivers("N1", 0.1, speed, rate, max_receivers=limit)


@settings(max_examples=60, deadline=None)
@given(
    cls=st.sampled_from(CLASSES),
    p=st.floats(min_value=1e-3, max_value=0.5),
    r=st.integers(min_value=1, max_value=10**5),
)
def test_speed_required_for_r_supports_at_least_r(cls: str, p: float, r: int) -> None:
    rate = baseline_rate(p)
    point = supportable_receivers(cls, p, relative_speed_required(cls, p, r, rate), rate)
    assert point.unbounded or (point.receivers is not None and point.receivers >= r)
