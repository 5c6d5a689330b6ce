"""Live streaming over a TCP-SMO channel: a paced source of messages, and a real-time receiver's tally.

The source (:func:`stream`) sends one message every ``1/rate`` seconds on a channel opened
with ``admission="continuous"``: late joiners start at the current sequence. Each message
starts with a 16-byte header, a message sequence number and the send time
(``time.time()``, float64), followed by synthetic filler or the next piece of a file.

A real-time receiver (``realtime=True, framing=True``) feeds every message and gap notice
to a :class:`LiveTally`, which measures perceived loss, latency and jitter from the
headers. Latency compares the sender's clock with the receiver's: the figures are right
only when both clocks agree, as on one machine or in the namespace testbed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import stat
import struct
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from smocast.aio.channel import AsyncChannel, ChannelSummary
from smocast.aio.netaddr import format_address
from smocast.aio.receiver import AsyncReceiver
from smocast.smo import events as ev

HEADER = struct.Struct("!Qd")  # message sequence number, send time in seconds since the epoch
HEADER_SIZE = HEADER.size
JITTER_GAIN = 1 / 16  # RFC 3550 section 6.4.1 (A.8): interarrival jitter
CLOSE_TIMEOUT = 10.0  # seconds the source waits for receivers to confirm the end (FIN) before resetting them
READ_CHUNK = 1 << 16

Bodies = AsyncIterator[bytes]
"""What follows the header in each message, one item per message."""


# --- the source --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StreamSpec:
    """How to stream: ``rate`` messages per second of ``size`` bytes (header included).

    The stream ends after ``packets`` messages, after ``duration`` seconds, at the end of
    the bodies (a file), or when ``stop`` is set, whichever comes first. It starts once
    ``min_receivers`` have joined (continuous admission admits later ones too).
    """

    rate: float
    size: int
    packets: int | None = None
    duration: float | None = None
    min_receivers: int = 0
    close_timeout: float = CLOSE_TIMEOUT

    def __post_init__(self) -> None:
        if self.rate <= 0:
            raise ValueError(f"the rate must be positive, got {self.rate}")
        if self.size < HEADER_SIZE:
            raise ValueError(f"a message needs at least {HEADER_SIZE} bytes for its header, got {self.size}")


@dataclass(frozen=True, slots=True)
class StreamReport:
    """What :func:`stream` sent, and how each receiver's membership ended."""

    spec: StreamSpec
    messages: int
    bytes: int
    duration_s: float
    late_max_s: float
    interrupted: bool
    summary: ChannelSummary

    def as_json(self) -> dict[str, Any]:
        s = self.summary
        dropped = [
            {"receiver": r.receiver, "address": format_address(r.address), "reason": r.reason}
            for r in s.records
            if r.status in ("dropped", "refused")
        ]
        return {
            "messages": self.messages,
            "bytes": self.bytes,
            "message_size": self.spec.size,
            "rate_pps": self.spec.rate,
            "achieved_pps": round(self.messages / self.duration_s, 3) if self.duration_s > 0 else 0.0,
            "duration_s": round(self.duration_s, 3),
            "late_max_ms": round(self.late_max_s * 1e3, 3),
            "interrupted": self.interrupted,
            "receivers": {
                "joined": s.receivers,
                "completed": s.completed,
                "dropped": s.dropped,
                "left": s.left,
                "refused": s.refused,
            },
            "dropped": dropped,
            "segments": {
                "original": s.stats.original_segments,
                "repair_unicast": s.stats.repair_unicast,
                "repair_multicast": s.stats.repair_multicast,
            },
            "per_receiver": [r.as_json() for r in s.records],
        }


async def synthetic_bodies(size: int) -> Bodies:
    """Constant-bitrate filler: ``size - HEADER_SIZE`` zero bytes per message, for ever."""
    filler = bytes(size - HEADER_SIZE)
    while True:
        yield filler


async def file_bodies(source: BinaryIO, size: int) -> Bodies:
    """Pieces of ``size - HEADER_SIZE`` bytes of ``source`` (a file or stdin) until its end.

    A pipe or terminal is read without blocking the event loop; a regular file directly.
    """
    piece = size - HEADER_SIZE
    if stat.S_ISREG(os.fstat(source.fileno()).st_mode):
        while chunk := source.read(piece):
            yield chunk
        return
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), source)
    try:
        while True:
            try:
                yield await reader.readexactly(piece)
            except asyncio.IncompleteReadError as exc:
                if exc.partial:
                    yield exc.partial
                return
    finally:
        transport.close()


async def wait_for_receivers(channel: AsyncChannel, count: int) -> None:
    """Wait until ``count`` receivers have joined (at once when ``count`` is 0)."""
    joined = 0
    if count <= 0:
        return
    async for event in channel.events():
        if isinstance(event, ev.ReceiverJoined):
            joined += 1
            if joined >= count:
                return


async def stream(
    channel: AsyncChannel,
    spec: StreamSpec,
    bodies: Bodies,
    *,
    stop: asyncio.Event | None = None,
    progress: Callable[[int], None] | None = None,
) -> StreamReport:
    """Wait for ``spec.min_receivers``, send messages at ``spec.rate`` until the stream ends,
    then close: receivers get FIN.

    Receivers that do not confirm the end within ``spec.close_timeout`` are reset. The
    caller owns ``channel`` (opened with ``admission="continuous"``) and reads the report.
    """
    pacer = _Pacer(channel, spec, stop or asyncio.Event(), progress)
    await wait_for_receivers(channel, spec.min_receivers)
    await pacer.run(bodies)
    channel.close()
    try:
        async with asyncio.timeout(spec.close_timeout):
            summary = await channel.wait_closed()
    except TimeoutError:
        channel.abort(f"the stream ended and no confirmation came within {spec.close_timeout:g} s")
        summary = channel.summary()
    return StreamReport(spec, pacer.sent, pacer.bytes, pacer.duration, pacer.late_max, pacer.stop.is_set(), summary)


@dataclass(slots=True)
class _Pacer:
    channel: AsyncChannel
    spec: StreamSpec
    stop: asyncio.Event
    progress: Callable[[int], None] | None
    sent: int = 0
    bytes: int = 0
    duration: float = 0.0
    late_max: float = 0.0

    async def run(self, bodies: Bodies) -> None:
        loop = asyncio.get_running_loop()
        start = loop.time()
        interval = 1 / self.spec.rate
        stopping = asyncio.ensure_future(self.stop.wait())
        try:
            async for body in bodies:
                due = start + self.sent * interval
                if self._over(self.sent * interval) or not await self._sleep_until(due, stopping):
                    break
                self.late_max = max(self.late_max, loop.time() - due)
                message = HEADER.pack(self.sent, time.time()) + body
                await self.channel.send_message(message)
                self.sent += 1
                self.bytes += len(message)
                if self.progress is not None:
                    self.progress(self.sent)
                if self.spec.packets is not None and self.sent >= self.spec.packets:
                    break
        finally:
            stopping.cancel()
            self.duration = loop.time() - start

    def _over(self, offset: float) -> bool:
        """True when the stream should end before the message due ``offset`` seconds in."""
        return self.stop.is_set() or (self.spec.duration is not None and offset >= self.spec.duration)

    async def _sleep_until(self, due: float, stopping: asyncio.Future[Any]) -> bool:
        """Wait until ``due``; False when the stream was stopped meanwhile."""
        delay = due - asyncio.get_running_loop().time()
        if delay > 0:
            await asyncio.wait([stopping], timeout=delay)
        return not self.stop.is_set()


def stop_on_signals() -> asyncio.Event:
    """An event the first Ctrl-C (or SIGTERM) sets, so a stream can end cleanly; the second
    cancels the running task. Call it from the task that runs the stream."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()

    def on_signal() -> None:
        if stop.is_set() and task is not None:
            task.cancel()
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, on_signal)
    return stop


# --- the real-time receiver ----------------------------------------------------------------------


@dataclass(slots=True)
class LiveTally:
    """One real-time receiver's view of a live stream: which messages came, how late, what was skipped.

    Perceived loss counts the messages missing (skipped, or never delivered) among those
    between the first and the last message this receiver got, the part of the stream it
    was present for; from message 0 when it joined at the start of the stream (``origin``).
    Latency is the receive time minus the header's send time; jitter is RFC 3550's
    interarrival jitter (section 6.4.1) of that transit time.
    """

    first: int | None = None
    last: int | None = None
    origin: int | None = None  # the first message it should have got, when known (0: present from the start)
    messages: int = 0
    received_bytes: int = 0
    malformed: int = 0
    gaps: int = 0
    skipped_bytes: int = 0
    jitter: float = 0.0
    latencies: list[float] = field(default_factory=list)
    _transit: float | None = None

    def on_message(self, data: bytes, now: float) -> bytes | None:
        """Count a message received at wall-clock ``now``; return its body, None if malformed."""
        if len(data) < HEADER_SIZE:
            self.malformed += 1
            return None
        seq, sent_at = HEADER.unpack_from(data)
        if self.first is None:
            self.first = seq
        self.last = seq if self.last is None else max(self.last, seq)
        self.messages += 1
        self.received_bytes += len(data)
        transit = now - sent_at
        self.latencies.append(transit)
        if self._transit is not None:
            self.jitter += (abs(transit - self._transit) - self.jitter) * JITTER_GAIN
        self._transit = transit
        return data[HEADER_SIZE:]

    def on_gap(self, start: int, end: int) -> None:
        self.gaps += 1
        self.skipped_bytes += end - start

    @property
    def expected(self) -> int:
        first = self.origin if self.origin is not None else self.first
        return 0 if first is None or self.last is None else self.last - first + 1

    @property
    def perceived_loss(self) -> float:
        expected = self.expected
        return (expected - self.messages) / expected if expected else 0.0

    def as_json(self) -> dict[str, Any]:
        lat = sorted(t * 1e3 for t in self.latencies)
        p50, p90, p99, top = (percentile(lat, q) for q in (50, 90, 99, 100))
        return {
            "messages": self.messages,
            "bytes": self.received_bytes,
            "first_message": self.first,
            "last_message": self.last,
            "expected": self.expected,
            "missing": self.expected - self.messages,
            "perceived_loss": round(self.perceived_loss, 6),
            "gaps": self.gaps,
            "skipped_bytes": self.skipped_bytes,
            "malformed": self.malformed,
            "latency_ms": {
                "p50": round(float(p50), 3),
                "p90": round(float(p90), 3),
                "p99": round(float(p99), 3),
                "max": round(float(top), 3),
            },
            "jitter_ms": round(self.jitter * 1e3, 3),
            "jitter_method": "RFC 3550 interarrival jitter of the one-way transit time",
        }


def percentile(ordered: list[float], q: float) -> float:
    """The ``q``-th percentile of sorted values, interpolated linearly between the two nearest ranks
    (numpy's default method); 0.0 for no values. Receivers need no numpy for it."""
    if not ordered:
        return 0.0
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


async def watch(
    rx: AsyncReceiver, tally: LiveTally, *, save: BinaryIO | None = None, stop: asyncio.Event | None = None
) -> None:
    """Feed every message and gap of ``rx`` (``realtime=True, framing=True``) to ``tally``.

    Returns at the end of the stream, or when ``stop`` is set; ``save`` gets each body in
    order. Raises :class:`~smocast.aio.errors.ResetError` when the source reset this
    receiver: the caller may reconnect, and a new connection starts at the current sequence.
    """
    stop = stop or asyncio.Event()
    if rx.start == 0:
        tally.origin = 0  # present from the first message: a loss there counts too
    stopping = asyncio.ensure_future(stop.wait())
    try:
        while not stop.is_set():
            reading = asyncio.ensure_future(rx.read_message())
            await asyncio.wait([reading, stopping], return_when=asyncio.FIRST_COMPLETED)
            if not reading.done():
                reading.cancel()
                return
            item = reading.result()
            if item is None:
                return
            _count(item, tally, save)
    finally:
        stopping.cancel()


def _count(item: ev.MessageReceived | ev.Skipped, tally: LiveTally, save: BinaryIO | None) -> None:
    if isinstance(item, ev.Skipped):
        tally.on_gap(item.start, item.end)
        return
    body = tally.on_message(item.data, time.time())
    if body is not None and save is not None:
        save.write(body)
