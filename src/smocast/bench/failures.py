"""How fast one side notices that the other died: the real commands, killed with SIGKILL on loopback.

* ``dead-source``: ``smocast send`` waits for a second receiver that never comes
  (``--min-receivers 2``, so it only heartbeats); one ``smocast recv`` with its defaults
  connects; 1.5 s later the source is killed. Measured: the time until ``smocast recv``
  exits, its exit code and its error line.
* ``dead-receiver``: ``smocast send`` sends a file of ``size`` bytes to ``receivers``
  ``smocast recv`` processes (its defaults: a 10 s progress timeout); 0.5 s after the
  transfer started (the source's JSON log says so), one receiver is killed. Measured: the
  time until the source's log says it dropped that receiver (both are wall clocks of this
  host), the reason, and whether the others completed.

Every process runs ``python -m smocast.cli.main``, so with ``baseline_src`` (the ``src``
folder of another checkout, through ``PYTHONPATH``) the same runs measure that tree too,
interleaved with this one: before and after in one run. The report gives each run, the
medians and the ratio of this tree's median to the baseline's.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import json
import os
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from smocast.aio.sockets import free_udp_port, port_in_use
from smocast.bench.machine import busy_fraction, machine_ticks

CASES = ("dead-source", "dead-receiver")
GROUP_PREFIX = "239.255.88."
SOURCE_ALIVE = 1.5  # seconds the receiver hears the waiting source before it is killed
TRANSFER_RUNNING = 0.5  # seconds of transfer before a receiver is killed
LIMIT = 180.0  # seconds a run may take (the old idle check needed up to 120)


def run(
    cases: Sequence[str], repeat: int, size: int, receivers: int, baseline_src: str | None, insecure: bool = False
) -> dict[str, Any]:
    """Every case ``repeat`` times for this tree (and the baseline's, interleaved); the JSON report.

    ``insecure`` runs the commands with ``--insecure`` (a tree that has the secure mode needs it
    here: the receivers pin no key); give it only when every tree measured knows the option."""
    trees = {"this": None} if baseline_src is None else {"this": None, "baseline": baseline_src}
    ticks = machine_ticks()
    report: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="smocast-bench-") as folder:
        work = Path(folder)
        for case in cases:
            runs: dict[str, list[dict[str, Any]]] = {name: [] for name in trees}
            for attempt in range(repeat):
                for name, src in trees.items():
                    place = work / f"{case}-{name}-{attempt}"
                    place.mkdir()
                    runs[name].append(_one(case, place, src, size, receivers, ("--insecure",) if insecure else ()))
                    shutil.rmtree(place, ignore_errors=True)  # the received copies
            report[case] = _summary(runs)
    report["settings"] = {
        "repeat": repeat,
        "size": size,
        "receivers": receivers,
        "baseline_src": baseline_src,
        "insecure": insecure,
    }
    report["machine_busy"] = busy_fraction(ticks, machine_ticks())
    return report


def _one(
    case: str, place: Path, src: str | None, size: int, receivers: int, mode: tuple[str, ...] = ()
) -> dict[str, Any]:
    if case == "dead-source":
        return dead_source(place, src, mode)
    return dead_receiver(place, src, size, receivers, mode)


def _summary(runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, results in runs.items():
        seconds = [r["seconds"] for r in results if r["seconds"] is not None]
        out[name] = {"median_s": round(statistics.median(seconds), 3) if seconds else None, "runs": results}
    if "baseline" in out and out["this"]["median_s"] and out["baseline"]["median_s"]:
        out["ratio"] = round(out["this"]["median_s"] / out["baseline"]["median_s"], 4)
    return out


# --- the two cases -----------------------------------------------------------------------------


def dead_source(place: Path, src: str | None, mode: tuple[str, ...] = ()) -> dict[str, Any]:
    """Kill a waiting ``smocast send`` under one ``smocast recv``; time until the receiver gives up."""
    server, group = _addresses()
    (place / "f.bin").write_bytes(b"x" * 1000)
    send = _start(src, "send", str(place / "f.bin"), "--bind", server, "--group", group, "--min-receivers", "2", *mode)
    with _reaped(send):
        _wait_bound(server)
        recv = _start(src, "recv", "--server", server, "--group", group, "-o", str(place), *mode, errors=True)
        with _reaped(recv):
            assert recv.stderr is not None
            if _line_with(recv.stderr, "connected", LIMIT) is None:
                return {"seconds": None, "error": "the receiver never connected"}
            time.sleep(SOURCE_ALIVE)
            send.send_signal(signal.SIGKILL)
            killed = time.monotonic()
            try:
                _, err = recv.communicate(timeout=LIMIT)
            except subprocess.TimeoutExpired:
                return {"seconds": None, "error": f"still waiting after {LIMIT:g} s"}
            took = time.monotonic() - killed
    said = [line for line in err.splitlines() if line.startswith("error:")]
    return {"seconds": round(took, 3), "exit_code": recv.returncode, "error": said[-1] if said else None}


def dead_receiver(
    place: Path, src: str | None, size: int, receivers: int, mode: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Kill one ``smocast recv`` mid-transfer; time until ``smocast send`` drops it."""
    server, group = _addresses()
    data = place / "f.bin"
    with data.open("wb") as handle:
        handle.truncate(size)
    log = place / "send.log"
    send = _start(
        src, "send", str(data), "--bind", server, "--group", group, "--min-receivers", str(receivers), "--json",
        "--log-level", "info", "--log-format", "json", "--log-file", str(log), *mode, *_fixed_mss(src), output=True,
    )  # fmt: skip
    with _reaped(send):
        _wait_bound(server)
        victim = _start(
            src, "recv", "--server", server, "--group", group, "-o", str(_dir(place, 0)), *mode, errors=True
        )
        others = [
            _start(src, "recv", "--server", server, "--group", group, "-o", str(_dir(place, i)), "--json", *mode)
            for i in range(1, receivers)
        ]
        with _reaped(victim), contextlib.ExitStack() as stack:
            for other in others:
                stack.enter_context(_reaped(other))
            return _kill_and_time(send, victim, log)


def _kill_and_time(send: subprocess.Popen[str], victim: subprocess.Popen[str], log: Path) -> dict[str, Any]:
    assert victim.stderr is not None
    connected = _line_with(victim.stderr, "connected", LIMIT)
    if connected is None or _log_event(log, "started", None, LIMIT) is None:
        return {"seconds": None, "error": "the transfer never started"}
    address = connected.rsplit(" from ", 1)[-1].strip()
    time.sleep(TRANSFER_RUNNING)
    victim.send_signal(signal.SIGKILL)
    killed = time.time()
    dropped = _log_event(log, "dropped", address, LIMIT)
    try:
        out, _ = send.communicate(timeout=LIMIT)
        completed = json.loads(out).get("completed") if out.strip() else None
    except (subprocess.TimeoutExpired, ValueError):
        completed = None
    if dropped is None:
        return {"seconds": None, "error": "the source never dropped the killed receiver", "completed": completed}
    at = datetime.datetime.fromisoformat(str(dropped["time"])).timestamp()
    return {"seconds": round(at - killed, 3), "reason": dropped.get("reason"), "others_completed": completed}


# --- processes ---------------------------------------------------------------------------------


def _addresses() -> tuple[str, str]:
    port = free_udp_port()
    return f"127.0.0.1:{port}", f"{GROUP_PREFIX}{port % 250 + 1}:{port}"


def _dir(place: Path, index: int) -> Path:
    folder = place / f"r{index}"
    folder.mkdir(exist_ok=True)
    return folder


@functools.cache
def _fixed_mss(src: str | None) -> tuple[str, ...]:
    """``--no-pmtu`` where the tree's ``smocast send`` probes the path MTU: on loopback it would
    find 64 KB segments, and the transfer would end before the receiver is killed."""
    env = dict(os.environ, **({"PYTHONPATH": src} if src is not None else {}))
    argv = [sys.executable, "-m", "smocast.cli.main", "send", "--help"]
    usage = subprocess.run(argv, env=env, capture_output=True, text=True, check=False).stdout
    return ("--no-pmtu",) if "--no-pmtu" in usage else ()


def _start(src: str | None, *argv: str, errors: bool = False, output: bool = False) -> subprocess.Popen[str]:
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = src
    return subprocess.Popen(
        [sys.executable, "-m", "smocast.cli.main", *argv],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE if output else subprocess.DEVNULL,
        stderr=subprocess.PIPE if errors else subprocess.DEVNULL,
        text=True,
    )


@contextlib.contextmanager
def _reaped(process: subprocess.Popen[str]) -> Iterator[subprocess.Popen[str]]:
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def _wait_bound(server: str, limit: float = 30.0) -> None:
    host, port = server.rsplit(":", 1)
    deadline = time.monotonic() + limit
    while not port_in_use((host, int(port))) and time.monotonic() < deadline:
        time.sleep(0.02)


def _line_with(stream: IO[str], text: str, limit: float) -> str | None:
    """The first line of ``stream`` that contains ``text``, read for at most ``limit`` seconds."""
    deadline = time.monotonic() + limit
    while (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([stream], [], [], left)
        if not ready:
            break
        line = stream.readline()
        if not line:
            break
        if text in line:
            return line
    return None


def _log_event(log: Path, event: str, address: str | None, limit: float) -> dict[str, Any] | None:
    """The first JSON log line of ``event`` (for ``address``, if given), polled for ``limit`` seconds."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        with contextlib.suppress(FileNotFoundError):
            for line in log.read_text().splitlines():
                with contextlib.suppress(ValueError):
                    entry = json.loads(line)
                    if entry.get("event") == event and address in (None, entry.get("address")):
                        return dict(entry)
        time.sleep(0.02)
    return None
