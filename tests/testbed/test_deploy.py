"""Issue 13 on real namespaces: a daemon taking announced transfers, a killed receiver resuming,
IPv6 (SSM and link-local, between hosts and within one), and the rate cap across the bridge."""

from __future__ import annotations

import hashlib
import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from smocast.apps import resume
from smocast.apps.processes import processes
from smocast.secure import keyfiles
from smocast.testbed import Testbed

PORT = 47300
RUN_LIMIT = 150.0
ANNOUNCE = "239.255.77.77:5077"  # the default: each testbed is its own network


def own_fingerprint() -> str:
    """The fingerprint of this user's key (the suite's, made by the shared fixture)."""
    return keyfiles.load_identity(keyfiles.default_key_path()).public.fingerprint


def smocast(*argv: str) -> list[str]:
    return [sys.executable, "-m", "smocast.cli.main", *argv]


def payload(path: Path, size: int, seed: int) -> str:
    data = random.Random(seed).randbytes(size)
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def start(tb: Testbed, started: list[subprocess.Popen[str]], host: int, *argv: str) -> subprocess.Popen[str]:
    proc = tb.popen(host, smocast(*argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    started.append(proc)
    return proc


def finish(proc: subprocess.Popen[str], lines: bool = False) -> tuple[int, Any, str]:
    out, err = proc.communicate(timeout=RUN_LIMIT)
    if lines:
        return proc.returncode, [json.loads(line) for line in out.splitlines() if line.strip()], err
    return proc.returncode, (json.loads(out) if out.strip() else None), err


def bound(tb: Testbed, host: int, port: int, proc: subprocess.Popen[str], udp: str = "udp") -> None:
    """Wait until ``proc`` on ``host`` has bound ``port`` (read from /proc, no probe socket)."""
    deadline = time.monotonic() + 20
    suffix = f":{port:04X}"
    while True:
        table = tb.exec(host, ["cat", f"/proc/net/{udp}"], capture_output=True, text=True).stdout
        if any(line.split()[1].endswith(suffix) for line in table.splitlines()[1:] if line.strip()):
            return
        assert proc.poll() is None, f"exited: {proc.communicate()[1]}"
        assert time.monotonic() < deadline, f"nothing bound port {port} on h{host}"
        time.sleep(0.05)


@pytest.mark.root
def test_a_daemon_receives_two_announced_transfers_in_a_row(prefix: str, tmp_path: Path) -> None:
    first, second = tmp_path / "first.bin", tmp_path / "second"
    digest = payload(first, 3 << 20, seed=1)
    second.mkdir()
    digests = {f"f{i}": payload(second / f"f{i}", 100_000 * (i + 1), seed=10 + i) for i in range(5)}
    out = tmp_path / "h2-in"
    out.mkdir()
    with Testbed(prefix).running(hosts=3) as tb, processes() as started:
        daemon = start(tb, started, 2, "recvd", "-o", str(out), "--count", "2", "--json", "--interface", "eth0")
        time.sleep(1.0)
        for path, port in ((first, PORT), (second, PORT + 1)):
            sender = start(
                tb, started, 0, "send", str(path), "--group", f"232.77.13.1:{port}",
                "--bind", f"{tb.address(0)}:{port}", "--json", "--wait", "60s",
            )  # fmt: skip
            code, _, err = finish(sender)
            assert code == 0, err
        code, lines, err = finish(daemon, lines=True)
    assert code == 0, err
    assert [(line["event"], line["name"]) for line in lines] == [("received", "first.bin"), ("received", "second")]
    assert {line["server"] for line in lines} == {f"{tb.address(0)}:{PORT}", f"{tb.address(0)}:{PORT + 1}"}
    assert hashlib.sha256((out / "first.bin").read_bytes()).hexdigest() == digest
    for name, want in digests.items():
        assert hashlib.sha256((out / "second" / name).read_bytes()).hexdigest() == want


@pytest.mark.root
def test_a_receiver_killed_half_way_and_restarted_resumes_and_ends_identical(prefix: str, tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    digest = payload(path, 24 << 20, seed=2)
    out = tmp_path / "h1-in"
    out.mkdir()
    with Testbed(prefix).running(hosts=2, rate="100mbit") as tb, processes() as started:
        server = f"{tb.address(0)}:{PORT}"
        sender = start(
            tb, started, 0, "send", str(path), "--group", f"232.77.13.2:{PORT}", "--bind", server,
            "--json", "--wait", "60s", "--rate", "40mbit", "--progress-timeout", "3s", "--no-announce",
        )  # fmt: skip
        bound(tb, 0, PORT, sender)
        argv = ("recv", "--server", server, "--group", f"232.77.13.2:{PORT}", "-o", str(out), "--json")
        first = start(tb, started, 1, *argv)
        half = wait_for_state(out, (24 << 20) // 2)
        first.send_signal(signal.SIGKILL)
        first.communicate()
        (state,) = resume.states(out)
        assert state.offset >= half and not (out / "big.bin").exists()
        second = start(tb, started, 1, *argv)
        code, got, err = finish(second)
        _, sent, _ = finish(sender)
    assert code == 0, err
    assert hashlib.sha256((out / "big.bin").read_bytes()).hexdigest() == digest == got["sha256"]
    assert got["resumed_from"] >= half and [p.name for p in out.iterdir()] == ["big.bin"]
    statuses = sorted(r["status"] for r in sent["per_receiver"])
    assert statuses == ["completed", "dropped"]  # the killed connection was dropped, the resumed one completed


def wait_for_state(out: Path, at_least: int) -> int:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for state in resume.states(out):
            if state.offset >= at_least:
                return state.offset
        time.sleep(0.05)
    raise AssertionError(f"no resume state past byte {at_least}")


@pytest.mark.root
def test_ipv6_ssm_between_hosts_link_local_and_within_one_host(prefix: str, tmp_path: Path) -> None:
    path = tmp_path / "v6.bin"
    digest = payload(path, 2 << 20, seed=3)
    with Testbed(prefix).running(hosts=3, ipv6=True) as tb, processes() as started:
        link_local = tb.exec(0, ["ip", "-6", "-o", "addr", "show", "dev", "eth0", "scope", "link"],
                             capture_output=True, text=True, check=True).stdout.split()[3].split("/")[0]  # fmt: skip
        pin = ("--trust", own_fingerprint())  # a link-local address is in no known-sources file: pin the key
        cases = [
            # (server, group, receivers' hosts, receivers' extra options)
            (f"[{tb.address6(0)}]:{PORT}", f"[ff3e::13:1]:{PORT}", (1, 2), ()),
            (f"[{link_local}%eth0]:{PORT + 1}", f"[ff32::13:2]:{PORT + 1}", (1, 2), ("--interface", "eth0", *pin)),
            (f"[{tb.address6(0)}]:{PORT + 2}", f"[ff15::13:3]:{PORT + 2}", (0,), ()),  # ASM, one host
        ]
        for n, (server, group, hosts, extra) in enumerate(cases):
            port = int(server.rsplit(":", 1)[1])
            sender = start(
                tb, started, 0, "send", str(path), "--group", group, "--bind", server, "--json",
                "--wait", "60s", "--min-receivers", str(len(hosts)), "--no-announce",
            )  # fmt: skip
            bound(tb, 0, port, sender, udp="udp6")
            receivers = []
            for host in hosts:
                out = tmp_path / f"case{n}-h{host}"
                out.mkdir()
                receivers.append((out, start(tb, started, host, "recv", "--server", server, "--group", group,
                                             "-o", str(out), "--json", *extra)))  # fmt: skip
            for out, proc in receivers:
                code, got, err = finish(proc)
                assert code == 0, f"{server} {group}: {err}"
                assert got["sha256"] == digest == hashlib.sha256((out / "v6.bin").read_bytes()).hexdigest()
            code, sent, err = finish(sender)
            assert code == 0 and sent["completed"] == len(hosts), err
            addresses = [r["address"] for r in sent["per_receiver"]]
            assert all(a.startswith("[") for a in addresses)  # IPv6 addresses print as [host]:port


@pytest.mark.root
def test_an_ipv6_daemon_takes_an_announced_transfer(prefix: str, tmp_path: Path) -> None:
    path = tmp_path / "v6d.bin"
    digest = payload(path, 1 << 20, seed=4)
    out = tmp_path / "in"
    out.mkdir()
    with Testbed(prefix).running(hosts=2, ipv6=True) as tb, processes() as started:
        daemon = start(
            tb, started, 1, "recvd", "-o", str(out), "--count", "1", "--json",
            "--announce-group", "[ff15::77:77]:5077", "--interface", "eth0",
        )  # fmt: skip
        time.sleep(1.0)
        sender = start(
            tb, started, 0, "send", str(path), "--group", f"[ff3e::13:4]:{PORT}",
            "--bind", f"[{tb.address6(0)}]:{PORT}", "--json", "--wait", "60s",
        )  # fmt: skip
        code, _, err = finish(sender)
        dcode, lines, derr = finish(daemon, lines=True)
    assert code == 0 and dcode == 0, err + derr
    (line,) = lines
    assert line["event"] == "received" and line["server"] == f"[{tb.address6(0)}]:{PORT}"
    assert hashlib.sha256((out / "v6d.bin").read_bytes()).hexdigest() == digest


@pytest.mark.root
def test_the_rate_cap_holds_across_the_bridge(prefix: str, tmp_path: Path) -> None:
    path = tmp_path / "capped.bin"
    payload(path, 6 << 20, seed=5)
    with Testbed(prefix).running(hosts=3) as tb, processes() as started:
        server = f"{tb.address(0)}:{PORT}"
        sender = start(
            tb, started, 0, "send", str(path), "--group", f"232.77.13.5:{PORT}", "--bind", server, "--json",
            "--wait", "60s", "--min-receivers", "2", "--rate", "30mbit", "--no-announce",
        )  # fmt: skip
        bound(tb, 0, PORT, sender)
        receivers = []
        for host in (1, 2):
            out = tmp_path / f"h{host}"
            out.mkdir()
            receivers.append(start(tb, started, host, "recv", "--server", server, "--group",
                                   f"232.77.13.5:{PORT}", "-o", str(out), "--json"))  # fmt: skip
        for proc in receivers:
            assert finish(proc)[0] == 0
        code, sent, err = finish(sender)
    assert code == 0, err
    assert sent["goodput_bps"] <= 30e6 * 1.01
