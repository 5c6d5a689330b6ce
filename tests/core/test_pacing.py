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
