"""The tables of ``bench peers`` in docs/benchmarks.md are rendered from the reports stored in docs/data.

A measured run cannot be repeated bit for bit, so the document is checked against the stored
JSON reports that the commands beside the tables printed: change a report, or the rendering,
and this test says which table to paste again.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from smocast.bench import peers_table

DOCS = Path(__file__).resolve().parents[2] / "docs"
REPORTS = [
    "peers-100mbit.json",
    "peers-unlimited.json",
    "peers-100mbit-loss.json",
    "peers-after-batching.json",
    "peers-quiet.json",
    "peers-quiet-loss.json",
    "peers-quiet-loss-lossfilter.json",
    "peers-edges.json",
    "peers-jumbo-9000.json",
    "peers-jumbo-1500.json",
    "peers-loss-oneway.json",
    "peers-quiet-3rounds.json",
    "peers-loss-oneway-2.json",
    "peers-short-header.json",
    "peers-loss-short-header.json",
    "peers-loss-floor3.json",
    "peers-second-machine.json",
    "peers-second-machine-loss.json",
    "peers-loss-standing.json",
    "peers-loss-standing-n32x5.json",
    "peers-loss-bulk-read.json",
    "peers-loss-jitter.json",
    "peers-clean-later-machine.json",
    "peers-loss-rate-repairs.json",
    "peers-loss-fixed-rate.json",
    "peers-clean-current.json",
    "peers-clean-reordering.json",
    "peers-loss-reordering.json",
    "peers-loss-reordering-paired.json",
    "peers-loss-order-a.json",
    "peers-loss-order-b.json",
    "peers-reorder.json",
    "peers-reorder-loss.json",
    "peers-clean-third-machine.json",
    "peers-loss-third-machine.json",
]


def _report(name: str) -> dict[str, Any]:
    return json.loads((DOCS / "data" / name).read_text())  # type: ignore[no-any-return]


@pytest.mark.parametrize("name", REPORTS)
def test_each_stored_report_has_its_tables_in_the_document(name: str) -> None:
    tables = peers_table.markdown(_report(name))
    assert tables in (DOCS / "benchmarks.md").read_text(), f"paste the tables of docs/data/{name} again:\n{tables}"


def test_the_stored_reports_name_no_path_of_the_machine_they_ran_on() -> None:
    for name in REPORTS:
        text = (DOCS / "data" / name).read_text()
        assert "/tmp/" not in text and "/.venv/" not in text, name


def _goal_cells(clean_report: str, loss_report: str, ack_report: str) -> list[str]:
    """The cells of a table of goals that quote the three stored reports, as the document prints them."""
    clean = _report(clean_report)["goals"]
    loss = _report(loss_report)["goals"]
    acks = _report(ack_report)

    def ratios(goals: dict[str, Any], key: str, counts: tuple[int, ...]) -> list[float]:
        return [goals[f"N={n}"][key]["ratio"] for n in counts]

    completion = ", ".join(f"{r:.3f}" for r in ratios(clean, "completion_vs_udpcast", (1, 4, 16, 32)))
    cpu = ", ".join(f"{r:.2f}" for r in ratios(clean, "receivers_cpu_per_mb_vs_udpcast", (1, 4, 16, 32)))
    lossy = " and ".join(f"{r:.2f}" for r in ratios(loss, "completion_vs_best_peer", (16, 32)))
    per_ack = (
        f"{acks['cpu_ns_per_ack']:,} ns per ACK: {acks['ratio_to_bare_loop']:.2f} times the loop fed by a blaster"
        f" ({acks['bare_recvfrom_into_ns_per_datagram']:,} ns), {acks['ratio_to_saturated_bare_loop']:.2f} times"
        f" the saturated loop ({acks['bare_saturated_ns_per_datagram']:,} ns)"
    )
    return [completion, cpu, lossy, per_ack]


@pytest.mark.parametrize(
    "reports",
    [
        ("peers-clean-reordering.json", "peers-loss-reordering.json", "ack-server-reordering.json"),
        ("peers-clean-third-machine.json", "peers-loss-third-machine.json", "ack-server-third-machine.json"),
    ],
    ids=["after the reordering detection", "a third machine"],
)
def test_each_table_of_goals_is_what_its_reports_say(reports: tuple[str, str, str]) -> None:
    text = (DOCS / "benchmarks.md").read_text()
    for cell in _goal_cells(*reports):
        assert f"| {cell} " in text, cell
