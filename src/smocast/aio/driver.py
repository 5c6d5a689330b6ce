"""One sans-IO endpoint driven by the asyncio event loop over non-blocking sockets.

After any input (datagrams or the timer) it runs the one pump that the simulator runs too
(:class:`smocast.core.pump.Pump`): send what ``datagrams_to_send`` returns, hand each event
to the owner, and re-arm the one timer at ``next_deadline``, with ``now`` always
``loop.time()``.

* Reading: ``loop.add_reader`` calls a drain loop that reads up to :data:`DRAIN_BATCH`
  datagrams with ``recvfrom_into`` into one preallocated buffer, feeds each to the
  endpoint, and only then pumps once (a ``DatagramProtocol`` costs a callback and a buffer
  per datagram and is ten times slower). Datagrams read on the group's socket go to the
  owner's ``group`` input instead, so the endpoint knows they came through the group (a
  receiver never honours an RST or FIN from there).
* Sending: ``sendto`` until the kernel says EAGAIN; the rest stays queued in order, the
  endpoint is not asked for more, and ``loop.add_writer`` resumes when the socket drains.
  ENOBUFS (a full device queue; the socket still polls writable) retries after a short
  sleep instead, so the loop never spins. Nothing is dropped silently.
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
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from smocast.aio.errors import NetworkError, network_error
from smocast.aio.netaddr import canonical, format_address, sockaddr
from smocast.aio.sockets import unreachable_addresses
from smocast.core.datagram import Address, Datagram, Endpoint
from smocast.core.pump import Pump

MAX_DATAGRAM = 65536
DRAIN_BATCH = 512  # datagrams read per readiness callback before the endpoint's output is sent
ENOBUFS_RETRY = 0.001  # seconds to wait when the device queue is full
SOCKADDR_CACHE = 4096  # IPv6 destinations whose socket address is kept
STALE_DEADLINE_STEP = 0.001  # a deadline the endpoint did not move after firing is retried this much later
_SKIPPABLE_UNICAST = frozenset({errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN})
_ICMP_REPORTED = frozenset({errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN, errno.EPROTO})

EventHandler = Callable[[Any], None]
"""Called with each event of the endpoint, in order."""
DatagramInput = Callable[[bytes, Address, float], None]
"""Takes one datagram: ``(data, source, now)``."""
Unreachable = Callable[[Address, float], None]
"""Told ``(address, now)`` when an ICMP port unreachable says nothing listens at ``address``."""


@dataclass(slots=True)
class DriverCounters:
    datagrams_received: int = 0
    datagrams_sent: int = 0
    send_waits: int = 0  # times the socket was full and sending waited (backpressure)
    unicast_send_errors: int = 0  # unicast datagrams to an unreachable peer (the endpoint's timers deal with it)
    icmp_errors: int = 0  # entries read from the error queue (on_unreachable)


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
        after_pump: Callable[[], None] | None = None,
        group: tuple[socket.socket, DatagramInput] | None = None,
        on_unreachable: Unreachable | None = None,
    ) -> None:
        """``group``: the group's socket (one of ``read_sockets``) and the input its datagrams go
        to, e.g. ``receive_datagram(..., via_group=True)``; others go to ``receive_datagram``.
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
        self._queue: deque[Datagram[Any]] = deque()
        self._writer_added = False
        self._retry: asyncio.TimerHandle | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._fired_at: float | None = None
        self._pump = Pump(endpoint, self._send, self._deliver)
        self._ipv6 = getattr(send_socket, "family", socket.AF_INET) == socket.AF_INET6
        self._sendto: Callable[[bytes, Any], int] = self._sendto_v6 if self._ipv6 else send_socket.sendto
        self._sockaddrs: dict[Any, Any] = {}  # IPv6: destination -> scoped socket address
        self.closed = False
        self.counters = DriverCounters()
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
        deadline = self._pump.run(self._loop.time(), can_send=not self._queue)
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
        receive: DatagramInput = group[1] if group is not None and sock is group[0] else self._endpoint.receive_datagram
        recv_into = sock.recvfrom_into
        buffer, view, clock, ipv6 = self._buffer, self._view, self._loop.time, self._ipv6
        count = 0
        try:
            while count < DRAIN_BATCH:
                try:
                    size, source = recv_into(buffer)
                except (BlockingIOError, InterruptedError):
                    break
                count += 1
                receive(view[:size].tobytes(), canonical(source) if ipv6 else source, clock())
        except OSError as exc:
            return count, exc
        return count, None

    def _icmp_reported(self, exc: OSError) -> bool:
        """True when ``exc`` may be an ICMP error about an earlier datagram (IP_RECVERR)."""
        return self._on_unreachable is not None and exc.errno in _ICMP_REPORTED

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

    # --- output ----------------------------------------------------------------------------

    def _send(self, datagrams: list[Datagram[Any]]) -> None:
        if self._queue:
            self._queue.extend(datagrams)
            return
        sendto = self._sendto
        sent = 0
        for index, datagram in enumerate(datagrams):
            try:
                sendto(datagram.data, datagram.destination)
            except (BlockingIOError, InterruptedError):
                self._queue.extend(datagrams[index:])
                self._wait_writable()
                break
            except OSError as exc:
                if not self._send_failed(exc, datagram):
                    if not self.closed:
                        self._queue.extend(datagrams[index:])
                    break
                continue
            sent += 1
        self.counters.datagrams_sent += sent

    def _sendto_v6(self, data: bytes, destination: Any) -> int:
        """``sendto`` for an IPv6 socket: the destination with its scope index (cached per address)."""
        address = self._sockaddrs.get(destination)
        if address is None:
            if len(self._sockaddrs) >= SOCKADDR_CACHE:
                self._sockaddrs.clear()  # bounded, whatever addresses peers send from
            address = self._sockaddrs[destination] = sockaddr(destination)
        return self._sock.sendto(data, address)

    def _flush(self) -> None:
        """Send what waited for room; when all is out, let the endpoint send again."""
        self._retry = None
        queue, sendto = self._queue, self._sendto
        while queue:
            datagram = queue[0]
            try:
                sendto(datagram.data, datagram.destination)
            except (BlockingIOError, InterruptedError):
                self._wait_writable()
                return
            except OSError as exc:
                if not self._send_failed(exc, datagram):
                    return
                queue.popleft()
                continue
            queue.popleft()
            self.counters.datagrams_sent += 1
        if self._writer_added:
            self._loop.remove_writer(self._sock.fileno())
            self._writer_added = False
        self.pump()

    def _wait_writable(self) -> None:
        if not self._writer_added and not self.closed:
            self.counters.send_waits += 1
            self._loop.add_writer(self._sock.fileno(), self._flush)
            self._writer_added = True

    def _send_failed(self, exc: OSError, datagram: Datagram[Any]) -> bool:
        """True to skip ``datagram`` and go on; False to stop (retry later, or closed)."""
        if self._icmp_reported(exc) and self._read_unreachable(self._sock):
            return self._send_again(datagram)  # the error was about an earlier datagram
        if exc.errno == errno.ENOBUFS:
            if self._retry is None and not self.closed:
                self.counters.send_waits += 1
                self._retry = self._loop.call_later(ENOBUFS_RETRY, self._flush)
            return False
        if not datagram.multicast and not self._unicast_errors_fatal and exc.errno in _SKIPPABLE_UNICAST:
            self.counters.unicast_send_errors += 1  # a vanished receiver: its timeouts will drop it
            return True
        target = "the group" if datagram.multicast else "the source" if self._unicast_errors_fatal else "a receiver"
        self._fail(exc, f"sending to {target} at {format_address(datagram.destination)}")
        return False

    def _send_again(self, datagram: Datagram[Any]) -> bool:
        """Send ``datagram`` once more after an error about an earlier one; as :meth:`_send_failed`."""
        try:
            self._sock.sendto(datagram.data, datagram.destination)
        except (BlockingIOError, InterruptedError):
            self._wait_writable()
            return False
        except OSError as exc:
            return self._send_failed(exc, datagram)  # another ICMP error: bounded by the error queue
        self.counters.datagrams_sent += 1
        return True

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
        self._pump.run(self._loop.time(), can_send=not self._queue)
        if not self.closed:
            self._shutdown()

    def _shutdown(self) -> None:
        self.closed = True
        for handle in (self._timer, self._retry):
            if handle is not None:
                handle.cancel()
        self._timer = self._retry = None
        for sock in self._read_sockets:
            self._loop.remove_reader(sock.fileno())
        if self._writer_added:
            self._loop.remove_writer(self._sock.fileno())
            self._writer_added = False
        for sock in self._sockets:
            sock.close()
        self._queue.clear()

    def _fail(self, exc: OSError, action: str) -> None:
        if self.closed:
            return
        self._shutdown()
        self._on_error(network_error(exc, action))
