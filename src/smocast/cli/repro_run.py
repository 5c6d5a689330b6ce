"""What ``smocast repro`` does once parsed (its parser: :mod:`smocast.cli.repro_cmd`)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from rich.table import Table

from smocast.cli.common import console, err_console, fail, print_json
from smocast.core.errors import ConfigError
from smocast.repro import RESULTS, Outcome, find, run_results
from smocast.repro.markdown import render


def run(args: argparse.Namespace) -> int:
    if args.list:
        _list()
        return 0
    if not args.name:
        fail("name a result (see --list) or all", 2)
    if args.json and args.markdown:
        fail("choose --json or --markdown, not both", 2)
    if args.with_full and not args.markdown:
        fail("--with-full adds to the page: use it with --markdown", 2)
    try:
        results = find(args.name)
    except ConfigError as exc:
        fail(str(exc), 2)
    full_outcomes = _load_full(args.with_full) if args.with_full else None
    started = time.perf_counter()
    with err_console.status("running...") as status:
        outcomes = run_results(results, args.full, args.jobs, status.update)
    run_info = {
        "wall_time_s": round(time.perf_counter() - started, 1),
        "jobs": args.jobs,
        "load_average": round(os.getloadavg()[0], 2),
    }
    if args.plot:
        _plot(outcomes, Path(args.plot))
    if args.json:
        print_json(_report(outcomes, args.full, run_info))
    elif args.markdown:
        sys.stdout.write(render(outcomes, plotted=True, full=full_outcomes, run=run_info))
    else:
        for outcome in outcomes:
            _print(outcome)
        console.print(f"[dim]{len(outcomes)} result(s) in {run_info['wall_time_s']:.0f} s[/]")
    return 0 if all(o.passed for o in outcomes) else 1


def _list() -> None:
    table = Table(title="smocast repro: results", show_lines=False)
    for column in ("name", "what the paper reports", "kind", "--full runs"):
        table.add_column(column)
    for result in RESULTS:
        table.add_row(result.name, result.title, result.kind, result.full_size)
    console.print(table)


def _load_full(path: str) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text())
        if not isinstance(data, dict) or not isinstance(data["results"], list):
            raise TypeError("no list of results")
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror or exc}", 2)
    except (ValueError, KeyError, TypeError) as exc:
        fail(f"{path} is not the JSON of `smocast repro all --full --json`: {exc}", 2)
    return data


def _report(outcomes: list[Outcome], full: bool, run_info: dict[str, Any]) -> dict[str, Any]:
    return {
        "size": "full" if full else "default",
        "passed": all(o.passed for o in outcomes),
        **run_info,
        "results": [o.as_json() for o in outcomes],
    }


def _plot(outcomes: list[Outcome], directory: Path) -> None:
    by_name = {r.name: r for r in RESULTS}
    for outcome in outcomes:
        draw = by_name[outcome.name].plot
        if draw is None or outcome.skipped:
            continue
        try:
            for path in draw(outcome, directory):
                err_console.print(f"figure written to {path}")
        except OSError as exc:
            fail(f"cannot write the figure of {outcome.name} in {directory}: {exc.strerror or exc}")


def _print(outcome: Outcome) -> None:
    table = Table(title=f"{outcome.name}: {outcome.title}", caption=f"{outcome.source}; {outcome.setting}")
    for column in ("point", "paper", "ours", "verdict"):
        table.add_column(column, overflow="fold")
    for row in outcome.rows:
        style = "green" if row.passed else ("red" if row.passed is False else "")
        table.add_row(row.point, row.paper, row.ours, f"[{style}]{row.verdict}[/]" if style else row.verdict)
    console.print(table)
    if outcome.skipped:
        console.print(f"[yellow]skipped:[/] {outcome.skipped}")
    for note in outcome.notes:
        console.print(f"[dim]{note}[/]")
    console.print()
