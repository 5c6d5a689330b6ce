"""docs/benchmarks.md's table of start-up CPU without a progress bar is what the stored report says
(docs/data/startup-no-bar.json, from the command beside the table)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DOCS = Path(__file__).resolve().parents[2] / "docs"


def render() -> str:
    """The table as the document should hold it."""
    report: dict[str, Any] = json.loads((DOCS / "data" / "startup-no-bar.json").read_text())
    lines = ["| case | before | after | after / before |", "|---|---:|---:|---:|"]
    for case in report["cases"]:
        before, after = case["baseline"]["cpu_ms_median"], case["this"]["cpu_ms_median"]
        lines.append(f"| {case['name']} | {before:.1f} ms | {after:.1f} ms | {case['ratio_to_baseline']:.2f} |")
    return "\n".join(lines)


def test_the_startup_table_is_the_stored_report() -> None:
    table = render()
    assert table in (DOCS / "benchmarks.md").read_text(), f"paste the table again:\n{table}"
