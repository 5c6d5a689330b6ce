"""docs/benchmarks.md's reordering table is what the code produces (the simulator is seeded)."""

from __future__ import annotations

from pathlib import Path

import pytest

from smocast.sim.topology import PathSpec
from smocast.sim.transfer import TransferSpec, run_transfer

DOC = Path(__file__).resolve().parents[2] / "docs" / "benchmarks.md"
COMMAND = "smocast sim transfer --receivers 16 --delay 1ms --window 256K --loss L --jitter J --congestion C --json"


def _rows() -> dict[tuple[str, str, str], list[str]]:
    table = DOC.read_text().split("<!-- reordering -->")[1].split("<!-- /reordering -->")[0]
    lines = [line for line in table.strip().splitlines()[2:] if line.startswith("|")]
    cells = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]
    return {(row[0], row[1], row[2]): row[3:] for row in cells}


def _after(loss: str, jitter: str, congestion: str) -> list[str]:
    """The "after" cells of one row: goodput, repairs and completion, as the table prints them."""
    path = PathSpec(delay=0.001, loss=0.02 if loss == "2%" else 0.0, jitter=float(jitter.rstrip("ms") or 0) / 1000)
    spec = TransferSpec(receivers=16, size=4 << 20, path=path, congestion=congestion, max_window=256 << 10, seed=1)
    report = run_transfer(spec).as_json()
    assert report["all_identical"]
    segments = report["segments"]
    repairs = segments["repair_unicast"] + segments["repair_multicast"]
    return [f"{report['goodput_bps'] / 1e6:.1f}", str(repairs), f"{report['sim_time_s']:.2f} s"]


def test_the_command_beside_the_table_is_the_one_checked() -> None:
    assert COMMAND in DOC.read_text()


@pytest.mark.parametrize(
    "row", [("0", "2ms", "newreno"), ("0", "2ms", "lossfilter"), ("2%", "2ms", "lossfilter")], ids=str
)
def test_the_after_columns_match_the_code(row: tuple[str, str, str]) -> None:
    """Three rows of the table, re-run here (the sixteen take a minute and a half)."""
    cells = _rows()[row]  # goodput, repairs and completion: before, after each
    assert _after(*row) == [cells[1], cells[3], cells[5]]


def test_the_table_shows_what_the_text_claims() -> None:
    rows = _rows()
    assert len(rows) == 16
    for (loss, jitter, _), cells in rows.items():
        before, after, repairs_before, repairs_after = float(cells[0]), float(cells[1]), int(cells[2]), int(cells[3])
        if jitter == "0":
            assert (before, repairs_before) == (after, repairs_after)  # nothing changed without reordering
        else:
            assert after > before and repairs_after < repairs_before
            if loss == "0":
                assert after >= 60 and 3 * repairs_after <= repairs_before
