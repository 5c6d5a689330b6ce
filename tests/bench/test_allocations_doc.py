"""docs/benchmarks.md's table of allocations per datagram is what the stored reports say
(docs/data/receive-core-allocations-*.json, from the command beside the table)."""

from __future__ import annotations

from typing import Any

from tests.bench.doctables import assert_in_benchmarks, markdown, stored

BASELINES = ("7072e91", "408e130")


def _report(commit: str) -> dict[str, Any]:
    return stored(f"receive-core-allocations-{commit}.json")


def render() -> str:
    """The table as the document should hold it."""
    reports = [_report(commit) for commit in BASELINES]
    header = (
        "loss", "allocations per datagram, now", "before the batch entry (`7072e91`)", "now / before",
        "before the held runs (`408e130`)", "now / before", "Python calls per datagram, now", "`7072e91`", "`408e130`",
    )  # fmt: skip
    rows = []
    for first, second in zip(reports[0]["rows"], reports[1]["rows"], strict=True):
        assert first["loss"] == second["loss"]
        assert first["this"]["allocations_per_datagram"] == second["this"]["allocations_per_datagram"]
        cells = [
            f"{first['loss']:.0%}",
            f"{first['this']['allocations_per_datagram']:.2f}",
            f"{first['baseline']['allocations_per_datagram']:.2f}",
            f"{first['allocations_this_over_baseline']:.2f}",
            f"{second['baseline']['allocations_per_datagram']:.2f}",
            f"{second['allocations_this_over_baseline']:.2f}",
            f"{first['this']['calls_per_datagram']:.2f}",
            f"{first['baseline']['calls_per_datagram']:.2f}",
            f"{second['baseline']['calls_per_datagram']:.2f}",
        ]
        rows.append(cells)
    return markdown(header, rows)


def test_the_allocations_table_is_the_stored_reports() -> None:
    assert_in_benchmarks(render())
