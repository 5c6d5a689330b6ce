"""A relay hierarchy in testbed hosts: ``smocast send``, ``smocast relay`` and ``smocast recv`` processes.

Host 0 is the root, hosts 1 and 2 are relays, and each relay serves three receiver hosts
(3-5 behind relay 1, 6-8 behind relay 2). Every link is shaped to 40 Mbit/s so that a
transfer lasts a few seconds and a relay can be killed in the middle of it. Every process
is killed on the way out, and the testbed (prefix ``rly...``) is torn down.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tests.testbed.test_transfer import (
    Outcome,
    Receiver,
    assert_identical,
    has_data,
    outcome,
    smocast,
    udp_port_bound,
    write_payload,
)

from smocast.apps.processes import processes
from smocast.testbed import Testbed

pytestmark = [pytest.mark.root, pytest.mark.timeout(180)]

HOSTS = 9
RATE = "40mbit"
SIZE = 4 << 20
KILL_SIZE = 16 << 20  # more than the root can have in flight (4 MiB windows), so the root outlives the fail-over
LEAVES = {1: range(3, 6), 2: range(6, 9)}  # relay host -> its receiver hosts
_serial = itertools.count()


@dataclass(frozen=True)
class Server:
    host: int
    address: str
    group: str

    @property
    def fallback(self) -> str:
        return f"{self.address}@{self.group}"


@pytest.fixture
def rly_prefix() -> Iterator[str]:
    """A testbed prefix of this test alone (``rly`` + pid + serial), always torn down."""
    name = f"rly{os.getpid() % 1000}{next(_serial) % 100}"
    try:
        yield name
    finally:
        Testbed(name).down()


def server(tb: Testbed, host: int) -> Server:
    port = 47300 + host
    return Server(host, f"{tb.address(host)}:{port}", f"232.77.5.{host + 1}:{port}")


def bound(tb: Testbed, node: Server) -> bool:
    """Is a UDP socket bound to the server's port in its host?"""
    return udp_port_bound(tb, node.host, int(node.address.split(":")[1]))


def wait_bound(tb: Testbed, node: Server, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 20
    while not bound(tb, node):
        assert proc.poll() is None, f"h{node.host} exited with {proc.returncode}: {proc.communicate()[1]}"
        assert time.monotonic() < deadline, f"h{node.host} did not bind {node.address}"
        time.sleep(0.05)


def start(tb: Testbed, started: list[subprocess.Popen[str]], host: int, *argv: str) -> subprocess.Popen[str]:
    proc = tb.popen(host, smocast(*argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    started.append(proc)
    return proc


def start_hierarchy(
    tb: Testbed, started: list[subprocess.Popen[str]], path: Path, out: Path, leaf_options: dict[int, list[str]]
) -> tuple[dict[int, subprocess.Popen[str]], list[Receiver]]:
    """Root on h0, relays on h1 and h2, a receiver on each of h3-h8; returns (servers by host, receivers)."""
    root = server(tb, 0)
    procs = {
        0: start(
            tb,
            started,
            0,
            "send",
            str(path),
            "--group",
            root.group,
            "--bind",
            root.address,
            "--json",
            "--wait",
            "60s",
            "--min-receivers",
            "2",
            "--progress-timeout",
            "8s",
        )
    }
    wait_bound(tb, root, procs[0])
    for host in LEAVES:
        relay = server(tb, host)
        procs[host] = start(
            tb,
            started,
            host,
            "relay",
            "--upstream",
            root.address,
            "--upstream-group",
            root.group,
            "--group",
            relay.group,
            "--bind",
            relay.address,
            "--min-receivers",
            "3",
            "--json",
        )
        wait_bound(tb, relay, procs[host])
    receivers = []
    for relay_host, hosts in LEAVES.items():
        relay = server(tb, relay_host)
        for host in hosts:
            (out / f"h{host}").mkdir()
            proc = start(
                tb,
                started,
                host,
                "recv",
                "--server",
                relay.address,
                "--group",
                relay.group,
                "-o",
                str(out / f"h{host}"),
                "--json",
                "--timeout",
                "30s",
                *leaf_options.get(relay_host, []),
            )
            receivers.append(Receiver(host, out / f"h{host}", proc))
    return procs, receivers


def relay_report(proc: subprocess.Popen[str]) -> dict[str, Any]:
    """The relay exited 0 and printed its JSON report."""
    got: Outcome = outcome(proc)
    assert got.code == 0 and got.report is not None, f"relay: exit {got.code}: {got.stderr}"
    return got.report


def test_a_file_is_byte_identical_at_every_leaf_of_two_relays(rly_prefix: str, tmp_path: Path) -> None:
    path = tmp_path / "payload.bin"
    digest = write_payload(path, SIZE, seed=81)
    with Testbed(rly_prefix).running(hosts=HOSTS, rate=RATE) as tb, processes() as started:
        procs, receivers = start_hierarchy(tb, started, path, tmp_path, {})
        for rx in receivers:
            assert_identical(rx, digest, path.name)
        for host, leaves in LEAVES.items():
            got = relay_report(procs[host])
            assert (got["completed"], got["dropped"]) == (3, 0)
            assert {row["address"].split(":")[0] for row in got["per_receiver"]} == {tb.address(h) for h in leaves}
        sent = outcome(procs[0])
        assert sent.code == 0 and sent.report is not None, sent.stderr
        assert (sent.report["receivers"], sent.report["completed"], sent.report["sha256"]) == (2, 2, digest)


def test_the_receivers_of_a_killed_relay_fail_over_and_finish_byte_identical(rly_prefix: str, tmp_path: Path) -> None:
    """Relay h1 is killed once its receivers hold part of the file: they resume at relay h2 (from its
    history), else at the root, and every one of the six still ends with the exact file.

    Relay h2 is still receiving when they arrive: the root drops the dead relay within a second
    (its first probe to h1 draws an ICMP port unreachable; without one, its 8 s progress timeout
    would), and the receivers give h1 up after 2 s. While they catch up from h2's history, h2's
    upstream window stays shut: the root's progress timeout must outlast that, or it drops h2
    ("receive window shut")."""
    path = tmp_path / "payload.bin"
    digest = write_payload(path, KILL_SIZE, seed=82)
    with Testbed(rly_prefix).running(hosts=HOSTS, rate=RATE) as tb, processes() as started:
        fallback = f"{server(tb, 2).fallback},{server(tb, 0).fallback}"
        options = {1: ["--fallback", fallback, "--source-timeout", "2s"]}
        procs, receivers = start_hierarchy(tb, started, path, tmp_path, options)
        wait_for_progress(receivers)
        procs[1].kill()
        for rx in receivers:
            assert_identical(rx, digest, path.name)
        rows = relay_report(procs[2])["per_receiver"]
        resumed = {row["address"].split(":")[0] for row in rows if row["start"] > 0}
        assert resumed == {tb.address(h) for h in LEAVES[1]}  # the killed relay's receivers, mid-stream
        assert all(row["status"] == "completed" for row in rows) and len(rows) == 6
        sent = outcome(procs[0])
        assert sent.report is not None and (sent.report["completed"], sent.report["dropped"]) == (1, 1)


def wait_for_progress(receivers: list[Receiver]) -> None:
    """Return once every receiver holds a partial file with data in it: the transfer is under way."""
    deadline = time.monotonic() + 60
    while not all(has_data(rx.out) for rx in receivers):
        assert time.monotonic() < deadline, "the transfer did not start"
        for rx in receivers:
            assert rx.proc.poll() is None, f"receiver on h{rx.host} exited early: {outcome(rx.proc).stderr}"
        time.sleep(0.02)
