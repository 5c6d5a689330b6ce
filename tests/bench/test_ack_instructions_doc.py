"""docs/benchmarks.md's tables of the source's cost per ACK after the fast paths are what the stored
reports say (docs/data/ack-instructions-fast-paths.json and ack-server-fast-paths.json, from the
commands beside the tables)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _report(name: str) -> dict[str, Any]:
    report: dict[str, Any] = json.loads((DOCS / "data" / name).read_text())
    return report


def render() -> str:
    """The table as the document should hold it."""
    report = _report("ack-instructions-fast-paths.json")
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


def render_server() -> str:
    """The table of ``bench ack-server`` against the tree before, as the document should hold it."""
    report = _report("ack-server-fast-paths.json")
    after, before = report["cpu_ns_per_ack"], report["baseline"]["cpu_ns_per_ack"]
    fed, saturated = report["bare_recvfrom_into_ns_per_datagram"], report["bare_saturated_ns_per_datagram"]
    first = (
        "source CPU per ACK (median of 3)",
        f"{before:,} ns",
        f"{after:,} ns",
        f"{report['ratio_to_baseline']:.3f}",
    )
    rows = [first]
    for name, floor in (("the bare loop fed by the blaster", fed), ("the saturated bare loop", saturated)):
        rows.append(
            (f"ratio to {name} ({floor:,} ns per datagram)", f"{before / floor:.2f}", f"{after / floor:.2f}", "")
        )
    lines = ["| figure | before | after | after / before |", "|---:|---:|---:|---:|"]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows]).replace("|  |", "| |")


def test_the_ack_server_table_is_the_stored_report() -> None:
    table = render_server()
    assert table in (DOCS / "benchmarks.md").read_text(), f"paste the table again:\n{table}"
