"""Building, reaching and removing a testbed, also after a crash."""

from __future__ import annotations

import itertools
import subprocess
import sys
import time
from pathlib import Path

import pytest

from smocast.testbed import Testbed, TestbedError, shaping


def namespaces() -> set[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


def ours(prefix: str) -> set[str]:
    return {name for name in namespaces() if name.startswith(f"{prefix}-")}


@pytest.mark.root
def test_up_creates_hosts_that_reach_each_other_and_down_removes_them(prefix: str) -> None:
    tb = Testbed(prefix).up(3)
    assert ours(prefix) == {f"{prefix}-sw", f"{prefix}-h0", f"{prefix}-h1", f"{prefix}-h2"}
    assert [tb.address(i) for i in range(3)] == ["10.77.0.1", "10.77.0.2", "10.77.0.3"]
    for a, b in itertools.permutations(range(3), 2):
        assert tb.ping(a, b), f"host {a} cannot reach host {b}"
    shown = tb.exec(1, ["ip", "-br", "addr", "show", tb.interface], capture_output=True, text=True, check=True)
    assert "10.77.0.2/16" in shown.stdout
    routes = tb.exec(1, ["ip", "route", "show", "224.0.0.0/4"], capture_output=True, text=True, check=True)
    assert f"dev {tb.interface}" in routes.stdout
    assert set(tb.down()) == {f"{prefix}-sw", f"{prefix}-h0", f"{prefix}-h1", f"{prefix}-h2"}
    assert ours(prefix) == set()
    assert tb.down() == []  # twice is fine


@pytest.mark.root
def test_down_after_a_crash_removes_namespaces_and_their_processes(prefix: str) -> None:
    crash = (
        f"import os, subprocess\nfrom smocast.testbed import Testbed\ntb = Testbed({prefix!r}).up(2)\n"
        "p = tb.popen(1, ['sh', '-c', 'echo started; exec sleep 60'], stdout=subprocess.PIPE)\n"
        "p.stdout.readline()\nos._exit(3)\n"
    )
    assert subprocess.run([sys.executable, "-c", crash], check=False).returncode == 3
    assert len(ours(prefix)) == 3
    pids = subprocess.run(
        ["ip", "netns", "pids", f"{prefix}-h1"], capture_output=True, text=True, check=True
    ).stdout.split()
    assert pids, "the left-over process should still run inside the namespace"
    assert len(Testbed(prefix).down()) == 3  # a fresh object: no state from the crashed one
    assert ours(prefix) == set()
    deadline = time.monotonic() + 5
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not any(alive(pid) for pid in pids), "a process left in the namespace survived down()"


def alive(pid: str) -> bool:
    """Whether ``pid`` runs (a zombie awaiting its reaper counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.root
def test_up_refuses_a_prefix_in_use_and_leaves_it_alone(prefix: str) -> None:
    with Testbed(prefix).running(hosts=2) as tb:
        with pytest.raises(TestbedError, match="already up"):
            Testbed(prefix).up(2)
        assert len(ours(prefix)) == 3
        assert tb.ping(0, 1)


@pytest.mark.root
def test_running_cleans_up_when_the_body_fails(prefix: str) -> None:
    with pytest.raises(RuntimeError), Testbed(prefix).running(hosts=2):
        raise RuntimeError("a failing test body")
    assert ours(prefix) == set()


@pytest.mark.root
def test_exec_passes_the_exit_code_through_and_rejects_unknown_hosts(prefix: str) -> None:
    with Testbed(prefix).running(hosts=2) as tb:
        assert tb.exec("h1", ["sh", "-c", "exit 7"]).returncode == 7
        assert tb.exec(f"{prefix}-h0", ["true"]).returncode == 0
        with pytest.raises(TestbedError, match="no host 2"):
            tb.exec(2, ["true"])


@pytest.mark.root
def test_a_failed_up_removes_what_it_built(prefix: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise TestbedError("simulated failure while shaping")

    monkeypatch.setattr(shaping, "set_rate", broken)
    with pytest.raises(TestbedError, match="simulated failure"):
        Testbed(prefix).up(3, rate="10mbit")
    assert ours(prefix) == set()
