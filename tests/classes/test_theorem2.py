"""Levine's Theorem 2 as a scenario: with a finite buffer, N1 and N2 deadlock; A, H1, H2, R do not."""

from __future__ import annotations

from smocast.sim.classes import ClassRunSpec, run_class
from smocast.sim.classes_theorem2 import (
    RECOVERY_APPLICATION,
    RECOVERY_NONE,
    RECOVERY_UNBOUNDED,
    Theorem2Spec,
    run_theorem2,
)


def test_receiver_initiated_classes_deadlock_and_ack_based_ones_do_not() -> None:
    spec = Theorem2Spec()
    outcomes = {(o.cls, o.recovery): o for o in run_theorem2(spec)}
    for cls in ("N1", "N2"):
        stuck = outcomes[(cls, RECOVERY_NONE)]
        assert stuck.deadlocked
        assert stuck.completed == spec.receivers - 1  # only receiver 1, which lost packet 0
        assert stuck.unavailable == (0,)  # its NAK asked for a packet the source had dropped
        assert stuck.peak_held == spec.buffer and stuck.evicted > 0
        for way_out in (RECOVERY_APPLICATION, RECOVERY_UNBOUNDED):
            assert not outcomes[(cls, way_out)].deadlocked
    for cls in ("A", "H1", "H2", "R"):
        fine = outcomes[(cls, RECOVERY_NONE)]
        assert not fine.deadlocked
        assert fine.peak_held <= spec.buffer and fine.evicted == 0


def test_without_the_lost_packet_nobody_deadlocks() -> None:
    """The deadlock needs the loss: a buffer alone is not enough (the scenario is not rigged)."""
    spec = Theorem2Spec()
    for cls in ("N1", "N2"):
        run = ClassRunSpec(
            cls,
            spec.receivers,
            0.0,
            packets=spec.packets,
            config=spec.config(),
            delay=spec.delay,
            nak_buffer=spec.buffer,
            time_limit=spec.time_limit,
        )
        assert run_class(run).completed == spec.receivers
