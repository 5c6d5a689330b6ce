from __future__ import annotations

from smocast.core.timers import Timer, TimerQueue


def test_fires_in_order_and_reports_exact_deadline() -> None:
    q = TimerQueue()
    fired: list[tuple[str, float]] = []
    a = Timer(lambda now: fired.append(("a", now)))
    b = Timer(lambda now: fired.append(("b", now)))
    q.arm(a, 2.0)
    q.arm(b, 1.0)
    assert q.next_deadline() == 1.0
    assert q.run_due(1.5) == 1
    assert fired == [("b", 1.5)]
    assert q.next_deadline() == 2.0


def test_rearming_later_does_not_fire_early() -> None:
    q = TimerQueue()
    fired: list[float] = []
    t = Timer(fired.append)
    q.arm(t, 1.0)
    q.arm(t, 3.0)  # pushed back: the stale entry must not fire
    assert q.next_deadline() == 3.0
    assert q.run_due(2.0) == 0
    assert q.run_due(3.0) == 1
    assert fired == [3.0]


def test_rearming_earlier_and_disarm() -> None:
    q = TimerQueue()
    fired: list[float] = []
    t = Timer(fired.append)
    q.arm(t, 5.0)
    q.arm(t, 1.0)
    assert q.next_deadline() == 1.0
    q.disarm(t)
    assert q.next_deadline() is None
    assert q.run_due(10.0) == 0
    assert not t.armed


def test_many_rearms_keep_the_heap_small() -> None:
    q = TimerQueue()
    t = Timer(lambda now: None)
    for i in range(10_000):
        q.arm(t, 1.0 + i * 0.001)  # each ACK pushes the timeout later
    assert len(q) == 1
