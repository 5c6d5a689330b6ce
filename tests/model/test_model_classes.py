"""Per-class costs and throughput: the papers' conclusions (§10.3), the limits of §8, edge cases."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smocast.core.errors import ConfigError
from smocast.model import (
    CLASSES,
    Costs,
    evaluate,
    expected_transmissions,
    loss_odds,
    role_costs,
    throughput,
    throughput_limit,
)

LOSSES = (0.01, 0.1, 0.25)
GROUPS = (1, 10, 100, 1000, 10000)


def test_hand_computed_costs_at_one_point() -> None:
    """Every class at p = 0.1, R = 100, written out from the equations of §4-§7 with unit costs."""
    p, r = 0.1, 100
    em, emb, q = expected_transmissions(p, r), expected_transmissions(p, 10), p / (1 - p)
    assert role_costs("A", p, r) == pytest.approx(
        {"sender": 1 + em + (em - 1) + r * (1 - p) * em, "receiver": (1 - p) * em * 2 + 1}
    )
    assert role_costs("N1", p, r) == pytest.approx({"sender": 1 + em + r * q, "receiver": (1 - p) * em + 1 + 2 * q})
    assert role_costs("N2", p, r) == pytest.approx(
        {"sender": 1 + em + (em - 1), "receiver": (1 - p) * em + 1 + q + (em - 1) / r}
    )
    x1, y1 = 1 + emb + (emb - 1) + 10 * (1 - p) * emb, (1 - p) * emb * 2 + 1
    assert role_costs("H1", p, r) == pytest.approx({"sender": x1, "receiver": y1, "leader": x1 + y1 - 2})
    x2, y2 = 1 + emb + (emb - 1) + 10 * 0.1, (1 - p) * emb + 1 + q + (emb - 1) / 10 + 0.1
    assert role_costs("H2", p, r) == pytest.approx({"sender": x2, "receiver": y2, "leader": x2 + y2 - 2})
    assert role_costs("R", p, r) == pytest.approx(
        {"sender": 3 + 2 * q, "receiver": 3 + 2 * q, "token_site": 3 + 2 * q + (r - 1) * q * 2}
    )


@pytest.mark.parametrize("p", LOSSES)
def test_pingali_order_n2_over_n1_over_a(p: float) -> None:
    for r in (2, 3, 5, 10, 30, 100, 1000, 10000):
        assert throughput("N2", p, r) > throughput("N1", p, r) > throughput("A", p, r)
    assert throughput("N1", p, 1) == pytest.approx(throughput("N2", p, 1), rel=1e-12)


@pytest.mark.parametrize("p", LOSSES)
@pytest.mark.parametrize("r", [1000, 10000, 100000])
def test_tree_napp_is_best_for_large_groups(p: float, r: int) -> None:
    values = {cls: throughput(cls, p, r) for cls in CLASSES}
    assert max(values, key=lambda c: values[c]) == "H2"


@pytest.mark.parametrize("p", [0.1, 0.25])
def test_tree_napp_is_best_at_100_receivers_for_heavier_loss(p: float) -> None:
    values = {cls: throughput(cls, p, 100) for cls in CLASSES}
    assert max(values, key=lambda c: values[c]) == "H2"


def test_n2_beats_h2_by_three_percent_at_light_loss_and_100_receivers() -> None:
    n2, h2 = throughput("N2", 0.01, 100), throughput("H2", 0.01, 100)
    assert round(n2, 4) == 0.3041
    assert round(h2, 4) == 0.2942
    assert 1.03 < n2 / h2 < 1.04


@pytest.mark.parametrize("p", LOSSES)
def test_without_leaders_h2_trails_n2_by_its_periodic_cost(p: float) -> None:
    for r in range(1, 11):
        assert throughput("H2", p, r) < throughput("N2", p, r)
        gap = role_costs("H2", p, r)["sender"] - role_costs("N2", p, r)["sender"]
        assert gap == pytest.approx(r * 0.1)  # B_eff·X_pa with B_eff = R


@pytest.mark.parametrize("p", LOSSES)
def test_h1_without_leaders_is_protocol_a(p: float) -> None:
    for r in range(1, 11):
        assert role_costs("H1", p, r) == pytest.approx(role_costs("A", p, r), rel=1e-14)
        assert "leader" not in role_costs("H1", p, r)
    assert "leader" in role_costs("H1", p, 11)


@pytest.mark.parametrize("cls", ["H1", "H2"])
@pytest.mark.parametrize("p", LOSSES)
def test_trees_are_flat_beyond_the_branching_factor(cls: str, p: float) -> None:
    flat = throughput(cls, p, 11)
    for r in (12, 100, 10**4, 10**6):
        assert throughput(cls, p, r) == flat
    assert throughput(cls, p, 10) != flat
    assert throughput_limit(cls, p) == flat
    assert evaluate(cls, p, 1000).bottleneck == "leader"


@pytest.mark.parametrize("cls", ["N1", "R"])
@pytest.mark.parametrize("p", LOSSES)
def test_ring_and_n1_degrade_linearly(cls: str, p: float) -> None:
    ratio = throughput(cls, p, 10**5) / throughput(cls, p, 10**6)
    assert ratio == pytest.approx(10, rel=0.01)
    assert throughput_limit(cls, p) == 0.0


@pytest.mark.parametrize("p", LOSSES)
def test_exact_limits_of_section_8(p: float) -> None:
    q = loss_odds(p)
    big, bigger = 10**5, 10**6

    def error(value: float, limit: float) -> float:
        return abs(value / limit - 1)

    # Λ^{N1}·R → 1/q and Λ^R·R → 1/(2q): the error shrinks about tenfold per decade of R.
    for cls, limit in (("N1", 1 / q), ("R", 1 / (2 * q))):
        far = error(throughput(cls, p, bigger) * bigger, limit)
        assert far < 4e-3
        assert far < error(throughput(cls, p, big) * big, limit) / 5
    # Λ^A·R·E[M] → 1/(1 − p).
    a = throughput("A", p, bigger) * bigger * expected_transmissions(p, bigger)
    assert error(a, 1 / (1 - p)) < 1e-5
    # Λ^{N2}·E[M] → 1/2; exactly 1/2 once the sender is the bottleneck (R ≥ 2).
    for r in (2, 100, bigger):
        assert throughput("N2", p, r) * expected_transmissions(p, r) == pytest.approx(0.5, rel=1e-12)


def test_ring_token_site_is_absent_from_a_single_receiver_ring() -> None:
    assert set(role_costs("R", 0.1, 1)) == {"sender", "token_site"}
    assert set(role_costs("R", 0.1, 2)) == {"sender", "receiver", "token_site"}
    assert evaluate("R", 0.1, 1000).bottleneck == "token_site"


def test_branching_factor_moves_the_tree_plateau() -> None:
    small, large = Costs(B=4), Costs(B=40)
    assert throughput("H1", 0.1, 1000, small) > throughput("H1", 0.1, 1000) > throughput("H1", 0.1, 1000, large)
    assert "leader" in role_costs("H2", 0.1, 5, small)
    assert "leader" not in role_costs("H2", 0.1, 40, large)


def test_point_serialises_with_the_documented_keys() -> None:
    point = evaluate("H2", 0.01, 100).as_dict()
    assert list(point) == ["class", "p", "receivers", "throughput", "roles"]
    assert point["roles"] == role_costs("H2", 0.01, 100)


def test_rejects_unknown_class_and_bad_costs() -> None:
    with pytest.raises(ConfigError, match="unknown protocol class"):
        throughput("H3", 0.1, 10)
    with pytest.raises(ConfigError, match="X_a"):
        Costs(X_a=-1.0)
    with pytest.raises(ConfigError, match="branching"):
        Costs(B=0)
    with pytest.raises(ConfigError, match="unknown cost"):
        Costs().with_values(Z=1.0)


@settings(max_examples=150, deadline=None)
@given(
    cls=st.sampled_from(CLASSES),
    p=st.floats(min_value=1e-4, max_value=0.6),
    r=st.integers(min_value=1, max_value=10**6),
)
def test_throughput_is_positive_and_finite(cls: str, p: float, r: int) -> None:
    value = throughput(cls, p, r)
    assert 0.0 < value < math.inf


@settings(max_examples=150, deadline=None)
@given(
    cls=st.sampled_from(CLASSES),
    p=st.floats(min_value=1e-4, max_value=0.6),
    r=st.integers(min_value=1, max_value=10**5),
    step=st.integers(min_value=1, max_value=1000),
)
def test_throughput_never_rises_with_more_receivers(cls: str, p: float, r: int, step: int) -> None:
    assert throughput(cls, p, r + step) <= throughput(cls, p, r) * (1 + 1e-12)


@settings(max_examples=100, deadline=None)
@given(
    cls=st.sampled_from(CLASSES),
    r=st.integers(min_value=1, max_value=10**4),
    p=st.floats(min_value=1e-3, max_value=0.4),
    step=st.floats(min_value=1e-3, max_value=0.2),
)
def test_throughput_never_rises_with_more_loss(cls: str, r: int, p: float, step: float) -> None:
    assert throughput(cls, p + step, r) <= throughput(cls, p, r) * (1 + 1e-12)


@settings(max_examples=100, deadline=None)
@given(
    cls=st.sampled_from(CLASSES),
    p=st.floats(min_value=1e-3, max_value=0.5),
    r=st.integers(min_value=1, max_value=10**4),
    values=st.lists(st.floats(min_value=0.01, max_value=10), min_size=15, max_size=15),
)
def test_throughput_is_positive_for_any_positive_costs(cls: str, p: float, r: int, values: list[float]) -> None:
    names = ["X_f", "X_p", "X_a", "X_n", "X_t", "X_h", "X_pa", "Y_p", "Y_f", "Y_a", "Y_n", "Y_nr", "Y_t", "Y_h", "Y_pa"]
    costs = Costs().with_values(**dict(zip(names, values, strict=True)))
    assert 0.0 < throughput(cls, p, r, costs) < math.inf
