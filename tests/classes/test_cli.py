"""``smocast sim classes`` and ``smocast sim theorem2`` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from smocast.cli.main import main


def test_classes_json_has_the_points_the_issue_asks_for(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "sim",
            "classes",
            "--classes",
            "A,H2",
            "--receivers",
            "5,30",
            "--loss",
            "0.1",
            "--packets",
            "150",
            "--branching",
            "5",
            "--json",
        ]
    )
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    points = report["points"]
    assert [(p["class"], p["receivers"]) for p in points] == [("A", 5), ("A", 30), ("H2", 5), ("H2", 30)]
    for point in points:
        assert point["p"] == 0.1 and point["all_identical"] is True
        for side in ("measured", "model"):
            assert set(point[side]) == {"throughput", "roles"}
            assert point[side]["throughput"] == pytest.approx(1 / max(point[side]["roles"].values()), rel=1e-3)
    assert "leader" in points[3]["measured"]["roles"] and "leader" not in points[2]["measured"]["roles"]


def test_classes_runs_in_parallel_with_the_same_result_and_plots(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [
        "sim",
        "classes",
        "--classes",
        "N1,R",
        "--receivers",
        "8",
        "--loss",
        "0.1,0.25",
        "--packets",
        "100",
        "--json",
    ]
    assert main(args) == 0
    serial = json.loads(capsys.readouterr().out)
    figure = tmp_path / "classes.png"
    assert main([*args, "--jobs", "2", "--plot", str(figure)]) == 0
    parallel = json.loads(capsys.readouterr().out)
    for report in (serial, parallel):
        for point in report["points"]:
            point.pop("wall_time_s")
    assert serial == parallel
    assert figure.read_bytes()[:4] == b"\x89PNG"


def test_bad_arguments_are_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["sim", "classes", "--classes", "A,Z"])
    assert main(["sim", "classes", "--loss", "0"]) == 2


def test_theorem2_exits_zero_when_exactly_n1_and_n2_deadlock(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "theorem2", "--json"]) == 0
    cases = json.loads(capsys.readouterr().out)["cases"]
    deadlocked = {(c["class"], c["recovery"]) for c in cases if c["deadlocked"]}
    assert deadlocked == {("N1", "none"), ("N2", "none")}
