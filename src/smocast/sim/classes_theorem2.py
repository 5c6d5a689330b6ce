"""Levine's Theorem 2 as a runnable scenario: with a finite buffer and no application-level
recovery, a receiver-initiated protocol deadlocks; the ACK-based classes do not.

The setting is the proof's example. The source has room for ``buffer`` packets and sends a
new one every ``interval``; a receiver is ``delay`` away, so a NAK comes back only after
2·delay, when the source has sent many more than ``buffer`` packets. The first transmission
of packet 0 is lost at receiver 1, and nothing else is lost. N1 and N2 have no rule that
frees memory, so the source must drop packet 0 to go on; receiver 1's NAK then asks for a
packet nobody holds, and receiver 1 can never deliver packet 0 nor anything after it. A, H1,
H2 and R keep packet 0 until their ACKs (or tokens, or polls) say everyone has it: they stop
sending while the buffer is full and finish. N1 and N2 finish too when the application can
rebuild packets (SRM's answer) or when the buffer is unbounded.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from smocast.classes.build import ACK_BASED, CLASS_NAMES
from smocast.classes.config import ClassConfig
from smocast.sim.classes import ClassRunSpec, run_class

RECOVERY_NONE = "none"
RECOVERY_APPLICATION = "application"
RECOVERY_UNBOUNDED = "unbounded buffer"


@dataclass(frozen=True)
class Theorem2Spec:
    receivers: int = 6
    packets: int = 100
    buffer: int = 8
    interval: float = 0.001
    delay: float = 0.02
    branching: int = 2
    time_limit: float = 30.0
    seed: int = 1
    classes: tuple[str, ...] = CLASS_NAMES

    def config(self) -> ClassConfig:
        rtt = 4 * self.delay
        return ClassConfig(
            interval=self.interval,
            buffer=self.buffer,
            rto=2 * rtt,
            heartbeat=2 * rtt,
            heartbeat_max=max(1.0, 2 * rtt),
            initial_distance=2 * self.delay,
            poll_idle=2 * rtt,
            aggregate_delay=rtt,
            branching=self.branching,
        )


@dataclass(frozen=True)
class Theorem2Outcome:
    cls: str
    recovery: str
    completed: int
    receivers: int
    unavailable: tuple[int, ...]
    peak_held: int
    evicted: int
    sim_time: float

    @property
    def deadlocked(self) -> bool:
        return self.completed < self.receivers

    def as_json(self) -> dict[str, Any]:
        return {
            "class": self.cls,
            "recovery": self.recovery,
            "deadlocked": self.deadlocked,
            "completed": self.completed,
            "receivers": self.receivers,
            "repair_unavailable": list(self.unavailable),
            "peak_held": self.peak_held,
            "evicted": self.evicted,
            "sim_time_s": round(self.sim_time, 6),
        }


def run_theorem2(spec: Theorem2Spec) -> list[Theorem2Outcome]:
    """Every class with the finite buffer; then N1 and N2 again with the two ways out."""
    cases = [(cls, RECOVERY_NONE) for cls in spec.classes]
    cases += [
        (cls, way) for cls in spec.classes if cls not in ACK_BASED for way in (RECOVERY_APPLICATION, RECOVERY_UNBOUNDED)
    ]
    return [_run_case(spec, cls, way) for cls, way in cases]


def _run_case(spec: Theorem2Spec, cls: str, recovery: str) -> Theorem2Outcome:
    config = spec.config()
    nak_buffer: int | None = None if recovery == RECOVERY_UNBOUNDED else spec.buffer
    if cls not in ACK_BASED:
        config = replace(config, buffer=nak_buffer)
    run = ClassRunSpec(
        cls,
        spec.receivers,
        0.0,
        packets=spec.packets,
        seed=spec.seed,
        config=config,
        delay=spec.delay,
        time_limit=spec.time_limit,
        nak_buffer=nak_buffer,
        recover=recovery == RECOVERY_APPLICATION,
        scripted=((1, 0),),
    )
    result = run_class(run)
    return Theorem2Outcome(
        cls,
        recovery,
        result.completed,
        spec.receivers,
        tuple(sorted(set(result.unavailable))),
        result.peak_held,
        result.evicted,
        result.sim_time,
    )
