"""The rate cap holds while a receiver that resumed is caught up from the file: real processes on
loopback multicast, the source's egress counted by an nftables rule (root)."""

from __future__ import annotations

import itertools
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from tests.aio.netutil import loopback, payload, sha
from tests.apps.cmd import commands, finish, recv

pytestmark = [pytest.mark.network, pytest.mark.root]

CAP = 40e6
TABLE = "smocast_test_catch_up"
QUARTER = 0.25  # seconds per egress sample


def _nft(*args: str) -> str:
    return subprocess.run(["nft", *args], capture_output=True, text=True, check=True).stdout


def _egress(port: int, stop: threading.Event, samples: list[tuple[float, int]]) -> None:
    """Sample the bytes the source sent from ``port`` every quarter second until ``stop``."""
    while not stop.is_set():
        listing = _nft("list", "chain", "inet", TABLE, "out")
        samples.append((time.monotonic(), int(listing.split(" bytes ")[1].split()[0])))
        time.sleep(QUARTER)


def test_a_receiver_caught_up_from_the_file_keeps_the_source_within_its_rate(tmp_path: Path) -> None:
    net = loopback()
    data = payload(16_000_000, seed=21)
    (tmp_path / "big.bin").write_bytes(data)
    _nft("add", "table", "inet", TABLE)
    stop, samples = threading.Event(), []  # type: ignore[var-annotated]
    try:
        _nft("add", "chain", "inet", TABLE, "out", "{ type filter hook output priority 0; }")
        _nft("add", "rule", "inet", TABLE, "out", "udp", "sport", str(net.server[1]), "counter")
        sampler = threading.Thread(target=_egress, args=(net.server[1], stop, samples), daemon=True)
        with commands() as run:
            sender = run.sender(
                net, str(tmp_path / "big.bin"), "--no-announce", "--min-receivers", "2", "--wait", "30s",
                "--rate", "40mbit", "--progress-timeout", "1s",
            )  # fmt: skip
            first = recv(run, net, tmp_path / "first")
            killed = recv(run, net, tmp_path / "second")
            sampler.start()
            time.sleep(1.0)
            killed.send_signal(signal.SIGKILL)
            killed.communicate()
            time.sleep(1.5)  # the source drops it and goes on: the resume point falls below its buffer
            code, got, err = finish(recv(run, net, tmp_path / "second"))
            fcode, _, ferr = finish(first)
            _scode, sent, serr = finish(sender)
    finally:
        stop.set()
        subprocess.run(["nft", "delete", "table", "inet", TABLE], capture_output=True, check=False)
    assert code == fcode == 0, err + ferr
    assert (tmp_path / "first" / "big.bin").read_bytes() == data
    assert (tmp_path / "second" / "big.bin").read_bytes() == data and got["sha256"] == sha(data)
    assert got["resumed_from"] > 0, serr
    assert sent["catch_up"]["bytes"] > CAP / 8 * QUARTER  # more than a quarter second's worth came from the file
    rates = [(b2 - b1) * 8 / (t2 - t1) for (t1, b1), (t2, b2) in itertools.pairwise(samples)]
    moving = [(t, b) for t, b in samples if b > samples[0][1]]
    used = (moving[-1][1] - moving[0][1]) * 8 / (moving[-1][0] - moving[0][0])
    assert used >= 0.5 * CAP, f"the source averaged {used / 1e6:.1f} Mbit/s: a stalled catch-up leaves the cap unused"
    assert max(rates) <= 1.25 * CAP  # counted with IP and UDP headers, and repairs go first and are paid back after
