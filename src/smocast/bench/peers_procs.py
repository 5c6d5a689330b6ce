"""The processes of one ``bench peers`` run, and what they cost.

* :class:`Watched`: a started process whose output is read line by line in two threads, each
  line stamped with ``time.time()`` as it arrives (udpcast prints its events without a time);
  :meth:`Watched.finish` reaps it with ``wait4``, which gives that one process's exact CPU.
* :class:`Sampler`: a thread that, every :data:`PERIOD` seconds, reads the CPU each watched
  process has used so far (``/proc/PID/stat``), the bytes the sending host has transmitted
  (``/proc/PID/net/dev`` of a process in its namespace), and how busy the machine is. From
  these it answers "how much CPU did this process use between two instants" and "when did
  the source start sending data".

Every namespace shares the machine's clock, so times from any host compare directly.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from bisect import bisect_right
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from smocast.bench.machine import machine_ticks

PERIOD = 0.02  # seconds between two samples
TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")
#: The source has started sending data in the first sampling period in which it transmitted at
#: least this many bytes (about 6.5 Mbit/s over one period): far above any tool's control chatter.
DATA_START_BYTES = 16 * 1024


@dataclass(frozen=True, slots=True)
class Line:
    at: float  # time.time() when the line was read
    text: str


@dataclass
class Finished:
    """A reaped process: exit code, its output lines, its own CPU seconds, and when it was reaped."""

    pid: int
    argv: list[str]  # what ran, without the ``ip netns exec NAMESPACE`` in front
    code: int
    stdout: list[Line]
    stderr: list[Line]
    cpu_s: float
    ended_at: float
    timed_out: bool = False

    @property
    def out_text(self) -> str:
        return "\n".join(line.text for line in self.stdout)

    @property
    def err_text(self) -> str:
        return "\n".join(line.text for line in self.stderr)


class Watched:
    """A started process (text pipes on stdout and stderr); both are read into time-stamped lines.

    Call :meth:`finish` (or :meth:`stop` for a daemon) exactly once, from the thread that
    started it.
    """

    def __init__(self, popen: subprocess.Popen[str]) -> None:
        self.popen = popen
        argv = [str(arg) for arg in popen.args] if isinstance(popen.args, list) else [str(popen.args)]
        self.argv = argv[4:] if argv[:3] == ["ip", "netns", "exec"] else argv
        self.stdout: list[Line] = []
        self.stderr: list[Line] = []
        self._readers = [_reader(popen.stdout, self.stdout), _reader(popen.stderr, self.stderr)]

    @property
    def pid(self) -> int:
        return self.popen.pid

    def finish(self, deadline: float) -> Finished:
        """Wait until the process exits (killing it at ``deadline``, monotonic); reap it and its output."""
        timed_out = False
        while True:
            pid, status, usage = os.wait4(self.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline and not timed_out:
                self.popen.kill()
                timed_out = True
            time.sleep(0.005)
        ended_at = time.time()
        self.popen.returncode = os.waitstatus_to_exitcode(status)
        for thread in self._readers:
            thread.join()
        cpu = usage.ru_utime + usage.ru_stime
        code = self.popen.returncode
        return Finished(self.pid, self.argv, code, self.stdout, self.stderr, round(cpu, 4), ended_at, timed_out)

    def last_words(self, timeout: float = 5.0) -> str:
        """The last line it wrote to stderr, once it has exited (the readers are joined first)."""
        for thread in self._readers:
            thread.join(timeout)
        return self.stderr[-1].text if self.stderr else "no message"

    def stop(self) -> Finished:
        """End a process that does not exit by itself (a daemon): SIGTERM, then reap it."""
        if self.popen.poll() is None:
            self.popen.terminate()
        return self.finish(time.monotonic() + 5.0)


def _reader(stream: IO[str] | None, lines: list[Line]) -> threading.Thread:
    def read() -> None:
        if stream is None:
            return
        for text in stream:
            lines.append(Line(time.time(), text.rstrip("\r\n")))

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread


@dataclass
class _Series:
    times: list[float] = field(default_factory=list)
    values: list[float] = field(default_factory=list)

    def add(self, at: float, value: float) -> None:
        self.times.append(at)
        self.values.append(value)

    def at(self, when: float) -> float | None:
        """The value at ``when``, linear between samples; None outside the sampled span."""
        if not self.times or not self.times[0] <= when <= self.times[-1]:
            return None
        i = bisect_right(self.times, when)
        if i >= len(self.times):
            return self.values[-1]
        t0, t1 = self.times[i - 1], self.times[i]
        v0, v1 = self.values[i - 1], self.values[i]
        return v0 + (v1 - v0) * (when - t0) / (t1 - t0) if t1 > t0 else v1


class Sampler:
    """Samples, every :data:`PERIOD` s in a thread, the CPU of watched processes and a host's sent bytes.

    ``anchor_pid`` is any process in the sending host's namespace; ``interface`` its interface.
    Call :meth:`watch` for each process started, and :meth:`stop` when the run is over.
    """

    def __init__(self, anchor_pid: int, interface: str) -> None:
        self._netdev = Path(f"/proc/{anchor_pid}/net/dev")
        self._interface = interface + ":"
        self._cpu: dict[int, _Series] = {}
        self._gone: set[int] = set()
        self.sent = _Series()
        self.machine = _Series()  # CPU-seconds all CPUs have been busy, from /proc/stat
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def watch(self, pid: int) -> None:
        with self._lock:
            self._cpu[pid] = _Series()

    def stop(self) -> None:
        self._done.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._done.is_set():
            self._sample()
            self._done.wait(PERIOD)
        self._sample()

    def _sample(self) -> None:
        now = time.time()
        sent = self._sent_bytes()
        if sent is not None:
            self.sent.add(now, sent)
        self.machine.add(now, machine_ticks()[0] / TICKS_PER_SECOND)
        with self._lock:
            watched = [(pid, series) for pid, series in self._cpu.items() if pid not in self._gone]
        for pid, series in watched:
            cpu = process_cpu(pid)
            if cpu is None:
                self._gone.add(pid)
            else:
                series.add(now, cpu)

    def _sent_bytes(self) -> int | None:
        try:
            text = self._netdev.read_text()
        except OSError:
            return None
        for line in text.splitlines():
            name, _, counters = line.strip().partition(" ")
            if name == self._interface:
                return int(counters.split()[8])  # rx: 8 counters, then tx bytes
        return None

    def cpu_between(self, pid: int, start: float, end: float, final_cpu: float) -> float | None:
        """CPU seconds ``pid`` used from ``start`` to ``end``; ``final_cpu`` is its total once reaped.

        After its last sample a process is taken to have used ``final_cpu`` (it had exited).
        """
        series = self._cpu.get(pid)
        if series is None or not series.times or start > end:
            return None
        begin = series.at(start)
        if begin is None:
            begin = 0.0 if start < series.times[0] else final_cpu
        finish = series.at(end)
        if finish is None:
            finish = final_cpu if end > series.times[-1] else series.values[0]
        return round(max(0.0, finish - begin), 4)

    def machine_cpu_between(self, start: float, end: float) -> float | None:
        """CPU-seconds the whole machine (every process, every CPU) was busy from ``start`` to ``end``."""
        begin, finish = self.machine.at(start), self.machine.at(end)
        return round(finish - begin, 3) if begin is not None and finish is not None else None

    def data_started_at(self) -> float | None:
        """When the sending host began sending data: the start of the first period with a burst."""
        times, sent = self.sent.times, self.sent.values
        for i in range(1, len(times)):
            if sent[i] - sent[i - 1] >= DATA_START_BYTES:
                return times[i - 1]
        return None


def process_cpu(pid: int) -> float | None:
    """CPU seconds (user + system) process ``pid`` has used so far, or None if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rfind(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_SECOND
