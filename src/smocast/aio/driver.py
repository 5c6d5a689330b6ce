"""One sans-IO endpoint driven by the asyncio event loop over non-blocking sockets.

After any input (datagrams or the timer) it runs the one pump that the simulator runs too
(:class:`smocast.core.pump.Pump`): send what ``datagrams_to_send`` returns, hand each event
to the owner, and re-arm the one timer at ``next_deadline``, with ``now`` always
``loop.time()``.

* Reading: ``loop.add_reader`` calls a drain loop that reads up to :data:`DRAIN_BATCH`
  datagrams, reads the clock once, feeds them to the endpoint, and only then pumps once (a
  ``DatagramProtocol`` costs a callback and a buffer per datagram and is ten times slower).
  On Linux a :class:`~smocast.aio.batchio.BatchReader` reads up to 64 per ``recvmmsg`` call,
  and the group's socket has UDP GRO, so one message may carry many datagrams; an endpoint
  with ``receive_datagrams(batch, now)`` gets each batch whole (views of the reader's
  memory, valid during the call), any other one datagram at a time, as ``bytes``. Elsewhere
  a ``recvfrom_into`` loop into one preallocated buffer does the same. Datagrams read on the
  group's socket go to the owner's ``group`` input (``group_batch`` for a batch) instead, so
  the endpoint knows they came through the group (a receiver never honours an RST or FIN
  from there).
* Sending: :class:`~smocast.aio.output.Output` sends in order, in UDP GSO runs to the group
  where the kernel takes them; while the socket is full the rest waits there in order, the
  endpoint is not asked for more, and the driver pumps again once it drained.
* The timer: one ``loop.call_at`` handle, moved only when the deadline comes earlier; a
  wake-up that finds the deadline later simply re-arms.
* Errors: a failed socket call closes the driver and reports a
  :class:`~smocast.aio.errors.NetworkError` to the owner, who wakes its waiters with it.
* A receiver gone (the source's socket has ``IP_RECVERR``): an ICMP port unreachable makes
  the next ``sendto`` or ``recvfrom`` fail once (``ECONNREFUSED``, about an earlier datagram);
  the driver then reads the socket's error queue, hands each address it names to
  ``on_unreachable(address, now)`` (the channel's ``unreachable``), and goes on: the
  datagram that met the error is sent again.
* IPv6: the kernel reports sources as ``(host, port, flow, scope)``; the driver hands the
  endpoint ``(host, port)`` (a link-local host with its zone, ``fe80::1%eth0``), the form
  the cores compare, and turns destinations back into scoped socket addresses. IPv4
  datagrams take neither step.
"""

from __future__ import annotations

import asyncio
import errno
import socket
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from smocast.aio.batchio import BatchReader, batch_reading_available, enable_gro, enable_timestamps
from smocast.aio.errors import NetworkError, network_error
from smocast.aio.netaddr import canonical
from smocast.aio.output import Output
from smocast.aio.sockopts import unreachable_addresses
from smocast.core.datagram import Address, Endpoint
from smocast.core.pump import Pump

MAX_DATAGRAM = 65536
DRAIN_BATCH = 512  # datagrams read per readiness callback before the endpoint's output is sent
STALE_DEADLINE_STEP = 0.001  # a deadline the endpoint did not move after firing is retried this much later
_ICMP_REPORTED = frozenset({errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN, errno.EPROTO})

EventHandler = Callable[[Any], None]
"""Called with each event of the endpoint, in order."""
DatagramInput = Callable[[bytes, Address, float], None]
"""Takes one datagram: ``(data, source, now)``."""
Batch = list[tuple[memoryview, Address]]
BatchInput = Callable[[Batch, float], None]
"""Takes a batch of datagrams ``[(data, source), ...]`` and ``now``; the views are valid during the call."""


class ArrivalBatchInput(Protocol):
    """Takes a batch, ``now``, and the kernel's arrival time of its last datagram (or None)."""

    def __call__(self, batch: Batch, now: float, *, arrival: float | None) -> None: ...


Unreachable = Callable[[Address, float], None]
"""Told ``(address, now)`` when an ICMP port unreachable says nothing listens at ``address``."""


class DriverCounters:
    """What the driver did on its sockets (a plain class: made once per driver, read by reports)."""

    __slots__ = (
        "batch_sends",
        "datagrams_received",
        "datagrams_sent",
        "gso_sends",
        "icmp_errors",
        "reads",
        "send_waits",
        "unicast_send_errors",
    )

    def __init__(self) -> None:
        self.datagrams_received: int = 0
        self.datagrams_sent: int = 0
        self.send_waits: int = 0  # times the socket was full and sending waited (backpressure)
        # unicast datagrams to an unreachable peer (the endpoint's timers deal with it)
        self.unicast_send_errors: int = 0
        self.icmp_errors: int = 0  # entries read from the error queue (on_unreachable)
        self.reads: int = 0  # system calls that returned datagrams (recvmmsg or recvfrom)
        self.gso_sends: int = 0  # runs of datagrams sent with one GSO sendmsg
        self.batch_sends: int = 0  # sendmmsg calls (datagrams to several destinations at once)


class Signal:
    """Wakes every coroutine waiting on it; waiters re-check their own condition."""

    __slots__ = ("_waiters",)

    def __init__(self) -> None:
        self._waiters: list[asyncio.Future[None]] = []

    @property
    def waiting(self) -> bool:
        return bool(self._waiters)

    async def wait(self) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(future)
        try:
            await future
        finally:
            if future in self._waiters:
                self._waiters.remove(future)

    def notify(self) -> None:
        waiters, self._waiters = self._waiters, []
        for future in waiters:
            if not future.done():
                future.set_result(None)


class Driver:
    """Runs ``endpoint`` on ``read_sockets`` (input) and ``send_socket`` (output)."""

    def __init__(
        self,
        endpoint: Endpoint[Any, Any],
        send_socket: socket.socket,
        read_sockets: Sequence[socket.socket],
        *,
        on_event: EventHandler,
        on_error: Callable[[NetworkError], None],
        peer: str,
        unicast_errors_fatal: bool,
        after_pump: Callable[[], object] | None = None,
        group: tuple[socket.socket, DatagramInput] | None = None,
        group_batch: BatchInput | None = None,
        on_unreachable: Unreachable | None = None,
        batched: bool = True,
        group_arrival: ArrivalBatchInput | None = None,
    ) -> None:
        """``group``: the group's socket (one of ``read_sockets``) and the input its datagrams go
        to, e.g. ``receive_datagram(..., via_group=True)``; others go to ``receive_datagram``.
        ``group_batch``: the same for a whole batch (``receive_datagrams(..., via_group=True)``).
        ``batched`` False reads one datagram per call and sends without GSO (the general path).
        ``group_arrival``: takes the group's batches instead of ``group_batch``, with the kernel's
        arrival time of each on the loop's clock (``SO_TIMESTAMPNS``) where the socket gives one.
        ``on_unreachable``: for a source whose ``send_socket`` has ``IP_RECVERR`` (see
        :func:`~smocast.aio.sockets.source_socket`), told each address that ICMP says is gone."""
        self._loop = asyncio.get_running_loop()
        self._endpoint = endpoint
        self._sock = send_socket
        self._sockets = list(dict.fromkeys([send_socket, *read_sockets]))
        self._read_sockets = list(read_sockets)
        self._group = group
        self._on_event = on_event
        self._on_error = on_error
        self._after_pump = after_pump
        self._on_unreachable = on_unreachable
        self._peer = peer
        self._unicast_errors_fatal = unicast_errors_fatal
        self._buffer = bytearray(MAX_DATAGRAM)
        self._view = memoryview(self._buffer)
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._fired_at: float | None = None
        self._ipv6 = getattr(send_socket, "family", socket.AF_INET) == socket.AF_INET6
        self._group_batch = group_batch
        self._endpoint_batch: BatchInput | None = getattr(endpoint, "receive_datagrams", None)
        self._group_arrival = group_arrival
        group_socket = group[0] if group else None
        self._readers = _batch_readers(self._read_sockets, group_socket, group_arrival is not None) if batched else {}
        self.closed = False
        self.counters = DriverCounters()
        self._output = Output(
            send_socket,
            self.counters,
            batched=batched,
            unicast_errors_fatal=unicast_errors_fatal,
            about_earlier=self._about_earlier,
            resume=self.pump,
            fail=self._fail,
        )
        self._pump = Pump(endpoint, self._output.send, self._deliver)
        for sock in self._read_sockets:
            self._loop.add_reader(sock.fileno(), self._on_readable, sock)

    @property
    def now(self) -> float:
        return self._loop.time()

    # --- the pump --------------------------------------------------------------------------

    def pump(self) -> None:
        """Send what the endpoint wants sent, hand its events to the owner, re-arm the timer.

        Call it after any input to the endpoint (the driver does, after each batch of
        datagrams and after the timer). While the socket is full, datagrams stay with the
        endpoint until it drains; events still flow.
        """
        if self.closed:
            return
        deadline = self._pump.run(self._loop.time(), can_send=not self._output.waiting)
        if self.closed:
            return
        self._arm_timer(deadline)
        if self._after_pump is not None:
            self._after_pump()

    def _deliver(self, event: object, now: float) -> None:
        self._on_event(event)

    # --- input -----------------------------------------------------------------------------

    def _on_readable(self, sock: socket.socket) -> None:
        if self.closed:
            return
        count, error = self._drain(sock)
        self.counters.datagrams_received += count
        if error is not None and not (self._icmp_reported(error) and self._read_unreachable(sock)):
            self._fail(error, f"receiving from {self._peer}")
            return
        if count == 0 and error is None and self._on_unreachable is not None:
            self._read_unreachable(sock)  # woken with nothing to read: the error queue holds something
        self.pump()

    def _drain(self, sock: socket.socket) -> tuple[int, OSError | None]:
        """Read up to a batch into the endpoint; how many, and the error that stopped it if one did."""
        group = self._group
        via_group = group is not None and sock is group[0]
        receive: DatagramInput = group[1] if group is not None and via_group else self._endpoint.receive_datagram
        reader = self._readers.get(sock)
        if reader is not None:
            stamped = self._group_arrival if via_group and reader.timestamps else None
            batch_input = self._group_batch if via_group else self._endpoint_batch
            return self._drain_batches(reader, batch_input, receive, stamped)
        recv_into = sock.recvfrom_into
        buffer, view, ipv6 = self._buffer, self._view, self._ipv6
        now = self._loop.time()
        count = 0
        try:
            while count < DRAIN_BATCH:
                try:
                    size, source = recv_into(buffer)
                except (BlockingIOError, InterruptedError):
                    break
                count += 1
                receive(view[:size].tobytes(), canonical(source) if ipv6 else source, now)
        except OSError as exc:
            return count, exc
        finally:
            self.counters.reads += count
        return count, None

    def _drain_batches(
        self,
        reader: BatchReader,
        batch_input: BatchInput | None,
        receive: DatagramInput,
        stamped: ArrivalBatchInput | None = None,
    ) -> tuple[int, OSError | None]:
        """:meth:`_drain` with ``recvmmsg``: whole batches to ``batch_input``, or one by one as bytes;
        or to ``stamped`` with each batch's arrival time (``CLOCK_REALTIME``, moved to the loop's clock)."""
        now = self._loop.time()
        count = 0
        try:
            while count < DRAIN_BATCH:
                try:
                    batch = reader.read()
                except (BlockingIOError, InterruptedError):
                    break
                self.counters.reads += 1
                count += len(batch)
                if stamped is not None:  # the stamp's age now, on the loop's clock: it arrived before this read
                    stamp = reader.arrival
                    age = None if stamp is None else max(0.0, time.time() - stamp)
                    stamped(batch, now, arrival=None if age is None else self._loop.time() - age)
                elif batch_input is not None:
                    batch_input(batch, now)
                else:
                    for data, source in batch:
                        receive(data.tobytes(), source, now)
                if self.closed or not reader.full:
                    break  # a short read drained the socket: the loop wakes us again for more
        except OSError as exc:
            return count, exc
        return count, None

    def _icmp_reported(self, exc: OSError) -> bool:
        """True when ``exc`` may be an ICMP error about an earlier datagram (IP_RECVERR)."""
        return self._on_unreachable is not None and exc.errno in _ICMP_REPORTED

    def _about_earlier(self, exc: OSError) -> bool:
        """True when ``exc``, met sending, was an ICMP report about an earlier datagram (now read)."""
        return self._icmp_reported(exc) and self._read_unreachable(self._sock)

    def _read_unreachable(self, sock: socket.socket) -> bool:
        """Hand every address the error queue names to ``on_unreachable``; False when it was empty
        (then the error was about the call that raised it, not an ICMP message)."""
        assert self._on_unreachable is not None
        addresses, read = unreachable_addresses(sock)
        self.counters.icmp_errors += read
        now = self._loop.time()
        for address in addresses:
            self._on_unreachable(address, now)
        return read > 0

    # --- the one timer ---------------------------------------------------------------------

    def _arm_timer(self, deadline: float | None) -> None:
        if deadline is None:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = self._timer_at = None
            return
        if deadline == self._fired_at:  # the endpoint did not move it when it fired: never spin on it
            deadline = self._loop.time() + STALE_DEADLINE_STEP
        if self._timer_at is not None and self._timer_at <= deadline:
            return  # the armed wake-up comes first; it re-arms for the later deadline
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._loop.call_at(deadline, self._on_timer)
        self._timer_at = deadline

    def _on_timer(self) -> None:
        self._timer = self._timer_at = None
        if self.closed:
            return
        now = self._loop.time()
        deadline = self._endpoint.next_deadline()
        if deadline is not None and deadline <= now:
            self._fired_at = deadline
            self._endpoint.handle_timer(now)
        self.pump()
        self._fired_at = None

    # --- shutdown ----------------------------------------------------------------------------

    def close(self) -> None:
        """Send what the endpoint has left (RST, a last ACK) without waiting, then close all."""
        if self.closed:
            return
        self._pump.run(self._loop.time(), can_send=not self._output.waiting)
        if not self.closed:
            self._shutdown()

    def _shutdown(self) -> None:
        self.closed = True
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None
        self._output.close()
        for sock in self._read_sockets:
            self._loop.remove_reader(sock.fileno())
        for sock in self._sockets:
            sock.close()
        for reader in self._readers.values():
            reader.close()

    def _fail(self, exc: OSError, action: str) -> None:
        if self.closed:
            return
        self._shutdown()
        self._on_error(network_error(exc, action))


def _batch_readers(
    sockets: Sequence[socket.socket], group: socket.socket | None, stamp_group: bool = False
) -> dict[socket.socket, BatchReader]:
    """A :class:`BatchReader` for each UDP socket where ``recvmmsg`` works; GRO on the group's
    socket, and with ``stamp_group`` its arrival times too."""
    if not batch_reading_available():
        return {}
    readers = {}
    for sock in sockets:
        if getattr(sock, "type", None) != socket.SOCK_DGRAM:
            continue
        stamped = sock is group and stamp_group and enable_timestamps(sock)
        readers[sock] = BatchReader(sock, gro=sock is group and enable_gro(sock), timestamps=stamped)
    return readers
