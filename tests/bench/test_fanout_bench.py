"""``bench fanout``: smocast against N parallel TCP transfers on the namespace testbed.

The root test runs the real command at a tiny size and checks behaviour only: every
receiver of both methods got the file, and the sender's egress grows with N for TCP but
not for smocast. No test here looks at a time or a rate.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from smocast.bench import fanout
from smocast.cli.main import main
from smocast.testbed import Testbed

PREFIX = "bft"


def test_receivers_go_round_robin_one_per_host_then_several() -> None:
    assert fanout.placement(3, 16) == [1, 2, 3]
    assert fanout.placement(5, 2) == [1, 2, 1, 2, 1]


def test_without_root_the_command_says_so_in_one_line_and_fails(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    code = main(["bench", "fanout", "--receivers", "1", "--size", "1M", "--prefix", PREFIX])
    err = capsys.readouterr().err.strip()
    assert code != 0
    assert "root" in err and len(err.splitlines()) == 1


def test_a_bad_prefix_is_a_usage_error_before_anything_is_built(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "fanout", "--prefix", "Not-A-Prefix"]) == 2
    assert "prefix" in capsys.readouterr().err


def test_the_tcp_baseline_sends_once_all_have_connected_and_every_client_hashes_the_file(tmp_path: Path) -> None:
    payload = tmp_path / "f.bin"
    digest = fanout.write_payload(payload, 300_000, seed=4)
    started: list[subprocess.Popen[str]] = []
    try:
        server = _start(started, "serve", str(payload), "--bind", "127.0.0.1:0", "--connections", "2")
        assert server.stdout is not None
        word, address = server.stdout.readline().split()
        assert word == "listening" and address.startswith("127.0.0.1:")
        clients = [_start(started, "fetch", "--server", address) for _ in range(2)]
        got = [json.loads(client.communicate(timeout=60)[0]) for client in clients]
        report = json.loads(server.communicate(timeout=60)[0])
    finally:
        for proc in started:
            proc.kill()
            proc.communicate()
    assert [g["bytes"] for g in got] == [300_000, 300_000] and {g["sha256"] for g in got} == {digest}
    assert report["connections"] == 2 and report["errors"] == []
    assert all(g["done_at"] >= report["start_time"] for g in got)


def _start(started: list[subprocess.Popen[str]], *argv: str) -> subprocess.Popen[str]:
    started.append(
        subprocess.Popen([sys.executable, "-m", "smocast.bench.tcp_baseline", *argv], stdout=subprocess.PIPE, text=True)
    )
    return started[-1]


@pytest.fixture
def testbed_down() -> Iterator[None]:
    yield
    Testbed(PREFIX).down()  # the benchmark tears down itself; this covers a test killed half-way


@pytest.mark.root
@pytest.mark.timeout(240)
@pytest.mark.usefixtures("testbed_down")
def test_smocast_egress_stays_near_one_file_while_tcp_sends_one_per_receiver() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "smocast.cli.main",
            "bench",
            "fanout",
            "--receivers",
            "1,2",
            "--size",
            "1M",
            "--prefix",
            PREFIX,
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=220,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert [row["receivers"] for row in report["results"]] == [1, 2]
    for row in report["results"]:
        n = row["receivers"]
        for method in ("smocast", "tcp"):
            outcome = row[method]
            assert outcome["completed"] == n, outcome["errors"]
            assert len(outcome["receiver_times_s"]) == n
            assert outcome["goodput_min_bps"] <= outcome["goodput_median_bps"]
            assert outcome["completion_s"] == max(outcome["receiver_times_s"])
    two = report["results"][1]
    assert two["smocast"]["egress_ratio"] < 1.5  # sent once to the group
    assert 1.8 < two["tcp"]["egress_ratio"] < 2.5  # once per receiver
    assert Testbed(PREFIX).hosts == 0  # torn down
