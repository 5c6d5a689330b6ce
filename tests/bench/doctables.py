"""What the tests of docs/benchmarks.md's tables share: the stored reports, a table's Markdown, the check."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

DOCS = Path(__file__).resolve().parents[2] / "docs"


def stored(name: str) -> dict[str, Any]:
    """The report docs/data/``name``, as the command beside its table printed it."""
    report: dict[str, Any] = json.loads((DOCS / "data" / name).read_text())
    return report


def markdown(header: Sequence[str], rows: Iterable[Sequence[str]], *, text_columns: int = 0) -> str:
    """A Markdown table, numbers aligned right but in the first ``text_columns``; an empty cell is ``| |``."""
    rules = ["---" if i < text_columns else "---:" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(rules) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines).replace("|  |", "| |")


def assert_in_benchmarks(table: str) -> None:
    """The table stands in docs/benchmarks.md word for word, or the failure shows it to paste."""
    assert table in (DOCS / "benchmarks.md").read_text(), f"paste the table again:\n{table}"
