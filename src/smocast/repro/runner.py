"""Running results: every independent run of every selected result, over processes if asked.

Deterministic runs (the model, seeded simulations) may run in a process pool: each is a
module-level function of plain arguments, so it gives the same output in any process and any
order. Real-network runs go afterwards, one at a time, so that they have the machine to
themselves.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from typing import Any

from smocast.core.errors import SmocastError
from smocast.repro.base import Outcome, Result, Task

Progress = Callable[[str], None]
REAL_NETWORK_ERRORS = (SmocastError, OSError, subprocess.SubprocessError)
"""What a run on the real network may fail with (the testbed's errors are SmocastErrors)."""


def _timed(function: Callable[..., Any], args: tuple[Any, ...]) -> tuple[Any, float]:
    started = time.perf_counter()
    output = function(*args)
    return output, time.perf_counter() - started


def run_results(
    results: Sequence[Result],
    full: bool,
    jobs: int = 1,
    progress: Progress | None = None,
    *,
    real_network: bool = True,
) -> list[Outcome]:
    """Run every task of ``results`` and assemble one :class:`Outcome` per result, in order.

    ``jobs`` > 1 spreads the deterministic tasks over that many processes. Each outcome's
    ``wall_time_s`` is the sum of its tasks' run times (CPU-bound work, so about its cost on
    one core). A real-network result that this machine cannot run, or every one when
    ``real_network`` is False, gives a skipped outcome that says why.
    """
    say = progress or (lambda message: None)
    skipped = {r.name: reason for r in results if (reason := _why_not(r, real_network))}
    plans = [(result, [] if result.name in skipped else result.tasks(full)) for result in results]
    total = sum(len(tasks) for _, tasks in plans)
    outputs: dict[tuple[int, int], tuple[Any, float]] = {}
    done = 0

    def finished(key: tuple[int, int], value: tuple[Any, float]) -> None:
        nonlocal done
        outputs[key] = value
        done += 1
        name = plans[key[0]][0].name
        say(f"{done}/{total} runs done ({name}, {value[1]:.1f} s)")

    simulated = [
        (i, j, task) for i, (r, tasks) in enumerate(plans) if r.kind != "real-network" for j, task in enumerate(tasks)
    ]
    measured = [
        (i, j, task) for i, (r, tasks) in enumerate(plans) if r.kind == "real-network" for j, task in enumerate(tasks)
    ]
    _run_deterministic(simulated, jobs, finished)
    for i, j, (function, args) in measured:
        name = plans[i][0].name
        if name in skipped:
            continue  # an earlier run of this result failed
        say(f"running {name} on the real network...")
        try:
            finished((i, j), _timed(function, args))
        except REAL_NETWORK_ERRORS as exc:  # the machine, not the code: report it, keep the rest
            skipped[name] = f"the real-network run failed: {exc}"
    outcomes = []
    for i, (result, tasks) in enumerate(plans):
        if result.name in skipped:
            outcomes.append(_skipped(result, skipped[result.name], full))
            continue
        values = [outputs[(i, j)] for j in range(len(tasks))]
        outcome = result.assemble(full, [value for value, _ in values])
        outcome.wall_time_s = sum(seconds for _, seconds in values)
        outcome.full = full
        outcomes.append(outcome)
    return outcomes


def _why_not(result: Result, real_network: bool) -> str | None:
    if result.kind != "real-network":
        return None
    if not real_network:
        return "real-network runs were left out"
    return result.unavailable() if result.unavailable is not None else None


def _skipped(result: Result, reason: str, full: bool) -> Outcome:
    return Outcome(result.name, result.title, result.source, result.kind, "not run", [], skipped=reason, full=full)


def _task_key(task: Task) -> str:
    function, args = task
    return f"{function.__module__}.{function.__qualname__}{args!r}"


def _run_deterministic(
    tasks: list[tuple[int, int, Task]], jobs: int, finished: Callable[[tuple[int, int], tuple[Any, float]], None]
) -> None:
    """Run each distinct task once (results may share runs), over ``jobs`` processes if more than one.

    A run that several results asked for is charged to the first; the others get its output at 0 s.
    """
    wanted: dict[str, list[tuple[int, int]]] = {}
    unique: dict[str, Task] = {}
    for i, j, task in tasks:
        key = _task_key(task)
        wanted.setdefault(key, []).append((i, j))
        unique.setdefault(key, task)

    def deliver(key: str, value: tuple[Any, float]) -> None:
        first, *others = wanted[key]
        finished(first, value)
        for other in others:
            finished(other, (value[0], 0.0))

    if jobs <= 1 or len(unique) <= 1:
        for key, (function, args) in unique.items():
            deliver(key, _timed(function, args))
        return
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures: dict[Future[tuple[Any, float]], str] = {
            pool.submit(_timed, function, args): key for key, (function, args) in unique.items()
        }
        for future in as_completed(futures):
            deliver(futures[future], future.result())
