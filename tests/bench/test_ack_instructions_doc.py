"""docs/benchmarks.md's table of instructions per ACK after the fast paths is what the stored report
says (docs/data/ack-instructions-fast-paths.json, from the command beside the table)."""

from __future__ import annotations

import json
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs"


def render() -> str:
    """The table as the document should hold it."""
    report = json.loads((DOCS / "data" / "ack-instructions-fast-paths.json").read_text())
    lines = ["| receivers | before | after | after / before |", "|---:|---:|---:|---:|"]
    for row in report["results"]:
        cells = [
            f"{row['receivers']:,}",
            f"{row['baseline_instructions_per_ack']:,}",
            f"{row['instructions_per_ack']:,}",
            f"{row['ratio_to_baseline']:.3f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def test_the_instructions_table_is_the_stored_report() -> None:
    table = render()
    assert table in (DOCS / "benchmarks.md").read_text(), f"paste the table again:\n{table}"
