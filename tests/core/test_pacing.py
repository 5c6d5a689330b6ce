from __future__ import annotations

import pytest

from smocast.core.pacing import Pacer


def test_unpaced_always_allows() -> None:
    p = Pacer(burst=3000)
    assert all(p.allowed(1500, 0.0) for _ in range(100))


def test_burst_then_rate() -> None:
    p = Pacer(burst=3000)
    p.set_rate(1500.0, 0.0)  # one 1500-byte packet per second
    assert p.allowed(1500, 0.0)
    assert p.allowed(1500, 0.0)
    assert not p.allowed(1500, 0.0)
    wake = p.next_send_time(1500, 0.0)
    assert wake == pytest.approx(1.0, abs=1e-6)
    assert not p.allowed(1500, 0.5)
    assert p.allowed(1500, wake)


def test_next_send_time_is_strictly_in_the_future_when_refused() -> None:
    p = Pacer(burst=1000)
    p.set_rate(1e9, 0.0)
    while p.allowed(1000, 0.0):
        pass
    assert p.next_send_time(1000, 0.0) > 0.0


def test_a_charge_puts_the_bucket_in_debt_that_later_sends_wait_for() -> None:
    pacer = Pacer(burst=3000)
    pacer.set_rate(1000.0, 0.0)  # bytes per second
    pacer.charge(5000, 0.0)  # a repair that did not ask: 3000 tokens, 2000 of debt
    assert not pacer.allowed(1000, 0.0)
    assert pacer.next_send_time(1000, 0.0) == pytest.approx(3.0)  # 2000 of debt, then 1000 for the send
    assert pacer.allowed(1000, 3.0)


def test_a_charge_without_a_rate_changes_nothing() -> None:
    pacer = Pacer(burst=3000)
    pacer.charge(5000, 0.0)
    assert pacer.allowed(3000, 0.0)
