"""``smocast bench ack-server``: ACKs per second that a real source processes over real UDP.

The source is what ``smocast send`` runs: :func:`smocast.open_channel` (an
:class:`~smocast.aio.channel.AsyncChannel`, whose :class:`~smocast.aio.driver.Driver` drains
the socket with ``recvfrom_into``, feeds each datagram to the sans-IO
:class:`~smocast.smo.channel.Channel` and sends what it releases) on 127.0.0.1, with
``min_receivers`` set to the number of receivers and an endless stream of data to send.

Load-generator processes (:mod:`smocast.bench.ack_loadgen`) play the receivers: one UDP
socket each, a real handshake, then plain ACKs that advance every receiver by two segments
at a time behind the data the source multicasts, so each ACK goes the whole way: decode,
the child's update, the window's aggregation, and the sends of the data it releases.

Each run measures, after ``warmup`` seconds of steady state, for ``duration`` seconds:
the ACKs the channel processed (its own counter), the CPU time of the source's process,
and what the generators sent over the same interval. After the generators stop, the
totals sent and processed give the ACKs lost (by the kernel, in the source's full socket
buffer). ``--repeat`` runs report medians.

Reading the figures: ``source_cpu_utilisation`` near 1.0 means the source was the limit (it
had ACKs waiting all the time); lower means the generators did not keep it busy, or the
source did not get a whole core. ``acks_per_cpu_s`` is what one core fully given to the
source would process at the measured CPU cost per ACK.
``machine_busy`` is the busy fraction of all CPUs over the interval: the source and one
generator account for about (1 + generator utilisation) / CPUs; more means other work shared
the machine. On loopback the kernel's delivery of each ACK into the source's socket runs in
the *sender's* context, so it is charged to the generator; the source's CPU per ACK is its
``recvfrom`` and everything above it.

The floor, measured after each run (:mod:`smocast.bench.ack_bare`): a bare ``recvfrom_into``
drain loop that does nothing with what it reads, fed 48-byte datagrams by a blaster process;
``ratio_to_bare_loop`` is the source's CPU per ACK over the loop's CPU per datagram. With
``--baseline-src`` each run is followed by a run of another tree's ``bench ack-server``
(before and after in one run: ``ratio_to_baseline``). The figures and reports are built in
:mod:`smocast.bench.ack_report`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import random
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

from smocast.aio import AsyncChannel, open_channel
from smocast.aio.batchio import batch_reading_available
from smocast.aio.sockets import free_udp_port
from smocast.bench.ack_bare import drain_cost
from smocast.bench.ack_bare import measure as measure_bare
from smocast.bench.ack_report import Snapshot, add_baseline, compare_report, medians_report, run_report
from smocast.core.datagram import Address

START_LIMIT = 60.0  # seconds for every receiver to join
STOP_LIMIT = 30.0  # seconds for a generator to report after "stop"
SETTLE = 0.2  # seconds the source keeps draining after the generators stopped
CHUNK = bytes(1 << 20)
DEFAULT_WINDOW_SEGMENTS = 8
ACK_EVERY_SEGMENTS = 2


@dataclass(frozen=True, slots=True)
class Settings:
    receivers: int
    duration: float
    warmup: float = 0.5
    generators: int = 1
    window_segments: int = DEFAULT_WINDOW_SEGMENTS
    mss: int = 1400
    secure: bool = False
    """The secure mode: every receiver joins through the protection layer and seals its ACKs."""

    @property
    def segment(self) -> int:
        """The channel's segment size: the secure mode's leaves room for the layer's 34 bytes."""
        return self.mss - 34 if self.secure else self.mss

    def __post_init__(self) -> None:
        if self.receivers < 1 or self.generators < 1 or self.generators > self.receivers:
            raise ValueError("need at least 1 receiver and 1 generator, and no more generators than receivers")
        if self.duration <= 0 or self.warmup < 0:
            raise ValueError("the duration must be positive and the warm-up not negative")
        if self.window_segments < ACK_EVERY_SEGMENTS:
            raise ValueError(f"the window must hold at least {ACK_EVERY_SEGMENTS} segments")


class Generator:
    """One load-generator process and its pipes."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @classmethod
    async def start(
        cls, server: Address, group: Address, count: int, first: int, settings: Settings, trust: str | None
    ) -> Generator:
        argv = [
            sys.executable,
            "-m",
            "smocast.bench.ack_loadgen",
            "--server",
            f"{server[0]}:{server[1]}",
            "--group",
            f"{group[0]}:{group[1]}",
            "--receivers",
            str(count),
            "--first-connection",
            str(first),
            "--window",
            str(settings.window_segments * settings.segment),
            "--step",
            str(ACK_EVERY_SEGMENTS * settings.segment),
            *(["--trust", trust] if trust is not None else []),
        ]
        process = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        return cls(process)

    async def tell(self, word: str) -> None:
        stdin = self.process.stdin
        assert stdin is not None
        stdin.write(word.encode() + b"\n")
        await stdin.drain()

    async def result(self) -> dict[str, Any]:
        """The generator's JSON report (it prints ``started`` first, then one JSON line)."""
        stdout = self.process.stdout
        assert stdout is not None
        async with asyncio.timeout(STOP_LIMIT):
            while line := await stdout.readline():
                text = line.decode().strip()
                if text.startswith("{"):
                    report: dict[str, Any] = json.loads(text)
                    if "error" in report:
                        raise RuntimeError(f"the load generator failed: {report['error']}")
                    return report
            await self.process.wait()
        raise RuntimeError(f"the load generator exited with {self.process.returncode}: {await self._stderr()}")

    async def _stderr(self) -> str:
        stderr = self.process.stderr
        text = (await stderr.read()).decode() if stderr is not None else ""
        return text.strip().splitlines()[-1] if text.strip() else "no message"

    def kill(self) -> None:
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()


def split(receivers: int, generators: int) -> list[tuple[int, int]]:
    """(count, first connection id) of each generator's share of the receivers."""
    shares, first = [], 1
    for index in range(generators):
        count = receivers // generators + (1 if index < receivers % generators else 0)
        shares.append((count, first))
        first += count
    return shares


async def _feed(channel: AsyncChannel) -> None:
    """An endless stream for the channel to send, as fast as it releases it."""
    while True:
        await channel.send(CHUNK)


async def _wait_started(channel: AsyncChannel, generators: list[Generator]) -> None:
    """Wait for admission (every receiver joined); fail at once if a generator dies first."""
    started = asyncio.ensure_future(channel.wait_started())
    exits = [asyncio.ensure_future(g.process.wait()) for g in generators]
    try:
        done, _ = await asyncio.wait([started, *exits], timeout=START_LIMIT, return_when=asyncio.FIRST_COMPLETED)
        if started not in done:
            for generator in generators:
                if generator.process.returncode is not None:
                    await generator.result()  # raises with the generator's error
            raise RuntimeError(
                f"the receivers did not all join within {START_LIMIT:g} s ({len(channel.receivers())} of them did)"
            )
    finally:
        for future in [started, *exits]:
            future.cancel()


async def measure_once(settings: Settings) -> dict[str, Any]:
    """One run: a fresh source and fresh generators; the counters of the measured interval."""
    port = free_udp_port()
    group = (f"239.255.{random.randrange(1, 255)}.{random.randrange(1, 255)}", port)
    security, trust = _security(settings)
    channel = await open_channel(
        group,
        bind=("127.0.0.1", port),
        min_receivers=settings.receivers,
        mss=settings.segment,
        secure=settings.secure,
        security=security,
    )
    generators: list[Generator] = []
    feeder = asyncio.ensure_future(_feed(channel))
    try:
        for count, first in split(settings.receivers, settings.generators):
            generators.append(await Generator.start(channel.address, group, count, first, settings, trust))
        return await _measure(channel, generators, settings)
    finally:
        feeder.cancel()
        for generator in generators:
            generator.kill()
        channel.abort()
        for generator in generators:
            await generator.process.wait()


async def _measure(channel: AsyncChannel, generators: list[Generator], settings: Settings) -> dict[str, Any]:
    await _wait_started(channel, generators)
    await asyncio.sleep(settings.warmup)
    acked_before = sum(info.acked for info in channel.receivers())
    before = Snapshot.take(channel)
    for generator in generators:
        await generator.tell("start")
    await asyncio.sleep(settings.duration)
    after = Snapshot.take(channel)
    acked_after = sum(info.acked for info in channel.receivers())
    for generator in generators:
        await generator.tell("stop")
    reports = [await generator.result() for generator in generators]
    await asyncio.sleep(SETTLE)
    return run_report(channel, before, after, acked_after - acked_before, reports)


def run(settings: Settings, repeat: int, baseline_src: str | None = None) -> dict[str, Any]:
    """Run ``repeat`` times and report the medians and every run; see the module docstring.

    Each run is followed by the bare ``recvfrom_into`` loop (:mod:`smocast.bench.ack_bare`) and,
    with ``baseline_src`` (the ``src`` folder of another checkout), by one run of that tree's
    ``bench ack-server``: the ratios compare figures measured in the same run."""
    runs, bare, baseline, saturated = [], [], [], []
    for _ in range(repeat):
        runs.append(asyncio.run(measure_once(settings)))
        bare.append(asyncio.run(measure_bare(settings.duration, settings.warmup, min(settings.receivers, 100))))
        saturated.append(drain_cost())
        if baseline_src is not None:
            baseline.append(_baseline_run(settings, baseline_src))
    batched = drain_cost(batched=True) if batch_reading_available() else None
    report = medians_report(_head(settings, repeat), runs, bare, saturated, batched)
    if baseline:
        add_baseline(report, baseline_src, baseline)
    return report


def _head(settings: Settings, repeat: int) -> dict[str, Any]:
    """What was run, as the report's first fields."""
    return {
        "benchmark": "ack-server",
        "receivers": settings.receivers,
        "generators": settings.generators,
        "duration_s": settings.duration,
        "warmup_s": settings.warmup,
        "window_segments": settings.window_segments,
        "ack_every_segments": ACK_EVERY_SEGMENTS,
        "repeat": repeat,
    }


def _baseline_run(settings: Settings, src: str) -> dict[str, Any]:
    """One run of ``bench ack-server`` from the tree at ``src`` (its JSON report)."""
    argv = [sys.executable, "-m", "smocast.cli.main", "bench", "ack-server", "--repeat", "1"]
    argv += ["--receivers", str(settings.receivers), "--duration", f"{settings.duration}s"]
    argv += ["--warmup", f"{settings.warmup}s", "--generators", str(settings.generators)]
    argv += ["--window", str(settings.window_segments)]
    env = dict(os.environ, PYTHONPATH=src)
    limit = START_LIMIT + 10 * settings.duration
    done = subprocess.run(argv, check=False, env=env, capture_output=True, text=True, timeout=limit)
    if done.returncode != 0:
        raise RuntimeError(f"the baseline's bench ack-server failed: {done.stderr.strip()[-300:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _security(settings: Settings) -> tuple[Any, str | None]:
    """The source's security and the fingerprint the generators pin: a key made for the run."""
    if not settings.secure:
        return None, None
    from smocast.aio.source_security import SourceSecurity  # noqa: PLC0415  (only the secure mode)
    from smocast.secure.identity import Identity  # noqa: PLC0415
    from smocast.secure.keyfiles import system_random  # noqa: PLC0415

    identity = Identity.generate(system_random)
    return SourceSecurity(identity=identity), identity.public.fingerprint


def compare(settings: Settings, repeat: int) -> dict[str, Any]:
    """Both modes in one run, alternating (insecure first in odd runs, second in even ones):
    each mode's medians and the secure mode's CPU per ACK against the insecure one's."""
    plain, secure = dataclasses.replace(settings, secure=False), dataclasses.replace(settings, secure=True)
    runs: dict[str, list[dict[str, Any]]] = {"insecure": [], "secure": []}
    for index in range(repeat):
        for mode, chosen in (
            (("insecure", plain), ("secure", secure)) if index % 2 == 0 else (("secure", secure), ("insecure", plain))
        ):
            runs[mode].append(asyncio.run(measure_once(chosen)))
    return compare_report(settings.receivers, repeat, runs)
