"""Each [OPEN] switch of the model changes the result the way §11 of the reference says."""

from __future__ import annotations

import pytest

from smocast.core.errors import ConfigError
from smocast.model import Costs, ModelOptions, expected_transmissions, loss_odds, role_costs, throughput

LOSSES = (0.01, 0.1, 0.25)
FULL_NAKS = ModelOptions(received_nak_cost="y_n")


def test_defaults_are_the_references() -> None:
    assert ModelOptions().as_dict() == {
        "received_nak_cost": "y_nr",
        "h2_periodic_cost": "per_child",
        "ring_load": "token_site",
        "ring_source_pays_recovery": True,
        "ring_ack_at_every_receiver": True,
        "h1_ack_costs": "local",
    }
    assert Costs().Y_nr == 0.0


@pytest.mark.parametrize("p", LOSSES)
@pytest.mark.parametrize("r", [2, 10, 100, 10000])
def test_charging_heard_naks_adds_them_to_the_n2_receiver_only(p: float, r: int) -> None:
    em = expected_transmissions(p, r)
    base, full = role_costs("N2", p, r), role_costs("N2", p, r, options=FULL_NAKS)
    assert full["receiver"] - base["receiver"] == pytest.approx((em - 1) * (1 - 1 / r))
    # With Y_nr = 0 the two NAK terms collapse to (E[M] − 1)·Y_n (§4.3).
    assert full["receiver"] == pytest.approx((1 - p) * em + 1 + loss_odds(p) + (em - 1))
    assert full["sender"] == base["sender"]
    # The sender stays the bottleneck, so Λ^{N2} does not move under the Figure 6/7 costs.
    assert throughput("N2", p, r, options=FULL_NAKS) == throughput("N2", p, r)


@pytest.mark.parametrize("p", LOSSES)
def test_charging_heard_naks_lowers_h2_but_keeps_it_best_for_large_groups(p: float) -> None:
    emb = expected_transmissions(p, 10)
    base, full = throughput("H2", p, 1000), throughput("H2", p, 1000, options=FULL_NAKS)
    # The leader is also a child, so its cost grows by the heard NAKs of one local group.
    assert 1 / full - 1 / base == pytest.approx((emb - 1) * (1 - 1 / 10))
    assert full < base
    for r in (1000, 10000):
        others = [throughput(cls, p, r, options=FULL_NAKS) for cls in ("A", "N1", "N2", "H1", "R")]
        assert throughput("H2", p, r, options=FULL_NAKS) > max(others)


def test_y_nr_is_what_the_default_charges() -> None:
    p, r = 0.1, 100
    heard = (expected_transmissions(p, r) - 1) * (1 - 1 / r)
    extra = role_costs("N2", p, r, Costs(Y_nr=0.5))["receiver"] - role_costs("N2", p, r)["receiver"]
    assert extra == pytest.approx(0.5 * heard)
    # Under "y_n" the Y_nr field is not used.
    assert role_costs("N2", p, r, Costs(Y_nr=0.5), FULL_NAKS) == role_costs("N2", p, r, options=FULL_NAKS)


@pytest.mark.parametrize("p", LOSSES)
def test_single_periodic_cost_relieves_the_h2_parent(p: float) -> None:
    single = ModelOptions(h2_periodic_cost="single")
    for r, saved in ((3, 0.2), (10, 0.9), (1000, 0.9)):  # (B_eff − 1)·X_pa
        drop = role_costs("H2", p, r)["sender"] - role_costs("H2", p, r, options=single)["sender"]
        assert drop == pytest.approx(saved)
    assert throughput("H2", p, 1000, options=single) > throughput("H2", p, 1000)
    assert role_costs("H2", p, 1000, options=single)["receiver"] == role_costs("H2", p, 1000)["receiver"]


@pytest.mark.parametrize("p", LOSSES)
def test_rotating_token_averages_the_ring_and_overtakes_tree_napp(p: float) -> None:
    rotating = ModelOptions(ring_load="rotating")
    r = 10000
    base = role_costs("R", p, r)
    roles = role_costs("R", p, r, options=rotating)
    assert set(roles) == {"sender", "receiver"}
    assert roles["receiver"] == pytest.approx(base["token_site"] / r + (1 - 1 / r) * base["receiver"])
    # O(1) instead of Θ(1/(R q)) ...
    assert throughput("R", p, 10**6, options=rotating) == pytest.approx(
        throughput("R", p, 10**4, options=rotating), rel=1e-3
    )
    # ... which would make the ring beat tree-NAPP: the contradiction that makes it a non-default.
    assert throughput("R", p, r, options=rotating) > throughput("H2", p, r) > throughput("R", p, r)


@pytest.mark.parametrize("p", LOSSES)
def test_source_recovery_charge_only_moves_the_ring_sender(p: float) -> None:
    off = ModelOptions(ring_source_pays_recovery=False)
    base, changed = role_costs("R", p, 100), role_costs("R", p, 100, options=off)
    assert base["sender"] - changed["sender"] == pytest.approx(2 * loss_odds(p))  # q·(X_n + X_p)
    assert changed["token_site"] == base["token_site"]
    assert changed["receiver"] == base["receiver"]
    assert throughput("R", p, 100, options=off) == throughput("R", p, 100)  # token site is the bottleneck


@pytest.mark.parametrize("p", LOSSES)
def test_ack_charge_at_receivers_only_moves_ordinary_ring_receivers(p: float) -> None:
    off = ModelOptions(ring_ack_at_every_receiver=False)
    base, changed = role_costs("R", p, 100), role_costs("R", p, 100, options=off)
    assert base["receiver"] - changed["receiver"] == pytest.approx(1.0)  # Y_a
    assert changed["token_site"] == base["token_site"]
    assert changed["sender"] == base["sender"]


def test_h1_ack_symbols() -> None:
    p, r = 0.1, 100
    costs = Costs(X_a=3.0, Y_a=2.0)  # X_h = Y_h = 1 stay at their defaults
    global_acks = ModelOptions(h1_ack_costs="global")
    # The default reads X_h/Y_h: changing X_a/Y_a does not move H1 ...
    assert role_costs("H1", p, r, costs) == role_costs("H1", p, r)
    # ... but does under "global", by (number of local ACKs)·ΔX_a at the parent.
    local_acks = 10 * (1 - p) * expected_transmissions(p, 10)
    changed = role_costs("H1", p, r, costs, global_acks)
    assert changed["sender"] - role_costs("H1", p, r)["sender"] == pytest.approx(2.0 * local_acks)
    assert changed["receiver"] - role_costs("H1", p, r)["receiver"] == pytest.approx(1.0 * local_acks / 10)
    # Under the Figure 6/7 costs X_h = X_a, so the switch changes nothing there.
    assert role_costs("H1", p, r, options=global_acks) == role_costs("H1", p, r)
    # With "global", H1 without leaders is protocol A whatever the costs.
    assert role_costs("H1", p, 7, costs, global_acks) == pytest.approx(role_costs("A", p, 7, costs))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("received_nak_cost", "yes"),
        ("h2_periodic_cost", "B"),
        ("ring_load", "token"),
        ("h1_ack_costs", "x_h"),
        ("ring_source_pays_recovery", "no"),
    ],
)
def test_rejects_unknown_switch_values(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        ModelOptions(**{name: value})  # type: ignore[arg-type]
