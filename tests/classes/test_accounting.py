"""Cost accounting: each host counts the model's operations, and under the model's assumptions
the classes the model describes exactly (A, N1, H1, R) cost what it predicts."""

from __future__ import annotations

import pytest

from smocast.classes import ClassConfig
from smocast.model import evaluate
from smocast.sim.classes import ClassRunResult, ClassRunSpec, run_class

R = 20
P = 0.1
CONFIG = ClassConfig(branching=5, buffer=1024)  # R > B: the trees have leaders


def _run(cls: str, receivers: int = R, packets: int = 600, **kwargs: object) -> ClassRunResult:
    return run_class(ClassRunSpec(cls, receivers, P, packets=packets, seed=2, config=CONFIG, **kwargs))  # type: ignore[arg-type]


@pytest.mark.parametrize("cls", ["A", "N1", "H1", "R"])
def test_measured_role_costs_are_within_ten_percent_of_the_model(cls: str) -> None:
    result = _run(cls)
    spec = result.spec
    model = evaluate(cls, P, R, spec.model_costs, spec.options)
    assert set(result.measured_roles) == set(model.roles)
    for role, cost in result.measured_roles.items():
        assert cost == pytest.approx(model.roles[role], rel=0.10), role
    assert result.measured_throughput == pytest.approx(model.throughput, rel=0.10)


def test_protocol_a_counts_every_ack_and_a_timeout_before_each_retransmission() -> None:
    ops = _run("A").ops
    assert ops["sender"]["X_f"] == 1.0
    assert ops["sender"]["X_a"] == pytest.approx(R * ops["receiver"]["Y_a"])  # no ACK is lost
    assert ops["sender"]["X_t"] == pytest.approx(ops["sender"]["X_p"] - 1.0)
    assert ops["receiver"]["Y_a"] == ops["receiver"]["Y_p"]  # one ACK per copy, duplicates included
    assert ops["receiver"]["Y_f"] == 1.0


def test_n1_counts_one_nak_and_one_timer_per_lost_transmission() -> None:
    ops = _run("N1").ops
    assert ops["sender"]["X_n"] == pytest.approx(R * ops["receiver"]["Y_n"])
    assert ops["receiver"]["Y_t"] == pytest.approx(ops["receiver"]["Y_n"])
    assert ops["receiver"]["Y_n"] == pytest.approx(P / (1 - P), rel=0.15)  # q lost transmissions


def test_the_ring_token_site_answers_every_nak_with_one_unicast_repair() -> None:
    ops = _run("R").ops
    assert ops["token_site"]["X_p"] == ops["token_site"]["X_n"]
    assert ops["sender"]["X_a"] == 1.0  # one ACK/token per packet, none repeated
    assert ops["receiver"]["Y_p"] == 1.0  # unicast repairs: no duplicates


def test_nak_avoidance_sends_fewer_naks_than_n1_but_more_than_ideal() -> None:
    n1, n2 = _run("N1", receivers=50, packets=300), _run("N2", receivers=50, packets=300)
    naks_n1, naks_n2 = n1.ops["sender"]["X_n"], n2.ops["sender"]["X_n"]
    ideal = n2.ops["sender"]["X_p"] - 1.0  # one NAK per retransmission round
    assert ideal < naks_n2 < naks_n1
    assert n2.ops["receiver"]["Y_nr"] > 0  # the NAKs heard from others, which suppress


def test_tree_napp_polls_release_memory_at_the_amortised_rate() -> None:
    result = _run("H2")
    ops = result.ops
    expected = CONFIG.branching / CONFIG.poll_every  # one reply per child per poll
    assert ops["sender"]["X_pa"] == pytest.approx(expected, rel=0.2)
    assert ops["receiver"]["Y_pa"] == pytest.approx(1 / CONFIG.poll_every, rel=0.2)
    assert result.sender_finished


def test_unmodelled_session_traffic_is_reported_apart_and_costs_nothing() -> None:
    result = _run("N2", receivers=30, packets=200)
    report = result.as_json()
    assert report["overhead"]["sender"]["X_s"] > 0
    assert "X_s" not in report["ops"]["sender"]
    costs = result.spec.model_costs
    recomputed = sum(n * getattr(costs, op) for op, n in report["ops"]["sender"].items())
    assert report["measured"]["roles"]["sender"] == pytest.approx(recomputed, rel=1e-4)
