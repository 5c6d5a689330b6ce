"""Counting allocations with a uprobe on ``PyObject_Malloc``: perf's output, the clear errors, and
(as root, with perf) that the counter counts what a child allocates and nothing else."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from smocast.bench import allocations, receive_core
from smocast.bench.allocations import AllocationCountError

EVENT = "smocast42:pymalloc"
PERF_CSV = f"# started on Mon Nov 30 16:51:59 2026\n\n19751,,{EVENT},241558275,100.00,,\n"


def test_the_count_is_the_first_field_of_the_events_line() -> None:
    other = "7,,other:event,1,100.00,,\n"
    assert allocations.parse_count(other + PERF_CSV, EVENT) == 19751


@pytest.mark.parametrize("value", ["<not counted>", "<not supported>"])
def test_an_event_perf_did_not_count_is_an_error(value: str) -> None:
    with pytest.raises(AllocationCountError, match="did not count"):
        allocations.parse_count(f"{value},,{EVENT},0,100.00,,\n", EVENT)


def test_output_without_the_event_is_an_error() -> None:
    with pytest.raises(AllocationCountError, match="no line for"):
        allocations.parse_count("# started on Mon\n\n", EVENT)


def test_the_probe_goes_on_libpython_when_the_interpreter_maps_it() -> None:
    lib = "/opt/python/lib/libpython3.11.so.1.0"
    maps = f"7f00-7f10 r-xp 00000000 08:01 12 {lib}\n7f10-7f20 r--p 00000000 08:01 13 /usr/lib/libc.so.6\n"
    assert allocations.interpreter_object(maps, "/usr/bin/python3") == lib
    static = "5500-5600 r-xp 00000000 08:01 11 /usr/bin/python3.11\n7f00-7f10 rw-p 00000000 00:00 0\n"
    assert allocations.interpreter_object(static, "/usr/bin/python3.11") == "/usr/bin/python3.11"


def test_without_perf_the_error_says_how_to_install_it() -> None:
    with pytest.raises(AllocationCountError, match="apt install linux-perf"):
        allocations.check_ready(which=lambda _: None, euid=lambda: 0)


def test_without_root_the_error_says_so() -> None:
    with pytest.raises(AllocationCountError, match="needs root"):
        allocations.check_ready(which=lambda _: "/usr/bin/perf", euid=lambda: 1000)
    assert allocations.check_ready(which=lambda _: "/usr/bin/perf", euid=lambda: 0) == "/usr/bin/perf"


class FakePerf:
    """Records perf's command lines; ``probe -a`` fails with ``refusal`` when given."""

    def __init__(self, refusal: str | None = None) -> None:
        self.commands: list[list[str]] = []
        self.refusal = refusal

    def __call__(self, argv: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        self.commands.append(argv)
        if "-a" in argv and self.refusal is not None:
            return subprocess.CompletedProcess(argv, 1, "", self.refusal)
        return subprocess.CompletedProcess(argv, 0, "", "")


def test_a_refused_probe_is_a_clear_error_and_nothing_is_left_to_delete() -> None:
    perf = FakePerf(refusal="Failed to find symbol PyObject_Malloc")
    with (
        pytest.raises(AllocationCountError, match=r"could not add a uprobe.*Failed to find symbol"),
        allocations.probe("perf", "/usr/bin/python3.11", perf),
    ):
        pass
    assert len(perf.commands) == 1


def test_the_probe_is_deleted_when_the_run_fails() -> None:
    perf = FakePerf()
    with (
        pytest.raises(RuntimeError, match="the child broke"),
        allocations.probe("perf", "/lib/libpython.so", perf) as event,
    ):
        raise RuntimeError("the child broke")
    group = event.split(":")[0]
    assert perf.commands[-1] == ["perf", "probe", "-q", "-d", f"{group}:*"]
    assert perf.commands[0][-1] == f"{event}=PyObject_Malloc"


def test_the_report_gives_allocations_per_datagram_and_their_ratio(monkeypatch: pytest.MonkeyPatch) -> None:
    counts = {receive_core.THIS_SRC: 3000, "/elsewhere/src": 12000}

    def counted(argv: list[str], env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], int]:
        assert argv[-1] == "1"  # the child's allocations mode
        return subprocess.CompletedProcess(argv, 0, "{}", ""), counts[env["PYTHONPATH"]]

    monkeypatch.setattr(receive_core, "check_ready", lambda: "perf")
    monkeypatch.setattr(receive_core, "run_counted", counted)
    monkeypatch.setattr(receive_core, "_child", lambda *_, **__: {"us_per_datagram": 1.0})
    settings = receive_core.CoreSettings(
        [0.0], datagrams=300, repeat=1, baseline_src="/elsewhere/src", allocations=True
    )
    (row,) = receive_core.run(settings)["rows"]
    assert row["this"]["allocations_per_datagram"] == 10.0
    assert row["baseline"]["allocations_per_datagram"] == 40.0
    assert row["allocations_this_over_baseline"] == 0.25


def test_the_command_says_what_is_missing_without_perf(tmp_path: Path) -> None:
    env = dict(os.environ, PATH=str(tmp_path))  # no perf on it
    argv = [sys.executable, "-m", "smocast.cli.main", "bench", "receive-core", "--allocations", "--datagrams", "50"]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 1
    assert "apt install linux-perf" in done.stderr
    assert done.stdout == ""


ALLOCATOR = """
import itertools, os, sys

def command(text):
    control = os.open(os.environ["SMOCAST_PERF_CONTROL"], os.O_WRONLY)
    ack = os.open(os.environ["SMOCAST_PERF_ACK"], os.O_RDONLY)
    os.write(control, text)
    os.read(ack, 64)
    os.close(control)
    os.close(ack)

count = int(sys.argv[1])
before = [object() for _ in itertools.repeat(None, 50000)]  # not counted
command(b"enable\\n")
kept = [object() for _ in itertools.repeat(None, count)]
command(b"disable\\n")
after = [object() for _ in itertools.repeat(None, 50000)]  # not counted
"""


def _perf_skip_reason() -> str | None:
    perf = shutil.which("perf")
    if perf is None:
        return "needs perf (apt install linux-perf)"
    if subprocess.run([perf, "--version"], capture_output=True, check=False).returncode != 0:
        return "perf is installed but does not run (no build for this kernel?)"
    if os.geteuid() != 0:
        return "needs root for uprobes"
    if not Path("/sys/kernel/tracing/uprobe_events").exists():
        return "the kernel has no uprobes (or tracefs is not mounted)"
    return None


@pytest.mark.root
@pytest.mark.skipif(_perf_skip_reason() is not None, reason=str(_perf_skip_reason()))
def test_the_counter_counts_the_objects_allocated_between_enable_and_disable(tmp_path: Path) -> None:
    script = tmp_path / "allocator.py"
    script.write_text(ALLOCATOR)
    counts = {}
    for k in (20000, 40000):
        done, counts[k] = allocations.run_counted([sys.executable, str(script), str(k)], dict(os.environ))
        assert done.returncode == 0, done.stderr
    assert 20000 <= counts[20000] < 21000
    assert 40000 <= counts[40000] < 41000
    assert counts[40000] / counts[20000] == pytest.approx(2, rel=0.05)
    listed = subprocess.run(["perf", "probe", "-l"], capture_output=True, text=True, check=False)
    assert f"smocast{os.getpid()}:" not in listed.stdout + listed.stderr
