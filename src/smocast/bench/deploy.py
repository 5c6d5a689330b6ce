"""Benchmarks of issue 13, with the real commands: per-file overhead, resume after a kill, the rate cap.

Each starts ``smocast send`` and ``smocast recv`` as processes, on loopback (127.0.0.1) or on
the namespace testbed (:class:`Place`), and reads their JSON reports:

* :func:`files`: a tree of N small files against one file of the same total size, in the
  same run; the per-file overhead is the difference over N (plus the manifest bytes per file
  and the source's time to walk and hash the tree).
* :func:`resume`: a receiver killed (SIGKILL) half way and started again: the time from the
  restart to the verified file, against the time the remaining bytes take at the cap, and an
  uninterrupted receive measured in the same run.
* :func:`rate`: goodput against ``--rate`` for several caps, and uncapped in the same run.

Both sides run ``--insecure`` (:data:`MODE`): these measure the file transfer's own costs, as
documented before the secure mode existed; ``smocast bench secure`` measures what the secure
mode costs against ``--insecure``.
"""

from __future__ import annotations

import contextlib
import json
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smocast.apps import resume as resume_state
from smocast.apps.setsource import scan
from smocast.bench.machine import busy_fraction, machine_ticks

RUN_LIMIT = 600.0
MODE = ("--insecure",)
BASE_PORT = 47600


@dataclass
class Place:
    """Where the commands run: 127.0.0.1, or the hosts of a running testbed (host 0 sends)."""

    testbed: Any = None  # a smocast.testbed.Testbed, up

    def popen(self, host: int, argv: list[str]) -> subprocess.Popen[str]:
        full = [sys.executable, "-m", "smocast.cli.main", *argv]
        if self.testbed is not None:
            proc: subprocess.Popen[str] = self.testbed.popen(
                host, full, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
            return proc
        return subprocess.Popen(full, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def address(self, host: int) -> str:
        return "127.0.0.1" if self.testbed is None else str(self.testbed.address(host))

    @property
    def name(self) -> str:
        return "loopback" if self.testbed is None else f"testbed {self.testbed.prefix}"


_ports = iter(range(BASE_PORT, BASE_PORT + 10_000))


@dataclass
class Transfer:
    """One ``send`` and its ``recv`` processes on a fresh port and group."""

    place: Place
    sender: subprocess.Popen[str]
    receivers: list[subprocess.Popen[str]]
    server: str
    group: str


def start_transfer(
    place: Place, path: Path, outs: list[Path], send_options: tuple[str, ...] = (), hosts: tuple[int, ...] = (0,)
) -> Transfer:
    """Start ``send path`` on host 0 and one ``recv`` per output directory (on ``hosts``, in turn)."""
    port = next(_ports)
    server, group = f"{place.address(0)}:{port}", f"232.77.{port % 200}.{port % 250 + 1}:{port}"
    argv = ["send", str(path), "--group", group, "--bind", server, "--json", "--no-announce", *MODE]
    sender = place.popen(0, [*argv, "--wait", "60s", "--min-receivers", str(len(outs)), *send_options])
    time.sleep(0.5)  # the sender binds; receivers that come early retry anyway
    receivers = []
    for i, out in enumerate(outs):
        out.mkdir(parents=True, exist_ok=True)
        host = hosts[i % len(hosts)]
        argv = ["recv", "--server", server, "--group", group, "-o", str(out), "--json", *MODE]
        receivers.append(place.popen(host, argv))
    return Transfer(place, sender, receivers, server, group)


def report(proc: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = proc.communicate(timeout=RUN_LIMIT)
    if proc.returncode != 0 and not out.strip():
        raise RuntimeError(f"a command failed (exit {proc.returncode}): {err.strip()[-300:]}")
    result: dict[str, Any] = json.loads(out)
    return result


def finish(transfer: Transfer) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    got = [report(p) for p in transfer.receivers]
    return report(transfer.sender), got


@contextlib.contextmanager
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="smocast-bench-") as name:
        yield Path(name)


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 6)


# --- many files ----------------------------------------------------------------------------------


def make_tree(root: Path, files: int, size: int, per_directory: int = 100) -> Path:
    rng = random.Random(1)
    tree = root / "tree"
    for i in range(files):
        folder = tree / f"d{i // per_directory:04}"
        if i % per_directory == 0:
            folder.mkdir(parents=True)
        (folder / f"f{i % per_directory:03}").write_bytes(rng.randbytes(size))
    return tree


def files(place: Place, count: int, size: int, repeat: int) -> dict[str, Any]:
    """Per-file overhead: ``count`` files of ``size`` bytes against one file of ``count * size``."""
    before = machine_ticks()
    with workdir() as root:
        tree = make_tree(root, count, size)
        single = root / "single.bin"
        single.write_bytes(random.Random(2).randbytes(count * size))
        scans = []
        for _ in range(repeat):
            began = time.perf_counter()
            source = scan([str(tree)])
            scans.append(time.perf_counter() - began)
        stream = source.manifest + b"".join(p.read_bytes() for p in source.paths if p is not None and p.is_file())
        writes = [_write_only(root / f"write-{r}", stream) for r in range(repeat)]
        runs: dict[str, list[dict[str, float]]] = {"tree": [], "single": []}
        for r in range(repeat):
            for kind, path in (("tree", tree), ("single", single)):
                sent, (got,) = finish(start_transfer(place, path, [root / f"out-{kind}-{r}"]))
                runs[kind].append({"receive_s": got["transfer_time_s"], "send_s": sent["wall_time_s"]})
    tree_s = _median([x["receive_s"] for x in runs["tree"]])
    single_s = _median([x["receive_s"] for x in runs["single"]])
    return {
        "benchmark": "files",
        "place": place.name,
        "files": count,
        "file_bytes": size,
        "repeat": repeat,
        "manifest_bytes": len(source.manifest),
        "manifest_bytes_per_file": round(len(source.manifest) / count, 1),
        "scan_s": _median(scans),
        "scan_per_file_us": round(_median(scans) / count * 1e6, 1),
        "write_only_s": _median(writes),
        "write_only_per_file_us": round(_median(writes) / count * 1e6, 1),
        "receive_tree_s": tree_s,
        "receive_single_s": single_s,
        "per_file_overhead_us": round((tree_s - single_s) / count * 1e6, 1),
        "ratio_tree_to_single": round(tree_s / single_s, 2) if single_s else None,
        "runs": runs,
        "machine_busy": busy_fraction(before, machine_ticks()),
    }


def _write_only(out: Path, stream: bytes) -> float:
    """Seconds to write the set from memory into ``out`` (no network): the receiver's disk work."""
    from smocast.apps.safepath import OutputDir  # noqa: PLC0415
    from smocast.apps.setplan import WritePolicy  # noqa: PLC0415
    from smocast.apps.setsink import SetWriter  # noqa: PLC0415

    out.mkdir()
    began = time.perf_counter()
    with OutputDir(out) as output:
        writer = SetWriter(output, WritePolicy(), "bench")
        for at in range(0, len(stream), 1 << 18):
            writer.feed(stream[at : at + (1 << 18)])
        writer.finish()
    return time.perf_counter() - began


# --- resume after a kill -------------------------------------------------------------------------


def _wait_for_state(out: Path, at_least: int, proc: subprocess.Popen[str]) -> int:
    deadline = time.monotonic() + RUN_LIMIT
    while time.monotonic() < deadline:
        for state in resume_state.states(out):
            if state.offset >= at_least:
                return state.offset
        if proc.poll() is not None:
            raise RuntimeError(f"the receiver ended before half way: {proc.communicate()[1][-300:]}")
        time.sleep(0.02)
    raise RuntimeError("no progress to half way")


def resume(place: Place, size: int, rate: str, progress_timeout: str, repeat: int) -> dict[str, Any]:
    """A receiver killed half way and restarted; against an uninterrupted receive in the same run."""
    before = machine_ticks()
    options = ("--rate", rate, "--progress-timeout", progress_timeout)
    runs = []
    with workdir() as root:
        path = root / "big.bin"
        path.write_bytes(random.Random(3).randbytes(size))
        for r in range(repeat):
            _, (whole,) = finish(start_transfer(place, path, [root / f"whole-{r}"], options, hosts=(1,)))
            killed = _killed_run(place, path, root / f"killed-{r}", options)
            runs.append(killed | {"uninterrupted_s": whole["wall_time_s"]})
    return {
        "benchmark": "resume",
        "place": place.name,
        "bytes": size,
        "rate": rate,
        "progress_timeout": progress_timeout,
        "repeat": repeat,
        "restart_to_done_s": _median([x["restart_to_done_s"] for x in runs]),
        "restart_to_first_byte_s": _median([x["restart_to_first_byte_s"] for x in runs]),
        "remaining_at_the_cap_s": _median([x["remaining_at_the_cap_s"] for x in runs]),
        "uninterrupted_s": _median([x["uninterrupted_s"] for x in runs]),
        "runs": runs,
        "machine_busy": busy_fraction(before, machine_ticks()),
    }


def _killed_run(place: Place, path: Path, out: Path, options: tuple[str, ...]) -> dict[str, float]:
    from smocast.core.units import parse_rate  # noqa: PLC0415

    size = path.stat().st_size
    transfer = start_transfer(place, path, [out], options, hosts=(1,))
    (first,) = transfer.receivers
    _wait_for_state(out, size // 2, first)
    first.send_signal(signal.SIGKILL)
    first.communicate()
    restarted = time.monotonic()
    argv = ["recv", "--server", transfer.server, "--group", transfer.group, "-o", str(out), "--json", *MODE]
    second = place.popen(1, argv)
    got = report(second)
    done = time.monotonic() - restarted
    report(transfer.sender)
    remaining = size - got["resumed_from"]
    return {
        "resumed_from": got["resumed_from"],
        "restart_to_done_s": round(done, 3),
        "restart_to_first_byte_s": round(done - got["transfer_time_s"], 3),
        "remaining_at_the_cap_s": round(remaining * 8 / parse_rate(options[1]), 3),
    }


# --- the rate cap ----------------------------------------------------------------------------------


def rate(place: Place, caps: list[str], size: int, receivers: int, repeat: int) -> dict[str, Any]:
    """Goodput with each ``--rate`` cap (and uncapped), ``receivers`` receivers, medians of ``repeat``."""
    from smocast.core.units import parse_rate  # noqa: PLC0415

    before = machine_ticks()
    hosts = tuple(range(1, receivers + 1)) if place.testbed is not None else (0,)
    rows = []
    with workdir() as root:
        path = root / "data.bin"
        path.write_bytes(random.Random(4).randbytes(size))
        for cap in [*caps, None]:
            goodputs = []
            for r in range(repeat):
                outs = [root / f"{cap}-{r}-{i}" for i in range(receivers)]
                sent, _ = finish(start_transfer(place, path, outs, ("--rate", cap) if cap else (), hosts=hosts))
                goodputs.append(float(sent["goodput_bps"]))
            row: dict[str, Any] = {"cap": cap, "goodput_bps": _median(goodputs), "runs_bps": goodputs}
            if cap is not None:
                row["ratio_to_cap"] = round(row["goodput_bps"] / parse_rate(cap), 3)
            rows.append(row)
    return {
        "benchmark": "rate",
        "place": place.name,
        "bytes": size,
        "receivers": receivers,
        "repeat": repeat,
        "rows": rows,
        "machine_busy": busy_fraction(before, machine_ticks()),
    }
