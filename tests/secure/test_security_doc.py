"""docs/security.md's simulated table is what the code produces (the same seed, the same figures)."""

from __future__ import annotations

from pathlib import Path

from smocast.bench.crypto_sim import run

DOC = Path(__file__).resolve().parents[2] / "docs" / "security.md"


def table_rows() -> list[list[str]]:
    text = DOC.read_text()
    table = text.split("<!-- sim-table -->")[1].split("<!-- /sim-table -->")[0]
    lines = [line for line in table.strip().splitlines()[2:] if line.startswith("|")]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]


def test_the_command_named_beside_the_table_is_the_one_checked() -> None:
    assert "smocast bench crypto --sim --receivers 4 --size 4M\n--delay 0.5ms --seed 1" in DOC.read_text()


def test_the_simulated_block_delay_table_matches_the_code() -> None:
    report = run(receivers=4, size=4 << 20, rate=100e6, delay=0.0005, seed=1)
    expected = [["plain (no layer)", f"{report['plain']['goodput_mbps']:g}", "1.000", ""]]
    for row in report["secure"]:
        delay, goodput, ratio = f"{row['max_delay_ms']:g} ms", f"{row['goodput_mbps']:g}", f"{row['goodput_ratio']:.3f}"
        expected.append([delay, goodput, ratio, f"{row['packets_per_block']:g}"])
    assert table_rows() == expected
    assert all(row["completed"] == 4 for row in report["secure"])
