"""`smocast repro`: listing, one result, JSON, plots, the page, errors and the comparison rule."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from smocast.cli.main import main
from smocast.repro import RESULTS, find, run_results
from smocast.repro.base import Outcome, Result, bound_row
from smocast.repro.markdown import NOT_COMPARED_BEGIN, NOT_COMPARED_END, compared_part, render
from smocast.testbed.runner import TestbedError

ISSUE_RESULTS = {
    "smo-ackproc",
    "smo-fig5",
    "smo-ackfreq",
    "smo-lossy",
    "smo-fig7",
    "smo-relay2300",
    "levine-fig6",
    "levine-fig7",
    "levine-table1",
    "levine-theorem2",
    "classes-vs-model",
}


def test_every_result_of_the_issue_is_listed(capsys: pytest.CaptureFixture[str]) -> None:
    assert {r.name for r in RESULTS} >= ISSUE_RESULTS
    assert main(["repro", "--list"]) == 0
    out = capsys.readouterr().out
    for name in ISSUE_RESULTS:
        assert name in out


def test_one_model_result_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["repro", "levine-table1", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    (result,) = report["results"]
    assert result["name"] == "levine-table1" and result["passed"]
    rows = result["rows"]
    assert len(rows) == 12  # six classes, p constant and p -> 0
    assert {r["paper"] for r in rows} >= {"O(R ln R)", "O(R)", "O(ln R)", "O(1)"}
    assert all(r["verdict"] == "pass" for r in rows)


def test_plots_are_written_in_the_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["repro", "levine-fig6", "--plot", str(tmp_path)]) == 0
    png = tmp_path / "levine-fig6.png"
    assert png.stat().st_size > 10_000
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_unknown_names_and_bad_files_are_clear_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["repro", "no-such-result"]) == 2
    assert "smocast repro --list" in capsys.readouterr().err
    assert main(["repro"]) == 2
    bad = tmp_path / "full.json"
    bad.write_text("{not json")
    assert main(["repro", "levine-table1", "--markdown", "--with-full", str(bad)]) == 2
    assert "is not the JSON of" in capsys.readouterr().err


def _failing(full: bool, outputs: list[object]) -> Outcome:
    return Outcome("fake", "a fake", "nowhere", "model", "nothing", [bound_row("x", "> 1", "0", False)])


def test_a_failing_row_fails_the_outcome_and_shows_in_the_page() -> None:
    fake = Result("fake", "a fake", "nowhere", "model", lambda full: [], _failing)
    (outcome,) = run_results([fake], full=False)
    assert not outcome.passed
    assert outcome.rows[0].verdict == "FAIL"


def test_the_comparison_leaves_out_only_the_marked_blocks() -> None:
    text = f"a\n{NOT_COMPARED_BEGIN}\n12.3 s\n{NOT_COMPARED_END}\nb\n"
    assert compared_part(text) == "a\n\nb\n"
    (outcome,) = run_results(find("levine-table1"), full=False)
    page = render([outcome], plotted=False)
    assert "| A, p → 0 | O(R) |" in compared_part(page)
    assert "## Times" not in compared_part(page)  # wall-clock: never compared


def test_same_code_same_outcome() -> None:
    first = [o.as_json() for o in run_results(find("levine-theorem2"), full=False)]
    second = [o.as_json() for o in run_results(find("levine-theorem2"), full=False)]
    for a, b in zip(first, second, strict=True):
        a.pop("wall_time_s")
        b.pop("wall_time_s")
    assert first == second


def _broken_network() -> None:
    raise TestbedError("the bridge is gone")


def test_a_failed_real_network_run_is_reported_and_the_rest_still_run() -> None:
    broken = Result("broken", "a broken run", "nowhere", "real-network", lambda full: [(_broken_network, ())], _failing)
    outcomes = run_results([broken, *find("levine-table1")], full=False)
    assert outcomes[0].skipped == "the real-network run failed: the bridge is gone"
    assert outcomes[1].passed and outcomes[1].rows
    left_out = run_results([broken], full=False, real_network=False)
    assert left_out[0].skipped == "real-network runs were left out"
