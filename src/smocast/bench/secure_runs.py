"""The runs ``smocast bench secure`` compares, as real processes on loopback.

* :func:`local_transfer`: one ``smocast send`` and N ``smocast recv`` processes;
* :func:`local_stream`: one ``smocast stream`` and one ``smocast recv --realtime``.

Secure runs make a key for the run (``--key``), pinned by the receivers (``--trust``);
insecure ones pass ``--insecure``. Every process started here is killed and reaped on the
way out, whatever happened.
"""

from __future__ import annotations

import itertools
import subprocess
import time
from pathlib import Path
from typing import Any

from smocast.aio.sockets import free_udp_port, port_in_use
from smocast.apps.processes import processes
from smocast.bench.fanout_runs import outcome, python, security_options

RUN_LIMIT = 600.0
START_LIMIT = 30.0
_GROUPS = itertools.count(1)


def _group(port: int) -> str:
    return f"239.255.78.{next(_GROUPS) % 250 + 1}:{port}"


def _wait_bound(port: int, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + START_LIMIT
    while not port_in_use(("127.0.0.1", port)):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the source did not bind 127.0.0.1:{port} (exit {proc.poll()})")
        time.sleep(0.01)


def _spawn(argv: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        python("smocast.cli.main", *argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def local_transfer(payload: Path, digest: str, receivers: int, *, secure: bool, workdir: Path) -> dict[str, Any]:
    """``send`` of ``payload`` to ``receivers`` ``recv`` processes on 127.0.0.1: goodput, CPU, completeness."""
    send_security, recv_security = security_options(secure, workdir)
    port = free_udp_port()
    server, group = f"127.0.0.1:{port}", _group(port)
    with processes() as started:
        sender = _spawn(
            [
                "send", str(payload), "--bind", server, "--group", group, "--min-receivers", str(receivers),
                "--wait", "120s", "--json", *send_security,
            ]
        )  # fmt: skip
        started.append(sender)
        _wait_bound(port, sender)
        procs = []
        for index in range(receivers):
            out = workdir / f"r{index}"
            out.mkdir()
            argv = ["recv", "--server", server, "--group", group, "-o", str(out), "--timeout", "60s", "--json"]
            procs.append(_spawn([*argv, *recv_security]))
            started.append(procs[-1])
        deadline = time.monotonic() + RUN_LIMIT
        received = [outcome(proc, deadline) for proc in procs]
        sent = outcome(sender, deadline)
    verified = sum(1 for got in received if got.code == 0 and got.report and got.report.get("sha256") == digest)
    report = sent.report or {}
    errors = [got.stderr.splitlines()[-1] for got in [sent, *received] if got.code != 0 and got.stderr]
    return {
        "complete": verified == receivers and report.get("completed") == receivers,
        "goodput_bps": report.get("goodput_bps") or 0.0,
        "wall_time_s": report.get("wall_time_s"),
        "source_cpu_s": sent.cpu_s,
        "receiver_cpu_s": sorted(got.cpu_s for got in received),
        "errors": errors[:3],
    }


def local_stream(rate: float, size: int, duration: float, *, secure: bool, workdir: Path) -> dict[str, Any]:
    """A live stream to one real-time receiver on 127.0.0.1: its latency percentiles (ms)."""
    send_security, recv_security = security_options(secure, workdir)
    port = free_udp_port()
    server, group = f"127.0.0.1:{port}", _group(port)
    with processes() as started:
        source = _spawn(
            [
                "stream", "--bind", server, "--group", group, "--rate", f"{rate:g}", "--size", str(size),
                "--duration", f"{duration:g}s", "--min-receivers", "1", "--wait", "60s", "--json", *send_security,
            ]
        )  # fmt: skip
        started.append(source)
        _wait_bound(port, source)
        argv = ["recv", "--realtime", "--server", server, "--group", group, "--timeout", "60s", "--json"]
        receiver = _spawn([*argv, *recv_security])
        started.append(receiver)
        deadline = time.monotonic() + duration + RUN_LIMIT
        got = outcome(receiver, deadline)
        outcome(source, deadline)
    latency = (got.report or {}).get("latency_ms") or {}
    return {
        "p50_ms": latency.get("p50"),
        "p99_ms": latency.get("p99"),
        "messages": (got.report or {}).get("messages"),
        "perceived_loss": (got.report or {}).get("perceived_loss"),
        "errors": [got.stderr.splitlines()[-1]] if got.code != 0 and got.stderr else [],
    }
