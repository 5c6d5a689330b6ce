"""Simulated live streams with real-time receivers (TCP-RTM) against plain UDP."""

from __future__ import annotations

import json

import pytest

from smocast.cli.main import main
from smocast.sim.stream import StreamSpec, run_stream
from smocast.sim.topology import PathSpec


def spec(loss: float, **extra: object) -> StreamSpec:
    path = PathSpec(rate=100e6, delay=0.02, delay_max=0.1, loss=loss)
    return StreamSpec(receivers=20, packets=600, path=path, **extra)  # type: ignore[arg-type]


def test_repairs_hide_most_loss_that_udp_shows() -> None:
    report = run_stream(spec(0.08)).as_json()
    assert 0.05 < report["udp_perceived_loss"] < 0.11
    assert 0.05 < report["network_loss"] < 0.11
    assert report["perceived_loss"] < 0.005
    assert report["resets"] == 0
    assert report["repairs"]["unicast"] + report["repairs"]["multicast"] > 0


def test_without_loss_nothing_is_skipped_and_latency_is_the_path() -> None:
    report = run_stream(spec(0.0)).as_json()
    assert report["perceived_loss"] == 0.0 and report["udp_perceived_loss"] == 0.0
    assert report["skipped_bytes"] == 0
    assert 20 <= report["latency_ms"]["p50"] <= 101  # one-way delays from 20 to 100 ms


def test_a_playout_delay_too_short_for_repairs_skips() -> None:
    report = run_stream(spec(0.08, playout_rtts=0.0, playout_delay=0.001)).as_json()
    assert report["skipped_bytes"] > 0
    assert report["perceived_loss"] > 0.01  # no time to repair: close to UDP


def test_late_joiners_start_at_a_whole_message() -> None:
    report = run_stream(spec(0.05, late_joiners=2, late_join_at=4.0)).as_json()
    late = report["late_joiners"]
    assert len(late) == 2
    for joiner in late:
        assert 150 <= joiner["first_message"] <= 260  # about four seconds in, at 50 per second
        assert joiner["in_order"] and joiner["perceived_loss"] < 0.01


def test_same_seed_same_stream() -> None:
    first = run_stream(spec(0.05)).as_json()
    second = run_stream(spec(0.05)).as_json()
    first.pop("wall_time_s")
    second.pop("wall_time_s")
    assert first == second


def test_cli_json_has_the_figure7_fields(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["sim", "stream", "--receivers", "5", "--packets", "200", "--loss", "0.05", "--json"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    for key in ("perceived_loss", "network_loss", "udp_perceived_loss", "skipped_bytes", "latency_ms", "jitter_ms"):
        assert key in report
    assert set(report["latency_ms"]) == {"p50", "p90", "p99", "max"}


def test_cli_sweep_and_plot(tmp_path: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "f7.png"  # type: ignore[operator]
    code = main(
        ["sim", "stream", "--receivers", "4", "--packets", "100", "--loss", "0.02,0.1", "--json", "--plot", str(out)]
    )
    assert code == 0
    points = json.loads(capsys.readouterr().out)["points"]
    assert [p["loss"] for p in points] == [0.02, 0.1]
    assert out.stat().st_size > 1000  # type: ignore[union-attr]


def test_unicast_only_repairs_when_the_threshold_is_the_whole_group() -> None:
    on = run_stream(spec(0.1)).as_json()
    only = run_stream(spec(0.1, repair_multicast_fraction=1.0)).as_json()
    assert on["repairs"]["multicast"] > 0  # 2 of 20 reporters reach the 5% threshold
    assert only["repairs"]["multicast"] == 0
    assert only["repairs"]["unicast"] > on["repairs"]["unicast"]
    assert only["perceived_loss"] < 0.01
