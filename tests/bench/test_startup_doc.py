"""docs/benchmarks.md's table of start-up CPU without a progress bar is what the stored report says
(docs/data/startup-no-bar.json, from the command beside the table)."""

from __future__ import annotations

from tests.bench.doctables import assert_in_benchmarks, markdown, stored


def render() -> str:
    """The table as the document should hold it."""
    rows = [
        (
            case["name"],
            f"{case['baseline']['cpu_ms_median']:.1f} ms",
            f"{case['this']['cpu_ms_median']:.1f} ms",
            f"{case['ratio_to_baseline']:.2f}",
        )
        for case in stored("startup-no-bar.json")["cases"]
    ]
    return markdown(("case", "before", "after", "after / before"), rows, text_columns=1)


def test_the_startup_table_is_the_stored_report() -> None:
    assert_in_benchmarks(render())
