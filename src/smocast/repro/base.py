"""What every reproduced result is made of: rows of the paper's value beside ours, and an outcome.

A result module runs one experiment at the default (reduced) size or at the paper's size, and
returns an :class:`Outcome`: its :class:`Row` list (the paper's value or bound, ours, and the
ratio or pass/fail), the setting it ran, notes that explain differences, and the raw numbers
(``data``) that the JSON output and the plots use. Seeded simulations and the model give the
same outcome for the same code, bit for bit; ``wall_time_s`` and real-network outcomes do not,
and the generated document keeps them out of the part a test compares.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Kind = Literal["model", "simulation", "real-network"]
"""``model`` and ``simulation`` outcomes are deterministic; ``real-network`` ones are measured."""


@dataclass(frozen=True, slots=True)
class Row:
    """One point: what the paper says, what we got, and how they compare."""

    point: str
    paper: str
    ours: str
    verdict: str
    passed: bool | None = None
    ratio: float | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "point": self.point,
            "paper": self.paper,
            "ours": self.ours,
            "verdict": self.verdict,
            "passed": self.passed,
            "ratio": self.ratio,
        }


def ratio_row(point: str, paper: float, ours: float, unit: str = "", digits: int = 3) -> Row:
    """A row for a value the paper states: the verdict is ours / paper."""
    ratio = ours / paper if paper else None
    verdict = f"x{ratio:.2f}" if ratio is not None else "-"
    return Row(point, f"{_num(paper, digits)}{unit}", f"{_num(ours, digits)}{unit}", verdict, None, ratio)


def bound_row(point: str, paper: str, ours: str, passed: bool) -> Row:
    """A row for a bound or a claim the paper makes: the verdict is pass or fail."""
    return Row(point, paper, ours, "pass" if passed else "FAIL", passed)


def info_row(point: str, paper: str, ours: str) -> Row:
    """A row that shows a figure beside the paper's without judging it (no value to compare)."""
    return Row(point, paper, ours, "-")


def _num(value: float, digits: int) -> str:
    return f"{value:.{digits}g}"


@dataclass(slots=True)
class Outcome:
    """The result of one reproduction run; ``data`` holds everything plots and JSON need."""

    name: str
    title: str
    source: str
    kind: Kind
    setting: str
    rows: list[Row]
    notes: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    full: bool = False
    skipped: str | None = None
    wall_time_s: float = 0.0

    @property
    def passed(self) -> bool:
        """True unless a row failed (rows with only a ratio do not fail)."""
        return all(row.passed is not False for row in self.rows)

    @property
    def deterministic(self) -> bool:
        return self.kind != "real-network"

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "source": self.source,
            "kind": self.kind,
            "size": "full" if self.full else "default",
            "setting": self.setting,
            "skipped": self.skipped,
            "passed": self.passed,
            "rows": [row.as_json() for row in self.rows],
            "notes": self.notes,
            "data": self.data,
            "wall_time_s": round(self.wall_time_s, 3),
        }


Task = tuple[Callable[..., Any], tuple[Any, ...]]
"""One independent run: a module-level function and its arguments (picklable, so a process pool
can run it). It returns plain data (numbers, lists, dicts) that its result assembles."""


@dataclass(frozen=True, slots=True)
class Result:
    """One reproducible result.

    ``tasks(full)`` lists the independent runs at the default or the paper's size; the runner
    may spread them over processes. ``assemble(full, outputs)`` turns their outputs, in the
    same order, into the :class:`Outcome`. ``plot(outcome, directory)`` draws it in the
    paper's axes and returns the files written. ``full_size`` says what ``--full`` runs.
    """

    name: str
    title: str
    source: str
    kind: Kind
    tasks: Callable[[bool], list[Task]]
    assemble: Callable[[bool, list[Any]], Outcome]
    plot: Callable[[Outcome, Path], list[Path]] | None = None
    full_size: str = ""
    unavailable: Callable[[], str | None] | None = None
    """For real-network results: why this machine cannot run it (None when it can)."""
