"""``smocast demo``: the main job, needing no configuration and no root.

A sender process and N receiver processes (``smocast send`` and ``smocast recv``) on
loopback multicast move a generated file; the demo then hashes every received copy itself.
Where loopback multicast does not work (probed first), the same transfer runs in the
simulator instead, and the report says ``"transport": "simulated"``.

Each receiver's figures are consistent: ``transfer_time_s`` runs from its first byte to its
verified file, ``goodput_bps`` is the file over that time, and ``waited_s`` is the time from
connecting to the first byte (waiting for the other receivers to join).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.table import Table

from smocast.aio.sockets import free_udp_port, loopback_multicast_works, port_in_use
from smocast.cli.common import console, err_console, print_json
from smocast.cli.units import Units
from smocast.text import plain

DEMO_GROUP = "239.255.77.1"
GENERATE_CHUNK = 1 << 20
STARTUP_TIMEOUT = 10.0
COLUMNS_EXPLAINED = """\
transfer: from the receiver's first byte to its verified file; goodput: the file over that time;
waited: from connecting to the first byte (the others joining); repairs: segments the source sent
it again after a loss (by unicast, or by multicast when several receivers missed them)"""
NEXT_STEPS = """\
next, try:
  smocast demo --receivers 16 --size 100M             more receivers, a larger file
  smocast sim transfer --receivers 1000 --loss 0.02   a thousand receivers and loss, simulated
  smocast send FILE --group 239.1.2.3:6000 --bind 127.0.0.1:6000 --watch
                                                      your own file, with a live table of receivers
  smocast recv --server 127.0.0.1:6000 --group 239.1.2.3:6000 -o downloads
                                                      ... and its receivers, in other terminals"""


def run(args: argparse.Namespace) -> int:
    multicast = not args.simulate and loopback_multicast_works()
    if not multicast and not args.simulate and not args.json:
        err_console.print("loopback multicast does not work here; running the same transfer in the simulator")
    units = Units.fitting(args.size)
    what = f"{units.bytes(args.size)} to {args.receivers} receivers"
    with (
        console.status(
            f"sending {what} over loopback multicast..." if multicast else f"simulating {what}...", spinner="dots"
        )
        if not args.json
        else contextlib.nullcontext()
    ):
        report = _multicast(args) if multicast else _simulated(args)
    if args.json:
        print_json(report)
    else:
        _summary(report, units)
    ok = report["completed"] == report["receivers"] and report["all_identical"]
    return 0 if ok else 1


# --- over loopback multicast -----------------------------------------------------------------------


def _multicast(args: argparse.Namespace) -> dict[str, Any]:
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="smocast-demo-") as tmp:
        root = Path(tmp)
        source = root / "demo.bin"
        digest = _generate(source, args.size, args.seed)
        port = free_udp_port()
        server, group = f"127.0.0.1:{port}", f"{DEMO_GROUP}:{port}"
        deadline = time.monotonic() + args.timeout
        logs = _log_options(args)
        send_security, recv_security = _demo_security(args, root)
        processes: list[subprocess.Popen[str]] = []
        try:
            sender = _spawn(
                [
                    "send",
                    str(source),
                    *("--bind", server, "--group", group, "--min-receivers", str(args.receivers)),
                    *("--wait", f"{args.timeout:g}s", "--json", *logs, *send_security),
                ]
            )
            processes.append(sender)
            _wait_bound(("127.0.0.1", port), sender)
            for index in range(args.receivers):
                out = root / f"receiver-{index + 1}"
                out.mkdir()
                argv = ["recv", "--server", server, "--group", group, "-o", str(out), "--timeout", "20s", "--json"]
                processes.append(_spawn([*argv, *logs, *recv_security]))
            results = [_finish(p, deadline) for p in processes]
        finally:
            for process in processes:
                if process.poll() is None:
                    process.kill()
                    process.wait()
        rows = [
            _receiver_row(i + 1, result, root / f"receiver-{i + 1}" / source.name, digest)
            for i, result in enumerate(results[1:])
        ]
    return _report("multicast", args, rows, results[0], time.perf_counter() - began)


def _demo_security(args: argparse.Namespace, folder: Path) -> tuple[list[str], list[str]]:
    """The sender's and the receivers' options: a key made for this run, which the receivers pin."""
    if args.insecure:
        return ["--insecure"], ["--insecure"]
    from smocast.secure import keyfiles  # noqa: PLC0415  (loads the secure mode only when used)

    key = folder / "demo.key"
    identity = keyfiles.create_identity(key)
    return ["--key", str(key)], ["--trust", identity.public.fingerprint]


def _log_options(args: argparse.Namespace) -> list[str]:
    """With --log-file, every process appends its lines to the same file."""
    if not args.log_file:
        return []
    return ["--log-level", args.log_level, "--log-file", args.log_file, "--log-format", args.log_format]


def _generate(path: Path, size: int, seed: int) -> str:
    rng = random.Random(seed)
    digest = hashlib.sha256()
    with path.open("wb") as handle:
        for offset in range(0, size, GENERATE_CHUNK):
            chunk = rng.randbytes(min(GENERATE_CHUNK, size - offset))
            digest.update(chunk)
            handle.write(chunk)
    return digest.hexdigest()


def _spawn(argv: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "smocast.cli.main", *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _wait_bound(address: tuple[str, int], sender: subprocess.Popen[str]) -> None:
    """Start receivers once the sender's port is bound (else their SYNs would be refused)."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not port_in_use(address):
        if sender.poll() is not None or time.monotonic() > deadline:
            return  # _finish reports the sender's own error
        time.sleep(0.02)


def _finish(process: subprocess.Popen[str], deadline: float) -> dict[str, Any]:
    """The process's JSON report, or ``{"error": message}`` (from its JSON error object, or stderr)."""
    try:
        out, err = process.communicate(timeout=max(0.1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        return {"error": "timed out"}
    with contextlib.suppress(json.JSONDecodeError):
        result: dict[str, Any] = json.loads(out)
        if isinstance(result.get("error"), dict):
            return {"error": result["error"].get("message", "failed")}
        return result
    lines = [line for line in err.strip().splitlines() if line.strip()]
    return {"error": lines[-1].removeprefix("error: ") if lines else f"exit code {process.returncode}"}


def _receiver_row(index: int, result: dict[str, Any], path: Path, digest: str) -> dict[str, Any]:
    identical = path.is_file() and _sha256(path) == digest
    wall, transfer = result.get("wall_time_s"), result.get("transfer_time_s")
    return {
        "receiver": index,
        "completed": "error" not in result,
        "identical": identical,
        "transfer_time_s": transfer,
        "waited_s": round(wall - transfer, 6) if wall is not None and transfer is not None else None,
        "goodput_bps": result.get("goodput_bps"),
        "repairs": result.get("repairs"),
        "error": result.get("error"),
    }


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(GENERATE_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _report(
    transport: str, args: argparse.Namespace, rows: list[dict[str, Any]], sender: dict[str, Any], total: float
) -> dict[str, Any]:
    done = [r for r in rows if r["completed"]]
    return {
        "transport": transport,
        "secure": transport == "multicast" and not args.insecure,
        "receivers": args.receivers,
        "completed": len(done),
        "all_identical": bool(done) and len(done) == len(rows) and all(r["identical"] for r in rows),
        "bytes": args.size,
        "wall_time_s": sender.get("wall_time_s"),
        "goodput_bps": sender.get("goodput_bps"),
        "total_time_s": round(total, 3),
        "sender_error": sender.get("error"),
        "segments": sender.get("segments"),
        "per_receiver": rows,
    }


# --- in the simulator ------------------------------------------------------------------------------


def _simulated(args: argparse.Namespace) -> dict[str, Any]:
    from smocast.sim.topology import PathSpec  # noqa: PLC0415  (the simulator loads only as the fallback)
    from smocast.sim.transfer import TransferSpec, run_transfer  # noqa: PLC0415

    began = time.perf_counter()
    lan = PathSpec(rate=1e9, delay=0.0005, queue_bytes=8 << 20)  # 1 Gbit/s, 0.5 ms
    result = run_transfer(TransferSpec(receivers=args.receivers, size=args.size, seed=args.seed, path=lan))
    summary = result.as_json()
    rows = [
        {
            "receiver": o.index + 1,
            "completed": o.completed_at is not None,
            "identical": bool(o.identical),
            "transfer_time_s": round(o.completed_at, 6) if o.completed_at is not None else None,
            "waited_s": 0.0,
            "goodput_bps": round(args.size * 8 / o.completed_at, 1) if o.completed_at else None,
            "repairs": None,
            "error": o.dropped,
        }
        for o in result.outcomes
    ]
    sender = {
        "wall_time_s": summary["sim_time_s"],
        "goodput_bps": summary["goodput_bps"],
        "segments": summary["segments"],
    }
    return _report("simulated", args, rows, sender, time.perf_counter() - began)


def _summary(report: dict[str, Any], units: Units) -> None:
    simulated = report["transport"] == "simulated"
    table = Table(
        title=f"{units.bytes(report['bytes'])} to {report['receivers']} receivers over "
        + ("the simulator (simulated seconds)" if simulated else "loopback multicast"),
        title_justify="left",
    )
    for name in ("receiver", "transfer", "goodput", "waited", "repairs", "SHA-256"):
        table.add_column(name, justify="left" if name in ("receiver", "SHA-256") else "right")
    for row in report["per_receiver"]:
        check = "[green]identical[/]" if row["identical"] else f"[red]{plain(row['error'] or 'MISMATCH')}[/]"
        table.add_row(
            str(row["receiver"]),
            _seconds(row["transfer_time_s"]),
            units.rate_of(row["goodput_bps"]) if row["goodput_bps"] else "-",
            _seconds(row["waited_s"]),
            str(row["repairs"]) if row["repairs"] is not None else "-",
            check,
        )
    console.print(table)
    verdict = "[green]all identical[/]" if report["all_identical"] else "[red]NOT all identical[/]"
    line = f"{report['completed']} of {report['receivers']} completed, {verdict}"
    if report["wall_time_s"] is not None:
        line += f"; the source: {report['wall_time_s']:.3f} s from the start to the last completion"
    if report["goodput_bps"]:
        line += f", {units.rate_of(report['goodput_bps'])}"
    if report.get("sender_error"):
        line += f"; sender: {plain(report['sender_error'])}"
    console.print(line + f" ({report['total_time_s']:.1f} s in all)")
    console.print(COLUMNS_EXPLAINED)
    console.print(NEXT_STEPS)


def _seconds(value: float | None) -> str:
    return f"{value:.3f} s" if value is not None else "-"
