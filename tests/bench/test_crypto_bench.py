"""``smocast bench crypto``: it runs and reports every figure; the policy table follows from the measured costs.

Nothing here asserts a time: the costs below are given, not measured.
"""

from __future__ import annotations

import json

import pytest

from smocast.bench.crypto import PACKET, policies, run
from smocast.cli.main import main


def test_a_small_run_reports_every_figure(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "crypto", "--blocks", "1,4", "--repeat", "1", "--packets", "64"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report["primitives"]["us_per_packet"]) >= {"chacha_seal", "chacha_open", "sha256_hashlib"}
    assert report["primitives"]["ed25519_verify_us"] > 0
    assert [row["block_packets"] for row in report["layer"]] == [1, 4]
    assert {row["policy"] for row in report["policies"]} == {"live", "file", "64 packets, no wait"}
    assert "sim" not in report


def test_a_block_larger_than_a_datagram_holds_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "crypto", "--blocks", "65", "--repeat", "1"]) == 2
    assert "at most 64 packets" in capsys.readouterr().err


def test_the_policy_table_follows_from_the_costs() -> None:
    rows = [{"block_packets": 64, "source_us_per_packet": 10.0, "receiver_us_per_packet": 12.0}]
    table = {(r["policy"], r["stream"]): r for r in policies(rows, verify_us=128.0, sign_us=64.0)}
    live_10 = table[("live", "10mbit")]  # 893 packets/s: a 16-packet block takes 17.9 ms, capped at 2 ms
    assert live_10["added_wait_ms"] == 2.0
    assert live_10["blocks_per_s"] == 500.0
    packets = 10e6 / (PACKET * 8)
    assert live_10["receiver_cpu"] == round((packets * (12.0 - 2.0) + 500 * 128.0) / 1e6, 4)
    assert live_10["source_cpu"] == round((packets * (10.0 - 1.0) + 500 * 64.0) / 1e6, 4)
    file_100 = table[("file", "100mbit")]  # 8929 packets/s: 64 packets in 7.2 ms, capped at 5 ms
    assert file_100["added_wait_ms"] == 5.0 and file_100["blocks_per_s"] == 200.0
    assert table[("live", "1mbit")]["blocks_per_s"] == round(1e6 / (PACKET * 8), 1)  # one a packet at most


def test_run_without_the_cli_is_json_serialisable() -> None:
    json.dumps(run([2], repeat=1, packets=32))
