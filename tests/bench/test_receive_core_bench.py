"""``smocast bench receive-core``: the replay delivers every byte, and the report compares trees."""

from __future__ import annotations

import subprocess
import sys

import pytest

from smocast.bench import receive_core
from smocast.bench.receive_core_child import measure


@pytest.mark.parametrize("loss", [0.0, 0.05])
def test_the_replay_delivers_the_whole_stream_and_counts_calls(loss: float) -> None:
    result = measure(loss, 600, 8, 3, seed=2, repeat=1, calls=True)  # raises unless every byte arrived
    assert result["us_per_datagram"] > 0
    assert result["calls_per_datagram"] > 1


def test_the_report_compares_this_tree_with_a_baseline() -> None:
    settings = receive_core.CoreSettings([0.02], datagrams=400, repeat=2, baseline_src=receive_core.THIS_SRC)
    report = receive_core.run(settings)
    (row,) = report["rows"]
    assert len(row["this"]["runs"]) == len(row["baseline"]["runs"]) == 2
    ratio = row["this"]["us_per_datagram"] / row["baseline"]["us_per_datagram"]
    assert row["this_over_baseline"] == pytest.approx(ratio, rel=1e-2)


def test_the_command_refuses_a_bad_loss_rate() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "smocast.cli.main", "bench", "receive-core", "--loss", "0,1.5"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "loss rates must lie in [0, 1)" in done.stderr
