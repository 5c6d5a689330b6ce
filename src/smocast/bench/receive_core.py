"""``smocast bench receive-core``: the receiver core's cost per datagram, with and without loss.

The real receive path (``bench receive``) runs on loopback, where nothing is lost. This one
replays a seeded stream through the sans-IO receiver alone (:mod:`smocast.bench.receive_core_child`)
so the path a lossy network takes, data held above holes and repairs filling them, is measured
too, and against another tree (``baseline_src``) in the same run: each tree runs in its own
process, the trees alternate, and the report gives medians and the ratio this / baseline.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smocast.bench.machine import busy_fraction, machine_ticks

CHILD = Path(__file__).with_name("receive_core_child.py")
THIS_SRC = str(Path(__file__).resolve().parents[2])


@dataclass(frozen=True, slots=True)
class CoreSettings:
    losses: list[float]
    datagrams: int = 20000
    batch: int = 16
    repair_after: int = 4  # batches between a loss and its repair (about one round trip of data)
    repeat: int = 5
    baseline_src: str | None = None
    calls: bool = False
    seed: int = 1


def _child(src: str, loss: float, settings: CoreSettings, calls: bool) -> dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=src)
    argv = [sys.executable, str(CHILD), str(loss), str(settings.datagrams), str(settings.batch)]
    argv += [str(settings.repair_after), str(settings.seed), "1", "1" if calls else "0"]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the replay failed with {src}: {done.stderr.strip()[-300:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def run(settings: CoreSettings) -> dict[str, Any]:
    """Each loss rate ``repeat`` times per tree, the trees alternating; the JSON report."""
    trees = {"this": THIS_SRC}
    if settings.baseline_src is not None:
        trees["baseline"] = str(Path(settings.baseline_src).resolve())
    ticks = machine_ticks()
    rows = []
    for loss in settings.losses:
        samples: dict[str, list[float]] = {name: [] for name in trees}
        calls: dict[str, float] = {}
        for _ in range(settings.repeat):
            for name, src in trees.items():
                samples[name].append(_child(src, loss, settings, calls=False)["us_per_datagram"])
        if settings.calls:
            for name, src in trees.items():
                calls[name] = _child(src, loss, settings, calls=True)["calls_per_datagram"]
        row: dict[str, Any] = {"loss": loss}
        for name in trees:
            row[name] = {"us_per_datagram": statistics.median(samples[name]), "runs": samples[name]}
            if name in calls:
                row[name]["calls_per_datagram"] = calls[name]
        if "baseline" in row:
            row["this_over_baseline"] = round(row["this"]["us_per_datagram"] / row["baseline"]["us_per_datagram"], 3)
        rows.append(row)
    return {
        "benchmark": "receive-core",
        "datagrams": settings.datagrams,
        "batch": settings.batch,
        "repair_after_batches": settings.repair_after,
        "repeat": settings.repeat,
        "rows": rows,
        "machine_busy": busy_fraction(ticks, machine_ticks()),
    }
