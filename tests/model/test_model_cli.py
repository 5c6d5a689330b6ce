"""``smocast model throughput`` and ``smocast model supportable``: output shapes, values, errors."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from smocast.cli.main import main
from smocast.model import throughput

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def run_json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> dict[str, object]:
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def test_throughput_json_shape_and_values(capsys: pytest.CaptureFixture[str]) -> None:
    report = run_json(
        capsys,
        [
            "model",
            "throughput",
            "--classes",
            "A,N1,N2,H1,H2,R",
            "--p",
            "0.01,0.1,0.25",
            "--receivers",
            "1,10,100,1000,10000",
            "--json",
        ],
    )
    points = report["points"]
    assert isinstance(points, list)
    assert len(points) == 6 * 3 * 5
    for point in points:
        assert set(point) == {"class", "p", "receivers", "throughput", "roles"}
        assert point["throughput"] == pytest.approx(1 / max(point["roles"].values()))
    by_key = {(pt["class"], pt["p"], pt["receivers"]): pt for pt in points}
    assert round(by_key["N2", 0.01, 100]["throughput"], 4) == 0.3041
    assert round(by_key["H2", 0.01, 100]["throughput"], 4) == 0.2942
    assert set(by_key["H2", 0.1, 100]["roles"]) == {"sender", "receiver", "leader"}
    assert set(by_key["H2", 0.1, 10]["roles"]) == {"sender", "receiver"}
    assert set(by_key["R", 0.1, 100]["roles"]) == {"sender", "receiver", "token_site"}
    assert report["options"] == {
        "received_nak_cost": "y_nr",
        "h2_periodic_cost": "per_child",
        "ring_load": "token_site",
        "ring_source_pays_recovery": True,
        "ring_ack_at_every_receiver": True,
        "h1_ack_costs": "local",
    }


def test_throughput_switches_and_costs_reach_the_model(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["model", "throughput", "--classes", "H2,R", "--p", "0.1", "--receivers", "1000", "--json"]
    base = run_json(capsys, argv)["points"]
    changed = run_json(
        capsys,
        [*argv, "--h2-periodic-cost", "single", "--ring-load", "rotating", "--branching", "5", "--cost", "Y_pa=0.2"],
    )["points"]
    assert changed[0]["throughput"] > base[0]["throughput"]  # type: ignore[index]
    assert set(changed[1]["roles"]) == {"sender", "receiver"}  # type: ignore[index]
    assert changed[1]["throughput"] > 10 * base[1]["throughput"]  # type: ignore[index]


def test_throughput_csv(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["model", "throughput", "--classes", "n2,H2", "--p", "0.01", "--receivers", "10,100", "--csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(r["class"], r["receivers"]) for r in rows] == [("N2", "10"), ("N2", "100"), ("H2", "10"), ("H2", "100")]
    assert list(rows[0]) == ["class", "p", "receivers", "throughput", "sender", "receiver", "leader", "token_site"]
    assert float(rows[3]["throughput"]) == throughput("H2", 0.01, 100)
    assert rows[2]["leader"] == ""
    assert float(rows[3]["leader"]) == pytest.approx(1 / float(rows[3]["throughput"]))


def test_throughput_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["model", "throughput", "--classes", "N2", "--p", "0.01", "--receivers", "100"]) == 0
    out = capsys.readouterr().out
    assert "0.3041" in out
    assert "3.288*" in out  # the sender is N2's bottleneck


def test_throughput_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "figure6.png"
    assert main(["model", "throughput", "--classes", "A,H2", "--p", "0.1,0.25", "--json", "--plot", str(target)]) == 0
    assert target.read_bytes().startswith(PNG_MAGIC)
    assert target.stat().st_size > 10_000
    assert json.loads(capsys.readouterr().out)["points"]  # stdout stays clean JSON


def test_supportable_json(capsys: pytest.CaptureFixture[str]) -> None:
    report = run_json(
        capsys,
        [
            "model",
            "supportable",
            "--classes",
            "A,H2,N2",
            "--p",
            "0.1",
            "--speeds",
            "1,10",
            "--max-receivers",
            "1000000",
            "--json",
        ],
    )
    points = {(pt["class"], pt["speed"]): pt for pt in report["points"]}  # type: ignore[attr-defined]
    assert set(points["A", 1.0]) == {"class", "p", "speed", "supportable_receivers", "unbounded", "at_search_limit"}
    assert points["A", 1.0]["supportable_receivers"] == 1
    assert points["H2", 10.0] == {
        "class": "H2",
        "p": 0.1,
        "speed": 10.0,
        "supportable_receivers": None,
        "unbounded": True,
        "at_search_limit": False,
    }
    assert points["N2", 10.0]["at_search_limit"] is True
    assert points["N2", 10.0]["supportable_receivers"] == 1_000_000
    assert report["baseline"] == [
        {"p": 0.1, "baseline_receivers": 1, "baseline_throughput": pytest.approx(throughput("A", 0.1, 1))}
    ]


def test_supportable_csv_table_and_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["model", "supportable", "--classes", "H1,R", "--p", "0.25", "--speeds", "2,50", "--csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(r["class"], r["speed"], r["unbounded"]) for r in rows] == [
        ("H1", "2.0", "false"),
        ("H1", "50.0", "true"),
        ("R", "2.0", "false"),
        ("R", "50.0", "false"),
    ]
    assert rows[1]["supportable_receivers"] == ""
    target = tmp_path / "figure7.png"
    assert main(["model", "supportable", "--classes", "H1,R", "--p", "0.25", "--plot", str(target)]) == 0
    out = capsys.readouterr().out
    assert "unbounded" in out
    assert target.read_bytes().startswith(PNG_MAGIC)


def test_unwritable_plot_fails_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "missing-dir" / "figure.png"
    assert main(["model", "throughput", "--classes", "A", "--p", "0.1", "--csv", "--plot", str(target)]) == 1
    assert "cannot write the figure" in capsys.readouterr().err
    assert not target.exists()


@pytest.mark.parametrize(
    "argv",
    [
        ["--classes", "A,X9"],
        ["--p", "0"],
        ["--p", "1"],
        ["--p", "0.1,1.5"],
        ["--p", "abc"],
        ["--receivers", "0"],
        ["--receivers", "10,-1"],
        ["--branching", "0"],
        ["--cost", "X_q=1"],
        ["--cost", "X_a=-2"],
        ["--json", "--csv"],
        ["--ring-load", "spinning"],
    ],
)
def test_bad_input_exits_with_2_and_one_line(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["model", "throughput", *argv])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("smocast model throughput: error:")


def test_bad_speed_exits_with_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["model", "supportable", "--speeds", "1,0"])
    assert exc.value.code == 2
    assert "speed must be positive" in capsys.readouterr().err


def test_model_without_a_subcommand_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["model"]) == 2
    out = capsys.readouterr().out
    assert "throughput" in out
    assert "supportable" in out


def test_help_teaches_with_examples(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["model", "throughput", "--help"])
    out = capsys.readouterr().out
    assert "examples:" in out
    assert "smocast model throughput --classes N2,H2 --p 0.01 --receivers 100 --json" in out
