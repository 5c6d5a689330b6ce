"""``smocast bench secure`` and ``bench ack-server --compare-secure``: they run, and the documents show their runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from smocast.bench.ack_report import compare_markdown
from smocast.bench.secure import GOAL_RATIO, SecureSettings, markdown, order, run, summarise

ROOT = Path(__file__).resolve().parents[2]
BENCHMARKS = ROOT / "docs" / "benchmarks.md"


def between(text: str, marker: str) -> str:
    return text.split(f"<!-- {marker} -->")[1].split(f"<!-- /{marker} -->", maxsplit=1)[0].strip()


@pytest.mark.parametrize("doc", [BENCHMARKS, ROOT / "docs" / "security.md"], ids=["benchmarks", "security"])
def test_the_documented_tables_are_the_stored_runs(doc: Path) -> None:
    text = doc.read_text()
    bench = json.loads((ROOT / "docs" / "data" / "secure-bench.json").read_text())
    acks = json.loads((ROOT / "docs" / "data" / "ack-compare.json").read_text())
    assert between(text, "secure-bench") == markdown(bench)
    assert between(text, "ack-compare") == compare_markdown(acks)
    assert "smocast bench secure --receivers 1,4,16 --size 8M --repeat 3 --testbed" in text
    assert "smocast bench ack-server --receivers 1000 --duration 5s --repeat 3 --compare-secure" in text


def test_the_modes_alternate_and_the_ratio_uses_complete_runs_only() -> None:
    assert order(0) == ("insecure", "secure") and order(1) == ("secure", "insecure")
    runs = {
        "insecure": [{"complete": True, "goodput_bps": 100.0}, {"complete": False, "goodput_bps": 0.0}],
        "secure": [{"complete": True, "goodput_bps": 70.0}, {"complete": True, "goodput_bps": 90.0}],
    }
    row = summarise(4, runs)
    assert (row["insecure_goodput_bps"], row["secure_goodput_bps"], row["ratio"]) == (100.0, 80.0, 0.8)
    assert row["goal_met"] is (GOAL_RATIO <= 0.8)


@pytest.mark.network
def test_a_small_run_measures_both_modes() -> None:
    settings = SecureSettings(receivers=[1], size=200_000, repeat=1, stream_rate=100, stream_duration=1.0)
    report = run(settings)
    (row,) = report["loopback"]
    assert row["insecure_complete_runs"] == 1 and row["secure_complete_runs"] == 1, row["runs"]
    assert row["ratio"] is not None and row["ratio"] > 0
    stream = report["stream"]
    assert stream["secure_p50_ms"] is not None and stream["insecure_p50_ms"] is not None
