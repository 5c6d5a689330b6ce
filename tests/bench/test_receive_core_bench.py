"""``smocast bench receive-core``: the replay delivers every byte, and the report compares trees."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from smocast.bench import receive_core, receive_core_child
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


class ReceiverBeforeBatches:
    """A receiver as trees before the batch entry had it: ``receive_datagram`` only."""

    def __init__(self, rx: Any) -> None:
        self._rx = rx
        self.connection = rx.connection
        self.datagrams_to_send, self.next_event, self.consumed = rx.datagrams_to_send, rx.next_event, rx.consumed
        self.one_by_one = 0

    def receive_datagram(self, data: bytes, source: Any, now: float, *, via_group: bool = False) -> None:
        self.one_by_one += 1
        self._rx.receive_datagram(data, source, now, via_group=via_group)


def test_a_tree_without_the_batch_entry_gets_each_datagram_on_its_own() -> None:
    old = ReceiverBeforeBatches(receive_core_child._connected())
    batches = receive_core_child._batches(old, 0.05, 500, 8, 3, seed=2)  # type: ignore[arg-type]
    delivered = receive_core_child._replay(old, batches)  # type: ignore[arg-type]
    assert delivered == 500 * receive_core_child.MSS
    assert old.one_by_one == sum(len(batch) for batch in batches)


def test_the_child_without_perf_fifos_times_as_before() -> None:
    argv = [sys.executable, str(receive_core.CHILD), "0.02", "300", "8", "3", "1", "1", "0"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMOCAST_PERF")}
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=True)
    assert json.loads(done.stdout)["us_per_datagram"] > 0
