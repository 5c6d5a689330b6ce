"""``smocast bench receive-core``: the receiver core's cost per datagram, with and without loss.

The real receive path (``bench receive``) runs on loopback, where nothing is lost. This one
replays a seeded stream through the sans-IO receiver alone (:mod:`smocast.bench.receive_core_child`)
so the path a lossy network takes, data held above holes and repairs filling them, is measured
too, and against another tree (``baseline_src``) in the same run: each tree runs in its own
process, the trees alternate, and the report gives medians and the ratio this / baseline.
With ``allocations``, one more run per tree and loss rate counts the interpreter's allocations
during the replay alone (:mod:`smocast.bench.allocations`: root and perf), never timed.
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

from smocast.bench.allocations import check_ready, run_counted
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
    allocations: bool = False


def _child_argv(loss: float, settings: CoreSettings, calls: bool, allocations: bool = False) -> list[str]:
    argv = [sys.executable, str(CHILD), str(loss), str(settings.datagrams), str(settings.batch)]
    argv += [str(settings.repair_after), str(settings.seed), "1", "1" if calls else "0"]
    return [*argv, "1" if allocations else "0"]


def _child(src: str, loss: float, settings: CoreSettings, calls: bool) -> dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=src)
    done = subprocess.run(_child_argv(loss, settings, calls), env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the replay failed with {src}: {done.stderr.strip()[-300:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _allocations_per_datagram(src: str, loss: float, settings: CoreSettings) -> float:
    """One untimed replay with ``src`` under perf: the interpreter's allocations per datagram."""
    done, count = run_counted(_child_argv(loss, settings, False, True), dict(os.environ, PYTHONPATH=src))
    if done.returncode != 0:
        raise RuntimeError(f"the counted replay failed with {src}: {done.stderr.strip()[-300:]}")
    return round(count / settings.datagrams, 2)


def _row(loss: float, trees: dict[str, str], settings: CoreSettings) -> dict[str, Any]:
    """One loss rate: the timed runs (trees alternating), then the calls and allocations runs."""
    samples: dict[str, list[float]] = {name: [] for name in trees}
    for _ in range(settings.repeat):
        for name, src in trees.items():
            samples[name].append(_child(src, loss, settings, calls=False)["us_per_datagram"])
    row: dict[str, Any] = {"loss": loss}
    for name, src in trees.items():
        row[name] = {"us_per_datagram": statistics.median(samples[name]), "runs": samples[name]}
        if settings.calls:
            row[name]["calls_per_datagram"] = _child(src, loss, settings, calls=True)["calls_per_datagram"]
        if settings.allocations:
            row[name]["allocations_per_datagram"] = _allocations_per_datagram(src, loss, settings)
    if "baseline" in trees:
        this, baseline = row["this"], row["baseline"]
        row["this_over_baseline"] = round(this["us_per_datagram"] / baseline["us_per_datagram"], 3)
        if baseline.get("allocations_per_datagram"):
            ratio = this["allocations_per_datagram"] / baseline["allocations_per_datagram"]
            row["allocations_this_over_baseline"] = round(ratio, 3)
    return row


def run(settings: CoreSettings) -> dict[str, Any]:
    """Each loss rate ``repeat`` times per tree, the trees alternating, then (with ``calls`` or
    ``allocations``) one counted run per tree, never timed; the JSON report."""
    if settings.allocations:
        check_ready()  # before any run: say at once what is missing
    trees = {"this": THIS_SRC}
    if settings.baseline_src is not None:
        trees["baseline"] = str(Path(settings.baseline_src).resolve())
    ticks = machine_ticks()
    rows = [_row(loss, trees, settings) for loss in settings.losses]
    return {
        "benchmark": "receive-core",
        "datagrams": settings.datagrams,
        "batch": settings.batch,
        "repair_after_batches": settings.repair_after,
        "repeat": settings.repeat,
        "rows": rows,
        "machine_busy": busy_fraction(ticks, machine_ticks()),
    }
