"""``smocast send``, ``smocast recv`` and ``smocast demo`` on loopback multicast, as a user runs them."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.aio.netutil import loopback, payload

from smocast.aio.sockets import port_in_use
from smocast.cli.main import main

pytestmark = pytest.mark.network


def smocast(*argv: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "smocast.cli.main", *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def test_send_and_recv_move_a_file_and_report_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    net = loopback(ssm=True)
    data = payload(700_000, seed=31)
    source = tmp_path / "payload.bin"
    source.write_bytes(data)
    out = tmp_path / "out"
    out.mkdir()
    sender = smocast(
        "send", str(source), "--group", net.group_text, "--bind", net.server_text, "--json", "--wait", "20s"
    )
    try:
        deadline = time.monotonic() + 10
        while not port_in_use(net.server) and time.monotonic() < deadline and sender.poll() is None:
            time.sleep(0.01)
        code = main(["recv", "--server", net.server_text, "--group", net.group_text, "-o", str(out), "--json"])
        sent_out, sent_err = sender.communicate(timeout=30)
    finally:
        sender.kill()
    received = json.loads(capsys.readouterr().out)
    sent = json.loads(sent_out)
    assert code == 0 and sender.returncode == 0, sent_err
    assert (out / "payload.bin").read_bytes() == data
    digest = hashlib.sha256(data).hexdigest()
    assert received["sha256"] == sent["sha256"] == digest and received["verified"] is True
    assert received["bytes"] == sent["bytes"] == len(data)
    for key in ("file", "wall_time_s", "goodput_bps", "repairs"):
        assert key in received
    assert (sent["receivers"], sent["completed"], sent["dropped"]) == (1, 1, 0)
    assert sent["goodput_bps"] > 0 and sent["wall_time_s"] > 0
    (row,) = sent["per_receiver"]
    assert row["status"] == "completed" and row["bytes_acked"] > len(data)  # the manifest comes first
    assert {"address", "srtt_ms", "cwnd", "repairs_unicast", "repairs_multicast"} <= set(row)
    assert sent["congestion"] == {
        "loss_episodes": row["loss_episodes"],
        "window_cuts": row["window_cuts"],
        "receivers_reordering": 0,  # loopback keeps the order
    }
    assert row["reordering"] is False


def test_demo_sends_to_eight_receivers_and_all_copies_are_identical(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["demo", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert report["transport"] in ("multicast", "simulated")
    assert (report["receivers"], report["completed"], report["all_identical"]) == (8, 8, True)
    assert report["bytes"] == 20 << 20 and report["goodput_bps"] > 0 and report["wall_time_s"] > 0
    assert len(report["per_receiver"]) == 8 and all(r["identical"] for r in report["per_receiver"])


def test_demo_in_the_simulator_reports_the_same_shape(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["demo", "--simulate", "--receivers", "3", "--size", "1M", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert report["transport"] == "simulated"
    assert (report["receivers"], report["completed"], report["all_identical"]) == (3, 3, True)


@pytest.mark.parametrize(
    ("options", "enabled", "segment", "mtus"),
    [
        (("--max-mtu", "9000"), True, 9000 - 28 - 34 - 16, [9000]),  # the secure mode's envelope included
        (("--no-pmtu",), False, 1400 - 34, []),
    ],
)
def test_send_finds_the_largest_datagram_on_loopback_unless_told_not_to(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    options: tuple[str, ...],
    enabled: bool,
    segment: int,
    mtus: list[int],
) -> None:
    net = loopback(ssm=True)
    data = payload(2_000_000, seed=32)
    source = tmp_path / "payload.bin"
    source.write_bytes(data)
    out = tmp_path / "out"
    out.mkdir()
    sender = smocast("send", str(source), "--group", net.group_text, "--bind", net.server_text, "--json", *options)
    try:
        deadline = time.monotonic() + 10
        while not port_in_use(net.server) and time.monotonic() < deadline and sender.poll() is None:
            time.sleep(0.01)
        code = main(["recv", "--server", net.server_text, "--group", net.group_text, "-o", str(out), "--json"])
        sent_out, sent_err = sender.communicate(timeout=30)
    finally:
        sender.kill()
    pmtu = json.loads(sent_out)["pmtu"]
    assert code == 0 and sender.returncode == 0, sent_err
    assert (out / "payload.bin").read_bytes() == data
    assert pmtu["enabled"] is enabled and pmtu["largest_segment"] == segment
    assert [row["mtu"] for row in pmtu["receivers"]] == mtus


def test_max_mtu_without_path_mtu_discovery_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "f").write_bytes(b"x")
    argv = ["send", str(tmp_path / "f"), "--group", "232.1.1.1:5000", "--no-pmtu", "--max-mtu", "9000"]
    assert main(argv) == 2
    assert "--max-mtu" in capsys.readouterr().err
