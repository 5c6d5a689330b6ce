"""The four ways ``smocast bench peers`` sends one file to N receivers, each as real processes.

* ``smocast``: ``smocast send`` and one ``smocast recv`` per receiver;
* ``udpcast``: ``udp-sender`` and ``udp-receiver`` (Debian package ``udpcast``);
* ``uftp``: ``uftp`` and one ``uftpd`` daemon per receiver (Debian package ``uftp``);
* ``tcp``: N parallel kernel-TCP transfers (:mod:`smocast.bench.tcp_baseline`).

Each runner starts its processes in the testbed (the source on host 0, receiver i on host i),
waits for them, and returns a :class:`Measured`: when the transfer started (absolute, where the
tool says), each receiver's completion time from that start, how many copies are identical to
the file, and the reaped processes. The settings each tool gets, and why, are documented in
docs/benchmarks.md ("smocast against udpcast, UFTP and N x TCP").
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from smocast.apps.processes import processes
from smocast.bench.bytecode import child_environment
from smocast.bench.fanout_runs import (
    Outcome,
    Transfer,
    json_object,
    last_line,
    smocast_recv_argv,
    smocast_results,
    smocast_send_argv,
    tcp_fetch_argv,
    tcp_results,
    tcp_serve_argv,
    wait_listening,
)
from smocast.bench.peers_procs import Finished, Line, Sampler, Watched
from smocast.testbed import Testbed
from smocast.wire import DATA_HEADER_SIZE

IP_UDP_HEADERS = 28
UDPCAST_HEADER = 16  # its data header: its default block, 1456 B, fills a 1500 B MTU exactly
UFTP_HEADER = 24  # without encryption or TFMCC: -b 1448 fills a 1500 B MTU, 1449 fragments (measured)
UFTP_MAX_BLOCK = 8800  # uftp refuses larger blocks
RECEIVE_BUFFER = 8 << 20  # asked of uftp; the kernel caps it to 2 x rmem_max, as it does for smocast
RENDEZVOUS = "224.0.0.1"  # udpcast's control address: the testbed's hosts have no broadcast address
PEER_TIMEOUT_S = 60  # a receiver that hears nothing for this long gives up
GRACE_S = 30.0  # how long receivers may run on after their source has exited


@dataclass(frozen=True)
class RunContext:
    """One run: the testbed, the file, N receivers on hosts 1..N, and what this run may use."""

    tb: Testbed
    payload: Path
    digest: str
    receivers: int
    port: int  # this run owns ports port..port+3
    group_index: int  # distinct per run: groups are never reused within a benchmark
    workdir: Path
    mtu: int
    rate_bps: float | None  # the sender's link (tbf); None: unlimited
    sampler: Sampler
    deadline: float  # time.monotonic() by which every process must have finished
    python_path: str | None = None  # another tree's src folder, for the processes of smocast-baseline
    smocast_send_options: tuple[str, ...] = ()  # more options of smocast send (e.g. its congestion control)

    @property
    def hosts(self) -> range:
        return range(1, self.receivers + 1)

    def group(self, first_octet: int) -> str:
        """A multicast group of this run: ``first_octet``.77.x.y (232: source-specific)."""
        return f"{first_octet}.77.{self.group_index // 250}.{1 + self.group_index % 250}"

    def start(self, host: int, argv: Sequence[str], started: list[subprocess.Popen[str]]) -> Watched:
        """Start ``argv`` on ``host``, read its output, and have the sampler watch its CPU."""
        env = child_environment(self.python_path)
        popen = self.tb.popen(host, argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        started.append(popen)
        self.sampler.watch(popen.pid)
        return Watched(popen)

    def finish(self, source: Watched, receivers: list[Watched]) -> tuple[Finished, list[Finished]]:
        """Reap the source, then the receivers; those still running :data:`GRACE_S` after the source are killed.

        A source ends once every receiver is done or dropped, so a receiver left waiting after
        that (one a peer dropped, say) would otherwise hold the run until the deadline.
        """
        sent = source.finish(self.deadline)
        grace = min(self.deadline, time.monotonic() + GRACE_S)
        return sent, [receiver.finish(grace) for receiver in receivers]

    def wait_bound(self, watched: Watched, port: int, protocol: str) -> None:
        """Return once ``watched`` has bound ``port``; if it exits first, RuntimeError with its last words."""
        try:
            wait_listening(watched.popen, port, protocol)
        except RuntimeError as exc:
            raise RuntimeError(f"{exc} ({watched.argv[0]} said: {watched.last_words()})") from None

    def out_dir(self, index: int) -> Path:
        path = self.workdir / f"r{index}"
        path.mkdir()
        return path


@dataclass
class Measured:
    """One peer's run: copies and times (a fanout :class:`Transfer`), its start, and its processes."""

    transfer: Transfer
    start_at: float | None = None  # time.time() the tool says the transfer began; None: not known
    sender: Finished | None = None
    receivers: list[Finished] = field(default_factory=list)


@dataclass(frozen=True)
class Peer:
    name: str
    commands: tuple[str, ...]  # executables it needs on this machine
    install: str  # how to get them
    run: Callable[[RunContext], Measured]

    def missing(self) -> list[str]:
        return [command for command in self.commands if shutil.which(command) is None]


def outcome(done: Finished) -> Outcome:
    """The fanout benchmark's view of a reaped process, so its result parsers apply."""
    return Outcome(done.code, json_object(done.out_text), done.err_text, done.cpu_s, done.ended_at)


def verify_copies(transfer: Transfer, copies: list[Path], digest: str, reasons: list[str]) -> None:
    """Count the copies whose SHA-256 is the file's; for each other one, note its ``reasons`` entry."""
    for path, why in zip(copies, reasons, strict=True):
        if path.is_file() and _sha256(path) == digest:
            transfer.verified += 1
        else:
            state = "different" if path.is_file() else "missing"
            transfer.errors.append(f"{path.parent.name}: copy {state}; {why}")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


# --- smocast -------------------------------------------------------------------------------------------


def run_smocast(ctx: RunContext) -> Measured:
    """``smocast send`` to one ``smocast recv`` per receiver, without ``--mss``: path MTU discovery
    must find the payload as large as the MTU allows (each run records what it found).

    Both run ``--insecure``: udpcast and uftp run without encryption or signatures here, and the
    secure mode's own cost is measured against ``--insecure`` by ``smocast bench secure``."""
    server, group = f"{ctx.tb.address(0)}:{ctx.port}", f"{ctx.group(232)}:{ctx.port}"
    send = smocast_send_argv(ctx.payload, group, server, ctx.receivers, "--insecure", *ctx.smocast_send_options)
    with processes() as started:
        sender = ctx.start(0, send, started)
        ctx.wait_bound(sender, ctx.port, "udp")
        receivers = [
            ctx.start(h, smocast_recv_argv(server, group, ctx.out_dir(h), "--insecure"), started) for h in ctx.hosts
        ]
        sent, received = ctx.finish(sender, receivers)
    transfer = Transfer(ctx.receivers)
    smocast_results(transfer, outcome(sent), [outcome(r) for r in received], ctx.digest)
    report = json_object(sent.out_text)
    if report is not None:
        transfer.extra.update(discovered(report, ctx.mtu))
        transfer.extra["smocast_congestion_events"] = report.get("congestion")  # episodes, cuts, reordering
    if sent.code != 0 and report is not None:
        transfer.errors.insert(0, f"smocast send exit {sent.code}: {_smocast_outcome(report)}")
    else:
        _source_failure(transfer, "smocast send", sent)
    return Measured(transfer, None, sent, received)


def discovered(report: dict[str, Any], mtu: int) -> dict[str, Any]:
    """What path MTU discovery found in one run (from ``smocast send --json``): the largest segment
    the channel cut, each receiver's confirmed MTU, and whether every receiver confirmed ``mtu``."""
    pmtu = report.get("pmtu") or {}
    mtus = [row.get("mtu") for row in pmtu.get("receivers", [])]
    largest = pmtu.get("largest_segment")
    return {
        "smocast_segment": largest,
        "smocast_receiver_mtus": mtus,
        "smocast_pmtu_matched": bool(mtus)
        and all(m == mtu for m in mtus)
        and largest == mtu - IP_UDP_HEADERS - DATA_HEADER_SIZE,
    }


def _smocast_outcome(report: dict[str, Any]) -> str:
    """What the source's report says went wrong: how many completed, and why the others ended."""
    reasons = Counter(
        f"{row.get('status')} ({row.get('reason')})" for row in report.get("per_receiver", []) if row.get("reason")
    )
    ended = ", ".join(f"{count} {why}" for why, count in reasons.most_common())
    return f"{report.get('completed')} of {report.get('receivers')} completed" + (f"; {ended}" if ended else "")


def _ended(name: str, done: Finished) -> str:
    """How a receiver process ended, in one line: its exit code, or that it was still waiting."""
    if done.timed_out:
        return f"{name} was still running {GRACE_S:g} s after its source ended (killed): {last_line(done.err_text)}"
    return f"{name} exit {done.code}: {last_line(done.err_text)}"


def _source_failure(transfer: Transfer, name: str, sent: Finished) -> None:
    """Put the source's own last words first among the errors when it failed."""
    if sent.code != 0:
        transfer.errors.insert(0, f"{name} exit {sent.code}: {last_line(sent.err_text or sent.out_text)}")


# --- N x TCP -------------------------------------------------------------------------------------------


def run_tcp(ctx: RunContext) -> Measured:
    """N parallel kernel-TCP transfers from host 0 (the fanout benchmark's baseline)."""
    server = f"{ctx.tb.address(0)}:{ctx.port}"
    with processes() as started:
        source = ctx.start(0, tcp_serve_argv(ctx.payload, server, ctx.receivers), started)
        ctx.wait_bound(source, ctx.port, "tcp")
        clients = [ctx.start(h, tcp_fetch_argv(server), started) for h in ctx.hosts]
        served, fetched = ctx.finish(source, clients)
    transfer = Transfer(ctx.receivers)
    tcp_results(transfer, outcome(served), [outcome(f) for f in fetched], ctx.digest)
    report = json_object(served.out_text) or {}
    return Measured(transfer, report.get("start_time"), served, fetched)


# --- udpcast -------------------------------------------------------------------------------------------


def udpcast_block(mtu: int) -> int:
    """udpcast's largest block that fits one datagram in ``mtu`` (it accepts more than its man page's 1456)."""
    return mtu - IP_UDP_HEADERS - UDPCAST_HEADER


def udp_sender_argv(ctx: RunContext) -> list[str]:
    argv = ["udp-sender", "--file", str(ctx.payload), "--interface", ctx.tb.interface, "--portbase", str(ctx.port)]
    argv += ["--mcast-data-address", ctx.group(239), "--mcast-rdv-address", RENDEZVOUS]
    argv += [
        "--min-receivers",
        str(ctx.receivers),
        "--nokbd",
        "--full-duplex",
        "--blocksize",
        str(udpcast_block(ctx.mtu)),
    ]
    return argv


def udp_receiver_argv(ctx: RunContext, out: Path) -> list[str]:
    argv = ["udp-receiver", "--file", str(out), "--interface", ctx.tb.interface, "--portbase", str(ctx.port)]
    return [*argv, "--mcast-rdv-address", RENDEZVOUS, "--nokbd", "--receive-timeout", str(PEER_TIMEOUT_S)]


def run_udpcast(ctx: RunContext) -> Measured:
    """``udp-sender`` to N ``udp-receiver``; the sender's own lines mark the start and the end."""
    copies = [ctx.out_dir(h) / ctx.payload.name for h in ctx.hosts]
    with processes() as started:
        sender = ctx.start(0, udp_sender_argv(ctx), started)
        ctx.wait_bound(sender, ctx.port + 1, "udp")  # the sender listens on portbase + 1
        receivers = [ctx.start(h, udp_receiver_argv(ctx, copies[h - 1]), started) for h in ctx.hosts]
        sent, received = ctx.finish(sender, receivers)
    transfer = Transfer(ctx.receivers, source_cpu_s=sent.cpu_s, receiver_cpu_s=sorted(r.cpu_s for r in received))
    reasons = [_ended("udp-receiver", r) for r in received]
    verify_copies(transfer, copies, ctx.digest, reasons)
    _source_failure(transfer, "udp-sender", sent)
    start = _first(sent.stderr, "Starting transfer")
    end = _first(sent.stderr, "Transfer complete")
    if start is None or end is None:
        transfer.errors.append(f"udp-sender exit {sent.code}: {last_line(sent.err_text)}")
    elif transfer.verified:
        # udpcast moves in lock-step: the sender completes once every receiver has acknowledged the
        # last slice, so every receiver that has its copy completed then.
        transfer.times_s = [round(end - start, 4)] * transfer.verified
    return Measured(transfer, start, sent, received)


def _first(lines: Sequence[Line], marker: str) -> float | None:
    """When the first line containing ``marker`` was read (time.time()), or None."""
    return next((line.at for line in lines if marker in line.text), None)


# --- UFTP ------------------------------------------------------------------------------------------------


def uftp_block(mtu: int) -> int:
    """uftp's largest block that fits one datagram in ``mtu``, at most its own limit."""
    return min(UFTP_MAX_BLOCK, mtu - IP_UDP_HEADERS - UFTP_HEADER)


def uftp_client_id(address: str) -> str:
    """The id a ``uftpd`` takes by default: its IPv4 address as 8 hex digits."""
    return "0x" + "".join(f"{int(octet):02x}" for octet in address.split("."))


def uftp_argv(ctx: RunContext) -> list[str]:
    rate = "-1" if ctx.rate_bps is None else str(round(ctx.rate_bps / 1000))
    clients = ",".join(uftp_client_id(ctx.tb.address(h)) for h in ctx.hosts)
    argv = ["uftp", "-M", ctx.group(239), "-P", ctx.group(238), "-p", str(ctx.port), "-I", ctx.tb.interface]
    argv += ["-R", rate, "-b", str(uftp_block(ctx.mtu)), "-B", str(RECEIVE_BUFFER), "-H", clients, "-T", "-S", "@LOG"]
    return [*argv, str(ctx.payload)]


def uftpd_argv(ctx: RunContext, out: Path) -> list[str]:
    argv = ["uftpd", "-d", "-q", "-D", str(out), "-p", str(ctx.port), "-M", ctx.group(239), "-I", ctx.tb.interface]
    return [*argv, "-B", str(RECEIVE_BUFFER)]


def run_uftp(ctx: RunContext) -> Measured:
    """``uftp`` to N ``uftpd`` daemons (a closed group); uftp's time-stamped log gives start and ends."""
    outs = [ctx.out_dir(h) for h in ctx.hosts]
    with processes() as started:
        daemons = [ctx.start(h, uftpd_argv(ctx, outs[h - 1]), started) for h in ctx.hosts]
        for daemon in daemons:
            ctx.wait_bound(daemon, ctx.port, "udp")
        sender = ctx.start(0, uftp_argv(ctx), started)
        sent = sender.finish(ctx.deadline)
        received = [daemon.stop() for daemon in daemons]  # uftpd serves until stopped
    transfer = Transfer(ctx.receivers, source_cpu_s=sent.cpu_s, receiver_cpu_s=sorted(r.cpu_s for r in received))
    ids = [uftp_client_id(ctx.tb.address(h)) for h in ctx.hosts]
    status = uftp_status(sent.err_text)
    reasons = [f"uftp exit {sent.code}, {i}: {status.get(i, 'not in its transfer status')}" for i in ids]
    verify_copies(transfer, [out / ctx.payload.name for out in outs], ctx.digest, reasons)
    start, ends = uftp_times(sent.err_text)
    if start is None:
        transfer.errors.append(f"uftp exit {sent.code}: {last_line(sent.err_text)}")
    else:
        transfer.times_s = sorted(round(ends[i] - start, 4) for i in ids if i in ends)[: transfer.verified]
    return Measured(transfer, start, sent, received)


def uftp_status(log: str) -> dict[str, str]:
    """Each client's line in uftp's "Transfer status" (``Status: Completed  time: 0.4 seconds``)."""
    status: dict[str, str] = {}
    for line in log.splitlines():
        _, found, rest = line.partition("Host: ")
        if found and "Status:" in rest:
            client, _, text = rest.partition(" ")
            status.setdefault(client.lower(), " ".join(text.split()))
    return status


def uftp_times(log: str) -> tuple[float | None, dict[str, float]]:
    """From uftp's log: when it announced the file (FILEINFO), and when each client completed it."""
    start: float | None = None
    ends: dict[str, float] = {}
    for line in log.splitlines():
        if start is None and "Sending FILEINFO" in line:
            start = _log_time(line)
        elif start is not None and "Got COMPLETE from client" in line:
            client = line.rsplit(" ", 1)[-1].lower()
            at = _log_time(line)
            if at is not None:
                ends.setdefault(client, at)
    return start, ends


def _log_time(line: str) -> float | None:
    """The time a uftp log line begins with (``2026/01/31 12:00:00.123456: ...``), as time.time()."""
    try:
        return datetime.strptime(line[:26], "%Y/%m/%d %H:%M:%S.%f").timestamp()  # local time, as uftp logs it
    except ValueError:
        return None


PEERS: dict[str, Peer] = {
    "smocast": Peer("smocast", (), "", run_smocast),
    # smocast from another checkout (``--baseline-src``): before and after a change, in one run
    "smocast-baseline": Peer("smocast-baseline", (), "", run_smocast),
    "udpcast": Peer("udpcast", ("udp-sender", "udp-receiver"), "apt install udpcast", run_udpcast),
    "uftp": Peer("uftp", ("uftp", "uftpd"), "apt install uftp", run_uftp),
    "tcp": Peer("tcp", (), "", run_tcp),
}
