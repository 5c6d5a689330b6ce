"""``smocast bench ack --instructions``: the source's cost per ACK in CPU instructions, not seconds.

Seconds per ACK swing by a factor of two on a shared, busy machine; instruction counts do not.
Each measurement runs the ACK benchmark's stream (:mod:`smocast.bench.ack`) in a child process
under ``valgrind --tool=callgrind`` twice: both runs build the same long stream, and one handles
all of it, the other its first fifth. The difference of the two totals over the difference in
ACKs is the cost of one ACK, with the interpreter's start, the imports, building the channel
and encoding the ACKs cancelled out. With a baseline tree (the ``src`` folder of
another checkout, through ``PYTHONPATH``) the same is measured for it, and the ratio reported:
before and after in one run. Valgrind comes from Debian's ``valgrind`` package.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

_COLLECTED = re.compile(r"Collected : (\d+)")


COUNT_SCRIPT = """
import random, sys
from smocast.bench import ack
receivers, acks, built = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
channel, peers = ack._channel(receivers)
stream = ack._ack_stream(channel, peers, built, random.Random(1))[:acks]
receive, send = channel.receive_datagrams, channel.datagrams_to_send
now = 0.002
for start in range(0, len(stream), ack.BATCH):
    receive(stream[start : start + ack.BATCH], now)
    send(now)
    now += ack.DT * ack.BATCH
assert channel.stats.acks_processed >= acks, "the benchmark's ACKs were not all processed"
"""
"""What callgrind counts: ``acks`` ACKs of a stream of ``built``, written against :mod:`smocast.bench.ack`
only, so a baseline tree without this module runs it too. Both runs of :func:`per_ack` build the same
stream, so encoding it cancels out of the difference."""


def instructions(receivers: int, acks: int, built: int, src: str | None = None) -> int:
    """Instructions callgrind counts for one child process that builds a stream of ``built`` ACKs
    and handles the first ``acks`` of them."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise RuntimeError("--instructions needs valgrind (apt install valgrind)")
    with tempfile.TemporaryDirectory() as folder:
        out, script = Path(folder, "callgrind.out"), Path(folder, "count_acks.py")
        script.write_text(COUNT_SCRIPT)
        argv = [valgrind, "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, str(script)]
        done = subprocess.run(
            [*argv, str(receivers), str(acks), str(built)], capture_output=True, text=True, env=_env(src), check=False
        )
    found = _COLLECTED.search(done.stderr)
    if done.returncode != 0 or found is None:
        raise RuntimeError(f"callgrind run failed: {done.stderr.strip().splitlines()[-1:]}")
    return int(found.group(1))


def _env(src: str | None) -> dict[str, str]:
    """The children's environment: ``src`` first on the path, bytecode read and written as installed."""
    env = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
    if src is not None:
        env["PYTHONPATH"] = src
    return env


def _compile_first(src: str | None) -> None:
    """Run the script once, uncounted, so the tree's bytecode is written before either counted run:
    otherwise, in a fresh checkout, the first run alone compiles every module it imports (and
    where nothing can be written, both compile alike)."""
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder, "count_acks.py")
        script.write_text(COUNT_SCRIPT)
        subprocess.run([sys.executable, str(script), "1", "1", "1"], capture_output=True, env=_env(src), check=False)


def per_ack(receivers: int, acks: int, src: str | None = None) -> float:
    """Instructions per ACK: ``acks`` ACKs handled against ``acks // 5``, from the same stream of
    ``acks`` (start-up, compiling and building the stream cancel)."""
    short = max(1, acks // 5)
    _compile_first(src)
    long_run, short_run = instructions(receivers, acks, acks, src), instructions(receivers, short, acks, src)
    return (long_run - short_run) / (acks - short)


def run(sizes: list[int], acks: int, baseline_src: str | None = None) -> dict[str, Any]:
    """The report: instructions per ACK at each group size, and against the baseline tree if given."""
    rows = []
    for receivers in sizes:
        row: dict[str, Any] = {"receivers": receivers, "instructions_per_ack": round(per_ack(receivers, acks))}
        if baseline_src is not None:
            base = per_ack(receivers, acks, baseline_src)
            row["baseline_instructions_per_ack"] = round(base)
            row["ratio_to_baseline"] = round(row["instructions_per_ack"] / base, 4)
        rows.append(row)
    return {"benchmark": "ack", "measure": "instructions (callgrind)", "acks_per_run": acks, "results": rows}
