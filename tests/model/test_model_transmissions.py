"""E[M]: the table of §10.1, the alternating cross-check, the §3 bounds, numerics, properties."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smocast.core.errors import ConfigError
from smocast.model import (
    expected_transmissions,
    expected_transmissions_alternating,
    expected_transmissions_local,
    harmonic_number,
    loss_odds,
    transmission_bounds,
)

# §10.1 of the reference: E[M] to six decimals, rows R, columns p = 0.01, 0.1, 0.25.
TABLE = {
    1: (1.010101, 1.111111, 1.333333),
    10: (1.096628, 1.758005, 2.616293),
    100: (1.644019, 2.740210, 4.240590),
    1000: (2.096134, 3.738489, 5.899693),
    10000: (2.642190, 4.738318, 7.561394),
}
LOSSES = (0.01, 0.1, 0.25)
TABULATED = [(p, r, row[i]) for r, row in TABLE.items() for i, p in enumerate(LOSSES)]


@pytest.mark.parametrize(("p", "receivers", "expected"), TABULATED)
def test_series_matches_the_reference_table(p: float, receivers: int, expected: float) -> None:
    assert expected_transmissions(p, receivers) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(("p", "receivers", "_expected"), TABULATED)
def test_bounds_hold_at_every_tabulated_point(p: float, receivers: int, _expected: float) -> None:
    low, high = transmission_bounds(p, receivers)
    value = expected_transmissions(p, receivers)
    assert low <= value <= high
    assert high - low == pytest.approx(1.0)
    assert low == pytest.approx(harmonic_number(receivers) / math.log(1 / p))


@pytest.mark.parametrize("p", [0.001, 0.01, 0.1, 0.25, 0.5, 0.9])
@pytest.mark.parametrize("receivers", [*range(1, 21)])
def test_series_equals_alternating_sum_for_small_groups(p: float, receivers: int) -> None:
    assert expected_transmissions(p, receivers) == pytest.approx(
        expected_transmissions_alternating(p, receivers), abs=1e-12
    )


def test_single_receiver_is_geometric() -> None:
    for p in (0.01, 0.3, 0.5):
        assert expected_transmissions(p, 1) == pytest.approx(1 / (1 - p), abs=1e-13)
        assert loss_odds(p) == pytest.approx(expected_transmissions(p, 1) - 1, abs=1e-13)


def test_two_receivers_closed_form() -> None:
    # E[M] = 2/(1 - p) - 1/(1 - p^2) from the alternating form with R = 2, written out by hand.
    p = 0.3
    assert expected_transmissions(p, 2) == pytest.approx(2 / (1 - p) - 1 / (1 - p * p), abs=1e-13)


def test_small_loss_expansion() -> None:
    # E[M] = 1 + R p + O(R^2 p^2) as p -> 0 (§3).
    for receivers in (1, 10, 100):
        p = 1e-7
        assert (expected_transmissions(p, receivers) - 1) / (receivers * p) == pytest.approx(1, rel=1e-3)


def test_large_groups_and_heavy_loss_stay_finite_and_bounded() -> None:
    for p in (0.25, 0.4, 0.5):
        for receivers in (10**5, 10**6):
            value = expected_transmissions(p, receivers)
            low, high = transmission_bounds(p, receivers)
            assert math.isfinite(value)
            assert low <= value <= high
    # Large R: E[M] ≈ H_R / ln(1/p) + 1/2 (§3); checked to 0.01.
    assert expected_transmissions(0.5, 10**6) == pytest.approx(harmonic_number(10**6) / math.log(2) + 0.5, abs=0.01)


def test_harmonic_number_switches_to_its_asymptotic_form_smoothly() -> None:
    exact = math.fsum(1 / i for i in range(1, 100_002))
    assert harmonic_number(100_001) == pytest.approx(exact, rel=1e-13)
    assert harmonic_number(1) == 1.0


def test_local_groups_use_the_branching_factor() -> None:
    assert expected_transmissions_local(0.1, 10) == pytest.approx(TABLE[10][1], abs=1e-6)


@pytest.mark.parametrize("p", [0.0, 1.0, -0.1, 1.5, float("nan")])
def test_rejects_loss_outside_the_open_interval(p: float) -> None:
    with pytest.raises(ConfigError, match="loss probability"):
        expected_transmissions(p, 10)


@pytest.mark.parametrize("receivers", [0, -3, True])
def test_rejects_groups_without_receivers(receivers: int) -> None:
    with pytest.raises(ConfigError, match="receivers"):
        expected_transmissions(0.1, receivers)


def test_alternating_sum_refuses_large_groups() -> None:
    with pytest.raises(ConfigError, match="alternating"):
        expected_transmissions_alternating(0.1, 65)


probabilities = st.floats(min_value=1e-4, max_value=0.6, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(p=probabilities, receivers=st.integers(min_value=1, max_value=100_000))
def test_increasing_in_receivers(p: float, receivers: int) -> None:
    assert expected_transmissions(p, receivers + 1) > expected_transmissions(p, receivers)


@settings(max_examples=200, deadline=None)
@given(
    p=st.floats(min_value=1e-4, max_value=0.5),
    step=st.floats(min_value=1e-4, max_value=0.1),
    receivers=st.integers(min_value=1, max_value=100_000),
)
def test_increasing_in_loss(p: float, step: float, receivers: int) -> None:
    assert expected_transmissions(p + step, receivers) > expected_transmissions(p, receivers)


@settings(max_examples=200, deadline=None)
@given(p=st.floats(min_value=1e-4, max_value=0.95), receivers=st.integers(min_value=1, max_value=10**6))
def test_bounds_hold_everywhere(p: float, receivers: int) -> None:
    low, high = transmission_bounds(p, receivers)
    assert low <= expected_transmissions(p, receivers) <= high


@settings(max_examples=100, deadline=None)
@given(p=st.floats(min_value=1e-3, max_value=0.9), receivers=st.integers(min_value=1, max_value=20))
def test_alternating_agrees_on_random_points(p: float, receivers: int) -> None:
    assert expected_transmissions(p, receivers) == pytest.approx(
        expected_transmissions_alternating(p, receivers), abs=1e-12
    )
