"""``smocast bench peers``: one file to N receivers on the testbed, smocast side by side with
udpcast, UFTP and N parallel TCP transfers.

One testbed for the whole call: host 0 sends, receiver i runs on host i (one receiver per
host, each in its own network namespace), host 0's egress is shaped to ``rate`` by tc tbf
(or left unlimited), and each receiver host drops ``loss`` of its incoming UDP. For each group
size N, ``repeat`` rounds run every peer once in turn (smocast, udpcast, uftp, tcp, smocast,
udpcast, ...), so slow phases of a shared machine fall on all peers alike, and each round
gives one pair of runs to compare. What each run records is in :mod:`smocast.bench.peers_report`;
how each peer is run, in :mod:`smocast.bench.peers_tools`.

Every smocast process runs with its bytecode cached, as an installed copy does: the package is
compiled before the first run, and ``PYTHONDONTWRITEBYTECODE`` is dropped from the processes'
environment (with it set and no ``__pycache__``, each of 33 processes would compile every
module it imports at each start, and the benchmark would measure the compiler).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import smocast
from smocast.apps.processes import processes
from smocast.bench import peers_report, startup
from smocast.bench.bytecode import compile_trees
from smocast.bench.fanout import require_root, write_payload
from smocast.bench.fanout_runs import RUN_LIMIT, Transfer, cpu_count, egress_bytes
from smocast.bench.peers_egress import wire_egress
from smocast.bench.peers_procs import Sampler
from smocast.bench.peers_tools import PEERS, Measured, RunContext
from smocast.core.congestion import controller_factory
from smocast.core.units import parse_rate
from smocast.testbed import Testbed
from smocast.testbed.layout import MAX_HOSTS, validate_prefix
from smocast.testbed.runner import TestbedError

DEFAULT_PREFIX = "bpe"
DEFAULT_PEERS = ("smocast", "udpcast", "uftp", "tcp")
PORT = 47600  # run k uses ports PORT + 4k .. PORT + 4k + 3
UNLIMITED = ("unlimited", "none", "0")
MIN_MTU, MAX_MTU = 1280, 9000

Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class PeersSettings:
    receivers: list[int] = field(default_factory=lambda: [1, 4, 16, 32])
    size: int = 20 << 20
    rate: str = "100mbit"  # or "unlimited"
    loss: float = 0.0
    repeat: int = 3
    mtu: int = 1500
    peers: list[str] = field(default_factory=lambda: list(DEFAULT_PEERS))
    prefix: str = DEFAULT_PREFIX
    seed: int = 1
    startup_runs: int = 5  # 0: do not measure smocast recv's start-up
    baseline_src: str | None = None  # the src folder smocast-baseline runs from
    congestion: str | None = None  # smocast send's --congestion; None: its default
    send_rate: str | None = None  # smocast send's --rate (a ceiling on new data); None: no ceiling
    reorder: float = 0.0  # the share of UDP towards each receiver that takes a slower lane (testbed.reorder)

    def __post_init__(self) -> None:
        if not self.receivers or min(self.receivers) < 1:
            raise ValueError("every group size must be at least 1")
        if max(self.receivers) >= MAX_HOSTS:
            raise ValueError(f"at most {MAX_HOSTS - 1} receivers: each gets its own testbed host")
        if self.size < 1:
            raise ValueError("the file must not be empty")
        if self.repeat < 1:
            raise ValueError("--repeat must be at least 1")
        self._check_impairments()
        if not MIN_MTU <= self.mtu <= MAX_MTU:
            raise ValueError(f"--mtu must be in {MIN_MTU}..{MAX_MTU}, got {self.mtu}")
        unknown = [p for p in self.peers if p not in PEERS]
        if unknown or not self.peers or len(set(self.peers)) != len(self.peers):
            raise ValueError(f"--peers takes distinct names among {', '.join(PEERS)}; got {','.join(self.peers)}")
        if ("smocast-baseline" in self.peers) != (self.baseline_src is not None):
            raise ValueError("the peer smocast-baseline and --baseline-src DIR go together")
        if self.baseline_src is not None and not (Path(self.baseline_src) / "smocast").is_dir():
            raise ValueError(f"--baseline-src {self.baseline_src}: no smocast package in it")
        if self.startup_runs < 0:
            raise ValueError("--startup-runs must not be negative")
        self._check_smocast_options()
        if self.rate_bps is not None and self.rate_bps < 8000:
            raise ValueError(f"--rate {self.rate!r} is below 8 kbit/s")
        validate_prefix(self.prefix)

    def _check_impairments(self) -> None:
        if not 0.0 <= self.loss < 1.0:
            raise ValueError(f"--loss must be in [0, 1), got {self.loss}")
        if not 0.0 <= self.reorder < 1.0:
            raise ValueError(f"--reorder must be in [0, 1), got {self.reorder}")
        if self.reorder and self.rate == "unlimited":
            raise ValueError("--reorder needs a link rate (--rate): the slow lane runs at a share of it")

    def _check_smocast_options(self) -> None:
        if self.congestion is not None:
            controller_factory(self.congestion)  # a ConfigError naming the known controllers
        if self.send_rate is not None and parse_rate(self.send_rate) < 8000:
            raise ValueError(f"--smocast-rate {self.send_rate!r} is below 8 kbit/s")

    def smocast_send_options(self) -> tuple[str, ...]:
        """The options of ``smocast send`` these settings add to its defaults."""
        congestion = () if self.congestion is None else ("--congestion", self.congestion)
        return congestion + (() if self.send_rate is None else ("--rate", self.send_rate))

    @property
    def rate_bps(self) -> float | None:
        """The sender's link rate in bit/s, or None for an unshaped link."""
        return None if self.rate.lower() in UNLIMITED else parse_rate(self.rate)


def available_peers(settings: PeersSettings) -> tuple[list[str], list[dict[str, Any]]]:
    """The peers that can run here, and for each other one what is missing and how to install it."""
    ready, skipped = [], []
    for name in settings.peers:
        missing = PEERS[name].missing()
        if missing:
            skipped.append({"peer": name, "missing": missing, "install": PEERS[name].install})
        else:
            ready.append(name)
    return ready, skipped


def run(settings: PeersSettings, progress: Progress = lambda _: None) -> dict[str, Any]:
    """Measure every available peer at every N, interleaved, ``repeat`` times; the JSON report."""
    require_root()
    ready, skipped = available_peers(settings)
    for skip in skipped:
        progress(f"skipping {skip['peer']}: {', '.join(skip['missing'])} not found; install with `{skip['install']}`")
    if not ready:
        raise TestbedError("none of the peers asked for can run here")
    boot = recv_startup(settings.startup_runs) if settings.startup_runs and "smocast" in ready else None
    rows = []
    with (
        tempfile.TemporaryDirectory(prefix="smocast-peers-") as tmp,
        Testbed(settings.prefix).running(hosts=1 + max(settings.receivers), loss=settings.loss) as tb,
        processes() as anchors,
    ):
        _shape(tb, settings)
        anchors.append(tb.popen(0, ["sleep", "infinity"], text=True))  # a process in host 0: its counters
        payload = Path(tmp) / "payload.bin"
        digest = write_payload(payload, settings.size, settings.seed)
        compile_trees(_smocast_packages(settings, ready))
        bench = _Bench(tb, anchors[0].pid, payload, digest, settings, Path(tmp), progress)
        rows = [bench.group_size(n, ready) for n in settings.receivers]
    return _report(settings, ready, skipped, rows, boot)


def _smocast_packages(settings: PeersSettings, ready: list[str]) -> list[Path]:
    """The smocast packages the runs import: this one, and the baseline tree's if it runs."""
    packages = [Path(smocast.__file__).parent] if "smocast" in ready else []
    if settings.baseline_src is not None and "smocast-baseline" in ready:
        packages.append(Path(settings.baseline_src).resolve() / "smocast")
    return packages


def recv_startup(runs: int) -> dict[str, Any]:
    """``bench startup``'s measure of a whole secure ``smocast recv`` (what a receiver pays), ``runs`` times.

    No root: a secure source of a tiny file on loopback, as ``bench startup`` runs it."""
    return startup.run(runs, cases=[startup.SECURE_RECEIVE])


def _shape(tb: Testbed, settings: PeersSettings) -> None:
    if settings.mtu != 1500:
        tb.set_mtu(settings.mtu)
    if settings.rate_bps is not None:
        tb.set_rate(0, settings.rate)
    if settings.reorder:
        for host in range(1, 1 + max(settings.receivers)):
            tb.set_reorder(host, settings.reorder, settings.rate)


@dataclass
class _Bench:
    tb: Testbed
    anchor_pid: int
    payload: Path
    digest: str
    settings: PeersSettings
    tmp: Path
    progress: Progress
    runs_done: int = 0

    @property
    def baseline_path(self) -> str | None:
        src = self.settings.baseline_src
        return str(Path(src).resolve()) if src is not None else None

    def group_size(self, n: int, peers: list[str]) -> dict[str, Any]:
        """Every round of every peer at group size ``n``; the runs, medians and ratios."""
        by_peer: dict[str, list[dict[str, Any]]] = {peer: [] for peer in peers}
        for round_ in range(1, self.settings.repeat + 1):
            for peer in peers:
                record = self.one_run(peer, n, round_)
                by_peer[peer].append(record)
                self.progress(_progress_line(record, n, round_, self.settings.repeat))
        middle = {peer: peers_report.medians(runs) for peer, runs in by_peer.items()}
        return {
            "receivers": n,
            "medians": middle,
            "ratios": peers_report.ratios(by_peer, middle),
            "runs": by_peer,
        }

    def one_run(self, peer: str, n: int, round_: int) -> dict[str, Any]:
        """One transfer by ``peer`` to ``n`` receivers, measured; its copies are deleted afterwards."""
        index, self.runs_done = self.runs_done, self.runs_done + 1
        workdir = Path(tempfile.mkdtemp(prefix=f"{peer}-n{n}-", dir=self.tmp))
        sampler = Sampler(self.anchor_pid, self.tb.interface)
        before, wire_before = egress_bytes(self.tb), wire_egress(self.tb)
        ctx = RunContext(
            self.tb, self.payload, self.digest, n, PORT + 4 * index, index, workdir,
            self.settings.mtu, self.settings.rate_bps, sampler, time.monotonic() + RUN_LIMIT,
            self.baseline_path if peer == "smocast-baseline" else None,
            self.settings.smocast_send_options(),
        )  # fmt: skip
        try:
            measured = PEERS[peer].run(ctx)
        except (RuntimeError, OSError, TestbedError, subprocess.SubprocessError) as exc:
            measured = Measured(Transfer(n, errors=[f"{peer} did not run: {exc}"]))
        finally:
            sampler.stop()
            shutil.rmtree(workdir, ignore_errors=True)
        egress = egress_bytes(self.tb) - before
        wire_after = wire_egress(self.tb)
        wire = wire_after - wire_before if wire_after is not None and wire_before is not None else None
        record = peers_report.run_record(peer, round_, measured, sampler, egress, self.settings.size, wire)
        record["commands"] = {role: portable(line, self.tmp) for role, line in record["commands"].items()}
        record["errors"] = [portable(error, self.tmp) for error in record["errors"]]
        return record


def portable(command: str, tmp: Path) -> str:
    """``command`` without this machine's paths: the interpreter as ``python3``, the scratch directory as TMP."""
    return command.replace(sys.executable, "python3").replace(str(tmp), "TMP")


def _progress_line(record: dict[str, Any], n: int, round_: int, rounds: int) -> str:
    head = f"N={n} round {round_}/{rounds} {record['peer']}:"
    if not record["all_identical"]:
        return f"{head} {record['copies_identical']}/{n} identical copies"
    return f"{head} {record['completion_s']:.2f} s, {n}/{n} identical copies"


def _report(
    settings: PeersSettings,
    ready: list[str],
    skipped: list[dict[str, Any]],
    rows: list[dict[str, Any]],
    boot: dict[str, Any] | None,
) -> dict[str, Any]:
    rate = settings.rate_bps
    return {
        "benchmark": "peers",
        "rate": "unlimited" if rate is None else settings.rate,
        "rate_bps": None if rate is None else round(rate),
        "loss": settings.loss,
        "reorder": settings.reorder,
        "size_bytes": settings.size,
        "mtu": settings.mtu,
        "repeat": settings.repeat,
        "peers": ready,
        "baseline_src": settings.baseline_src,
        "smocast_congestion": settings.congestion,
        "smocast_send_rate": settings.send_rate,
        "skipped": skipped,
        "order": "per N, rounds of " + ", ".join(ready) + "; receiver i on testbed host i",
        "cpus": cpu_count(),
        "startup": boot,
        "goals": peers_report.goals(rows, settings.loss, boot),
        "results": rows,
    }
