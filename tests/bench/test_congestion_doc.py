"""docs/benchmarks.md's random-loss tables are what the code produces (the simulator is seeded)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from smocast.bench import congestion_testbed
from smocast.bench.congestion import lossy_rows, run, sharing_rows
from smocast.cli.main import main
from smocast.sim.sharing import SMOCAST, SharingSpec, run_sharing
from smocast.sim.topology import PathSpec
from smocast.sim.transfer import TransferSpec, run_transfer

DOC = Path(__file__).resolve().parents[2] / "docs" / "benchmarks.md"
DESIGN = DOC.with_name("design.md")
COMMAND = "smocast bench congestion --receivers 4,16,32 --seeds 1,2,3 --size 10M --sharing-duration 30s"


def _table(marker: str) -> list[str]:
    text = DOC.read_text()
    table = text.split(f"<!-- {marker} -->")[1].split(f"<!-- /{marker} -->")[0]
    return [line.strip() for line in table.strip().splitlines()[2:] if line.startswith("|")]


def test_the_command_beside_the_tables_is_the_one_checked() -> None:
    assert COMMAND in DOC.read_text()


def test_the_four_receiver_row_and_the_one_flow_rows_match_the_code() -> None:
    """A part of the command, re-run here: the 16 and 32 receiver rows take minutes."""
    report = run([4], [1, 2, 3], 10 << 20, tcp_flows=(1,), duration=30.0)
    assert lossy_rows(report) == _table("congestion-lossy")[:1]
    assert sharing_rows(report) == _table("congestion-sharing")[:2]


def test_the_tables_show_what_the_text_claims() -> None:
    lossy = [[cell.strip() for cell in row.strip("|").split("|")] for row in _table("congestion-lossy")]
    assert [row[0] for row in lossy] == ["4", "16", "32"]
    assert all(float(row[5]) >= 8 for row in lossy)  # lossfilter / newreno
    sharing = [[cell.strip() for cell in row.strip("|").split("|")] for row in _table("congestion-sharing")]
    assert all(0.5 <= float(row[2]) <= 2.0 for row in sharing)  # within 0.5-2x a fair share


def test_the_figures_in_the_text_match_the_code() -> None:
    """benchmarks.md's fair:1,4 sentence and design.md's shallow-queue sentence."""
    path = PathSpec(loss=0.02)
    runs = [
        run_transfer(TransferSpec(receivers=16, size=10 << 20, path=path, cwnd_policy="fair:1,4", congestion=cc))
        for cc in ("newreno", "lossfilter")
    ]
    old, new = (round(r.as_json()["goodput_bps"] / 1e6, 2) for r in runs)
    assert f"{old:g} Mbit/s at N = 16, seed 1\n  (`--cwnd-policy fair:1,4`), {new:g} with the filter" in DOC.read_text()
    shallow = SharingSpec(receivers=10, tcp_flows=4, queue_bytes=8192, duration=20.0)
    filtered = run_sharing(replace(shallow, congestion="lossfilter")).as_json()["steady"]["share_of_fair"]
    plain = run_sharing(shallow).as_json()["steady"]["share_of_fair"]
    tcp = [v for name, v in filtered.items() if name != SMOCAST]
    text = " ".join(DESIGN.read_text().split())
    expected = (
        f"the channel takes {filtered[SMOCAST]:.2f} fair shares and the flows {min(tcp):.2f}-{max(tcp):.2f} each; "
        f"with `newreno` it takes {plain[SMOCAST]:.2f}"
    )
    assert expected in text


TESTBED_REPORTS = [
    "congestion-testbed-oneway.json",
    "congestion-testbed-n32.json",
    "congestion-testbed-standing.json",
    "congestion-testbed-jitter.json",
    "congestion-testbed-jitter-before.json",
]


@pytest.mark.parametrize("name", TESTBED_REPORTS)
def test_each_stored_testbed_report_has_its_tables_in_the_document(name: str) -> None:
    """The testbed's runs cannot be repeated bit for bit: the document is checked against the
    reports the command beside its tables printed."""
    report = json.loads((DOC.with_name("data") / name).read_text())
    tables = congestion_testbed.markdown(report)
    assert tables in DOC.read_text(), f"paste the tables of docs/data/{name} again:\n{tables}"


def test_markdown_with_testbed_prints_the_tables_not_json(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    report = json.loads((DOC.with_name("data") / TESTBED_REPORTS[0]).read_text())
    monkeypatch.setattr(congestion_testbed, "run", lambda *args: report)
    monkeypatch.setattr("smocast.testbed.runner.check_prerequisites", lambda: None)
    assert main(["bench", "congestion", "--testbed", "--markdown"]) == 0
    assert capsys.readouterr().out == congestion_testbed.markdown(report)
