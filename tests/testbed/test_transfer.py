"""``smocast send`` and ``smocast recv`` as separate processes in testbed hosts: real IGMP, loss and cuts.

Each test starts the commands inside the namespaces with ``--json``, checks every receiver's
SHA-256 against the file, and always kills what it started (the ``prefix`` fixture then
tears the testbed down, which kills anything left inside it).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import random
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from smocast.apps.processes import processes
from smocast.testbed import Testbed

PORT = 47100
GROUP = f"232.77.3.1:{PORT}"  # source-specific (SSM): each receiver joins (sender, group)
START_LIMIT = 20.0  # seconds for the sender to bind its port
RUN_LIMIT = 150.0  # seconds any one command may run before the test gives up on it


def udp_port_bound(tb: Testbed, host: int, port: int) -> bool:
    """Is a UDP socket bound to ``port`` in the host? Read from /proc, without binding a probe
    socket: a probe that binds the port races with the server binding it."""
    suffix = f":{port:04X}"
    table = tb.exec(host, ["cat", "/proc/net/udp"], capture_output=True, text=True).stdout
    return any(line.split()[1].endswith(suffix) for line in table.splitlines()[1:] if line.strip())


@dataclass
class Receiver:
    host: int
    out: Path
    proc: subprocess.Popen[str]


@dataclass
class Outcome:
    """What a finished command left: exit code, its JSON (None if it printed none) and stderr."""

    code: int
    report: dict[str, Any] | None
    stderr: str


def smocast(*argv: str) -> list[str]:
    return [sys.executable, "-m", "smocast.cli.main", *argv]


def write_payload(path: Path, size: int, seed: int) -> str:
    """A file of ``size`` random bytes; returns its SHA-256."""
    data = random.Random(seed).randbytes(size)
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def start_sender(tb: Testbed, started: list[subprocess.Popen[str]], path: Path, *options: str) -> str:
    """Start ``smocast send`` on host 0, bound to its testbed address; return once its port is bound."""
    address = tb.address(0)
    proc = tb.popen(
        0,
        smocast(
            "send", str(path), "--group", GROUP, "--bind", f"{address}:{PORT}", "--json", "--wait", "60s", *options
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    started.append(proc)
    deadline = time.monotonic() + START_LIMIT
    while not udp_port_bound(tb, 0, PORT):
        assert proc.poll() is None, f"the sender exited with {proc.returncode}: {proc.communicate()[1]}"
        assert time.monotonic() < deadline, "the sender did not bind its port"
        time.sleep(0.05)
    return f"{address}:{PORT}"


def start_receivers(
    tb: Testbed,
    started: list[subprocess.Popen[str]],
    server: str,
    hosts: range,
    per_host: int,
    root: Path,
    *options: str,
) -> list[Receiver]:
    receivers = []
    for host in hosts:
        for k in range(per_host):
            out = root / f"h{host}r{k}"
            out.mkdir()
            proc = tb.popen(
                host,
                smocast(
                    "recv", "--server", server, "--group", GROUP, "-o", str(out), "--json", "--timeout", "30s", *options
                ),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            started.append(proc)
            receivers.append(Receiver(host, out, proc))
    return receivers


def outcome(proc: subprocess.Popen[str]) -> Outcome:
    """Wait for ``proc`` (at most RUN_LIMIT seconds; the caller's cleanup kills it after that)."""
    out, err = proc.communicate(timeout=RUN_LIMIT)
    try:
        report = json.loads(out) if out.strip() else None
    except json.JSONDecodeError:
        report = None
    return Outcome(proc.returncode, report, err)


def transfer(
    tb: Testbed, started: list[subprocess.Popen[str]], path: Path, digest: str, hosts: range, per_host: int, root: Path
) -> dict[str, Any]:
    """``smocast send`` of ``path`` to ``per_host`` receivers on each of ``hosts``; every copy is
    checked against ``digest``, and the sender exited 0. Returns the sender's report."""
    server = start_sender(tb, started, path, "--min-receivers", str(len(hosts) * per_host))
    for rx in start_receivers(tb, started, server, hosts, per_host, root):
        assert_identical(rx, digest, path.name)
    sent = outcome(started[0])
    assert sent.code == 0 and sent.report is not None, sent.stderr
    return sent.report


def assert_identical(rx: Receiver, digest: str, name: str) -> None:
    """The receiver exited 0, reported a verified copy, and the file on disk hashes to ``digest``."""
    got = outcome(rx.proc)
    assert got.code == 0 and got.report is not None, f"receiver on h{rx.host}: exit {got.code}: {got.stderr}"
    assert got.report["verified"] is True and got.report["sha256"] == digest
    assert hashlib.sha256((rx.out / name).read_bytes()).hexdigest() == digest


@pytest.mark.root
def test_twenty_megabytes_at_two_percent_loss_reach_twelve_receivers_byte_identical(
    prefix: str, tmp_path: Path
) -> None:
    """1 sender, 4 receiver hosts with 3 receivers each, 2% loss on every receiver's link."""
    path = tmp_path / "payload.bin"
    digest = write_payload(path, 20 << 20, seed=61)
    with Testbed(prefix).running(hosts=5, loss=0.02) as tb, processes() as started:
        report = transfer(tb, started, path, digest, range(1, 5), 3, tmp_path)
        assert (report["receivers"], report["completed"], report["dropped"]) == (12, 12, 0)
        assert report["sha256"] == digest
        segments = report["segments"]
        assert segments["repair_unicast"] + segments["repair_multicast"] > 0  # the loss was real, and repaired
        assert all(h.dropped > 0 for h in tb.status().hosts[1:])  # every receiver host's loss rule fired


@pytest.mark.root
def test_quorum_lets_the_others_finish_when_a_receiver_host_is_cut_off(prefix: str, tmp_path: Path) -> None:
    """Under ``quorum:0.75`` the 9 receivers on the connected hosts finish; the cut host's 3 are dropped.

    Links run at 20 Mbit/s so that the cut lands in the middle of the 8 MB transfer (about 3.5 s),
    and the progress timeout (10 s) drops the cut receivers well after the others are done.
    """
    path = tmp_path / "payload.bin"
    digest = write_payload(path, 8 << 20, seed=62)
    with Testbed(prefix).running(hosts=5, rate="20mbit") as tb, processes() as started:
        server = start_sender(
            tb, started, path, "--min-receivers", "12", "--policy", "quorum:0.75", "--progress-timeout", "10s"
        )
        receivers = start_receivers(tb, started, server, range(1, 5), 3, tmp_path, "--idle-timeout", "5s")
        wait_for_progress(receivers)
        tb.cut(4)
        for rx in receivers:
            if rx.host != 4:
                assert_identical(rx, digest, path.name)
        sent = outcome(started[0])
        assert sent.report is not None, sent.stderr
        assert sent.code == 0  # three were dropped, but the quorum asked for (9 of 12) was met
        assert sent.report["outcome"] == "quorum 9 of 12 met: 9 completed, 3 receivers dropped"
        assert (sent.report["receivers"], sent.report["completed"], sent.report["dropped"]) == (12, 9, 3)
        rows = sent.report["per_receiver"]
        dropped = [row for row in rows if row["status"] == "dropped"]
        assert {row["address"].split(":")[0] for row in dropped} == {tb.address(4)}
        # The quorum did not wait for the cut receivers: the others completed before those were dropped.
        last_completed = max(row["ended_at_s"] for row in rows if row["status"] == "completed")
        assert last_completed < min(row["ended_at_s"] for row in dropped)
        for rx in receivers:
            if rx.host == 4:
                got = outcome(rx.proc)
                assert got.code != 0 and not (rx.out / path.name).exists()


def wait_for_progress(receivers: list[Receiver]) -> None:
    """Return once every receiver has a partial file with data in it: the transfer is under way."""
    deadline = time.monotonic() + 60
    while not all(has_data(rx.out) for rx in receivers):
        assert time.monotonic() < deadline, "the transfer did not start"
        for rx in receivers:
            assert rx.proc.poll() is None, f"receiver on h{rx.host} exited early: {outcome(rx.proc).stderr}"
        time.sleep(0.02)


def has_data(out: Path) -> bool:
    for item in out.iterdir():
        with contextlib.suppress(FileNotFoundError):  # renamed in between
            if item.stat().st_size > 0:
                return True
    return False
