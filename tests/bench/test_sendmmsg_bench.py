"""``smocast bench sendmmsg`` runs and reports both ways for each batch size (never a timing assertion)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from smocast.aio.batchsend import batch_sending_available
from smocast.bench.sendmmsg import run


@pytest.mark.skipif(not batch_sending_available(), reason="no sendmmsg in this C library")
def test_the_benchmark_reports_both_ways_for_each_batch_size() -> None:
    report = run([2, 5], size=200, repeat=2, sends=20)
    assert [row["datagrams_per_batch"] for row in report["results"]] == [2, 5]
    for row in report["results"]:
        assert len(row["sendto_runs"]) == len(row["sendmmsg_runs"]) == 2
        assert row["sendto_cpu_ns_per_datagram"] > 0 and row["sendmmsg_cpu_ns_per_datagram"] > 0
    busy = report["machine_busy"]
    assert report["send_min"] >= 2 and (busy is None or 0.0 <= busy <= 1.0)  # None: too short a run to tell


def test_the_command_refuses_a_batch_larger_than_the_sender_takes() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "smocast.cli.main", "bench", "sendmmsg", "--counts", "65"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2 and "1 to 64 datagrams" in done.stderr
    assert not done.stdout.strip() or "error" in json.loads(done.stdout)
