"""docs/benchmarks.md's random-loss tables are what the code produces (the simulator is seeded)."""

from __future__ import annotations

from pathlib import Path

from smocast.bench.congestion import lossy_rows, run, sharing_rows

DOC = Path(__file__).resolve().parents[2] / "docs" / "benchmarks.md"
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
