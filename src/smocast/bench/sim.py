"""``smocast bench sim``: simulator speed, in receiver-segment deliveries per wall second."""

from __future__ import annotations

import statistics
from typing import Any

from smocast.sim.topology import PathSpec
from smocast.sim.transfer import TransferSpec, run_transfer


def run(receivers: int, size: int, loss: float, repeat: int) -> dict[str, Any]:
    runs = []
    for seed in range(1, repeat + 1):
        result = run_transfer(TransferSpec(receivers=receivers, size=size, path=PathSpec(loss=loss), seed=seed))
        report = result.as_json()
        runs.append(
            {
                "seed": seed,
                "deliveries": result.deliveries,
                "wall_time_s": report["wall_time_s"],
                "deliveries_per_s": round(result.deliveries / result.wall_time),
                "all_identical": report["all_identical"],
                "completed": report["completed"],
            }
        )
    return {
        "benchmark": "sim",
        "receivers": receivers,
        "bytes": size,
        "loss": loss,
        "deliveries_per_s": statistics.median(r["deliveries_per_s"] for r in runs),
        "runs": runs,
    }
