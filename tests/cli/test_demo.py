"""``smocast demo``: consistent per-receiver figures, explained, in one unit system, ending with what to try next."""

from __future__ import annotations

import json
import re

import pytest

from smocast.cli import common
from smocast.cli.main import main

SIZES = re.compile(r"\d+(?:\.\d+)? (B|KiB|MiB|GiB)\b")
RATES = re.compile(r"\d+(?:\.\d+)? ([kMG]?bit/s)")


@pytest.mark.network
def test_each_receivers_goodput_is_the_file_over_its_transfer_time(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--receivers", "2", "--size", "1M", "--timeout", "30s", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["transport"] == "multicast" and report["all_identical"]
    for row in report["per_receiver"]:
        assert row["goodput_bps"] == pytest.approx(report["bytes"] * 8 / row["transfer_time_s"], rel=1e-3)
        assert row["waited_s"] >= 0 and row["repairs"] >= 0


def test_the_summary_explains_its_columns_and_ends_with_next_steps(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delitem(common.__dict__, "console", raising=False)
    try:
        assert main(["demo", "--simulate", "--receivers", "3", "--size", "3M", "--timeout", "30s"]) == 0
    finally:
        monkeypatch.delitem(common.__dict__, "console", raising=False)
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if "receiver" in line and "goodput" in line)
    for column in ("transfer", "goodput", "waited", "repairs", "SHA-256"):
        assert column in header
    assert "goodput: the file over that time" in out and "repairs: segments the source sent" in out
    lines = out.splitlines()
    assert all(line.strip() for line in lines)  # no stray blank lines
    steps = lines[lines.index("next, try:") + 1 :]
    assert len(steps) >= 4 and all(line.startswith("  ") for line in steps)
    assert any(line.strip().startswith("smocast sim transfer") for line in steps)
    assert {m.group(1) for m in SIZES.finditer(out)} == {"MiB"}
    assert {m.group(1) for m in RATES.finditer(out)} == {"Mbit/s"}
