"""An open question of the TCP-SMO paper: TCP-level forwarding at relays against application level.

"We are considering to use TCP-level forwarding at the relay servers to reduce the forwarding
delay involved in the application-level forwarding, which is particularly important for real-time
multimedia applications." A live stream (50 messages/s of 1448 bytes) goes through a chain of
three relays (:mod:`smocast.sim.relay_chain`), each hop 10 ms one way; we measure the delay
each level of application-level forwarding adds, and the part of it that a pass-through relay
would remove: the time a segment that had arrived waited behind a hole before the relay's
receiver delivered it.
"""

from __future__ import annotations

import statistics
from typing import Any

from smocast.repro.base import Outcome, Result, Row, Task
from smocast.sim.relay_chain import ChainSpec, run_chain

SOURCE = "Liang & Cheriton §VII (future work)"
LOSSES = (0.0, 0.02, 0.05)
LEVELS = 3
HOP_DELAY = 0.01
WARMUP = 100  # messages (2 s): connection set-up, whose lost SYN-ACKs wait 0.5 s, is not forwarding


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


def chain_point(loss: float, messages: int) -> dict[str, Any]:
    """Per level: the delay the level adds (mean, p99) and its head-of-line part (mean, max), in ms."""
    report = run_chain(ChainSpec(levels=LEVELS, messages=messages, delay=HOP_DELAY, loss=loss))
    levels = []
    previous: list[float] | None = None
    for level in report["levels"]:
        latency = level["latency_s"][WARMUP:]
        added = latency if previous is None else [b - a for a, b in zip(previous, latency, strict=True)]
        previous = latency
        hol = level["head_of_line_s"][WARMUP:]
        levels.append(
            {
                "messages": len(latency),
                "added_ms": {"mean": round(statistics.fmean(added) * 1e3, 3), "p99": round(_p99(added) * 1e3, 3)},
                "head_of_line_ms": {
                    "mean": round(statistics.fmean(hol) * 1e3, 3),
                    "p99": round(_p99(hol) * 1e3, 3),
                    "max": round(max(hol) * 1e3, 3),
                },
            }
        )
    return {"loss": loss, "levels": levels}


def _messages(full: bool) -> int:
    return 5000 if full else 1000


def _tasks(full: bool) -> list[Task]:
    return [(chain_point, (loss, _messages(full))) for loss in LOSSES]


def _rows(point: dict[str, Any]) -> list[Row]:
    rows = []
    for i, level in enumerate(point["levels"], start=1):
        added, hol = level["added_ms"], level["head_of_line_ms"]
        rows.append(
            Row(
                f"loss {point['loss']:.0%} per hop, level {i}",
                "application level adds forwarding delay (TCP level: future work)",
                f"adds {added['mean']:.1f} ms mean, {added['p99']:.0f} ms p99 (hop: {HOP_DELAY * 1e3:.0f} ms); "
                f"head-of-line {hol['mean']:.2f} ms mean, {hol['max']:.0f} ms max",
                "-",
            )
        )
    return rows


def _assemble(full: bool, outputs: list[Any]) -> Outcome:
    rows = [row for point in outputs for row in _rows(point)]
    lossy = [level for point in outputs if point["loss"] for level in point["levels"]]
    hol_max = max(level["head_of_line_ms"]["max"] for level in lossy)
    hol_mean = max(level["head_of_line_ms"]["mean"] for level in lossy)
    notes = [
        "A level's added delay is its relay's latency from the root minus the previous relay's (the first "
        "level's is from the root), over the messages after the first two seconds (connection set-up). "
        "Without loss it is the hop itself: 10 ms of propagation and 0.12 ms of "
        "serialisation on two 100 Mbit/s links; the simulator charges no CPU for the relay's application "
        "crossing, so application-level forwarding costs nothing more there. With loss, the added delay is "
        "the hop's own loss recovery (a repair from the previous relay, one round trip or more) plus the "
        "head-of-line wait at the relay.",
        "What a pass-through (TCP-level) relay would remove is only the head-of-line part: a segment that has "
        f"arrived but waits behind a hole, up to {hol_max:.0f} ms here but at most {hol_mean:.1f} ms on average "
        "at any level. A receiver that delivers in order waits for the hole's repair anyway, so the "
        "saving reaches the application only where it may skip (TCP-RTM). On real hosts the application "
        "crossing (two system calls and a copy per message) adds to each level as well; the asyncio relay does "
        "not carry message framing yet, so that part was not measured on the real network.",
    ]
    return Outcome(
        "open-relay-forwarding",
        "The delay each level of application-level relay forwarding adds to a live stream",
        SOURCE,
        "simulation",
        f"{_messages(full)} messages of 1448 bytes at 50/s through {LEVELS} relays, {HOP_DELAY * 1e3:.0f} ms per hop",
        rows,
        notes,
        {"points": outputs},
    )


OPEN_RELAY = Result(
    "open-relay-forwarding",
    "open question: TCP-level forwarding at relays vs application level, delay per level for a live stream",
    SOURCE,
    "simulation",
    _tasks,
    _assemble,
    None,
    "5000 messages",
)
