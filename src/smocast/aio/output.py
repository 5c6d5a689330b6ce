"""The driver's output: datagrams to the socket in order, in GSO runs where the kernel takes them.

Runs of equal-size datagrams to the group go out as one UDP GSO ``sendmsg`` each
(:class:`~smocast.aio.batchio.GsoSender`; off for good after the kernel's first refusal), the
rest (unicast repairs to several receivers, single datagrams) up to 64 per ``sendmmsg``
(:class:`~smocast.aio.batchsend.BatchSender`) when at least ``SEND_MIN`` of them are waiting,
else (and where the C library lacks it) one ``sendto`` each, until the kernel says EAGAIN;
the rest stays queued in order, and ``loop.add_writer`` resumes when the socket drains (then
the owner is told, to pump again). ENOBUFS (a full device queue; the socket still polls
writable) retries after a short sleep instead, so the loop never spins. Nothing is dropped
silently: a unicast datagram to a vanished receiver is skipped and counted (its timers deal
with it), any other failure goes to the owner's ``fail``.
"""

from __future__ import annotations

import asyncio
import errno
import socket
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

from smocast.aio.batchio import GsoSender, gso_runs
from smocast.aio.batchsend import SEND_MIN, BatchSender, batch_sending_available
from smocast.aio.netaddr import format_address, sockaddr
from smocast.core.datagram import Datagram

ENOBUFS_RETRY = 0.001  # seconds to wait when the device queue is full
SOCKADDR_CACHE = 4096  # IPv6 destinations whose socket address is kept
_SKIPPABLE_UNICAST = frozenset({errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN})


class Counters(Protocol):
    datagrams_sent: int
    send_waits: int
    unicast_send_errors: int
    gso_sends: int
    batch_sends: int


class Output:
    """Sends the endpoint's datagrams on ``sock``; see the module docstring.

    ``about_earlier(exc)``: True when ``exc`` was an ICMP report about an earlier datagram (the
    owner read the error queue): the datagram is sent again. ``resume()``: the queue drained,
    pump again. ``fail(exc, action)``: a fatal error; the owner closes, and calls :meth:`close`.
    """

    def __init__(
        self,
        sock: socket.socket,
        counters: Counters,
        *,
        batched: bool,
        unicast_errors_fatal: bool,
        about_earlier: Callable[[OSError], bool],
        resume: Callable[[], None],
        fail: Callable[[OSError, str], None],
    ) -> None:
        self._loop = asyncio.get_running_loop()
        self._sock = sock
        self._counters = counters
        self._unicast_errors_fatal = unicast_errors_fatal
        self._about_earlier = about_earlier
        self._resume = resume
        self._fail = fail
        self._queue: deque[Datagram[Any]] = deque()
        self._writer_added = False
        self._retry: asyncio.TimerHandle | None = None
        self._ipv6 = getattr(sock, "family", socket.AF_INET) == socket.AF_INET6
        self._sendto: Callable[[bytes, Any], int] = self._sendto_v6 if self._ipv6 else sock.sendto
        self._sockaddrs: dict[Any, Any] = {}  # IPv6: destination -> scoped socket address
        datagram_socket = batched and getattr(sock, "type", None) == socket.SOCK_DGRAM
        self._gso = GsoSender(enabled=datagram_socket)
        self._batch = BatchSender(sock) if datagram_socket and batch_sending_available() else None
        self.closed = False

    @property
    def waiting(self) -> bool:
        """True while datagrams wait for room: the endpoint must not be asked for more."""
        return bool(self._queue)

    def close(self) -> None:
        """Stop: drop what waits, cancel the retry and the writer callback."""
        self.closed = True
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None
        if self._writer_added:
            self._loop.remove_writer(self._sock.fileno())
            self._writer_added = False
        self._queue.clear()
        if self._batch is not None:
            self._batch.close()
            self._batch = None

    def send(self, datagrams: list[Datagram[Any]]) -> None:
        if self._queue:
            self._queue.extend(datagrams)
            return
        if not self._gso.enabled or len(datagrams) < 2:
            self._send_each(datagrams, 0, len(datagrams))
            return
        sizes = [len(d.data) for d in datagrams]
        keys = [d.destination if d.multicast else None for d in datagrams]
        singles = 0  # the first datagram not sent yet: runs of one wait to go out together
        for start, end in gso_runs(sizes, keys):
            if end - start > 1 and self._gso.enabled:
                if singles < start and not self._send_each(datagrams, singles, start):
                    return
                if self._send_run(datagrams, start, end):
                    return
                singles = end
        if singles < len(datagrams):
            self._send_each(datagrams, singles, len(datagrams))

    def _send_run(self, datagrams: list[Datagram[Any]], start: int, end: int) -> bool:
        """One GSO send of ``datagrams[start:end]`` (same size, same group); True when sending
        stopped (the rest queued, or closed). Errors other than EAGAIN go to the one-by-one path."""
        first = datagrams[start]
        destination = self._sockaddr_of(first.destination) if self._ipv6 else first.destination
        try:
            sent = self._gso.send(self._sock, [d.data for d in datagrams[start:end]], len(first.data), destination)
        except (BlockingIOError, InterruptedError):
            self._queue.extend(datagrams[start:])
            self._wait_writable()
            return True
        except OSError as exc:
            if self._about_earlier(exc):  # an ICMP report about an earlier datagram, now read: again
                return self._send_run(datagrams, start, end)
            sent = False  # ENOBUFS...: the one-by-one path knows what to do
        if not sent:
            return not self._send_each(datagrams, start, end)
        self._counters.gso_sends += 1
        self._counters.datagrams_sent += end - start
        return False

    def _send_each(self, datagrams: list[Datagram[Any]], start: int, end: int) -> bool:
        """Send ``datagrams[start:end]``, many per ``sendmmsg`` where it is available, else one
        ``sendto`` each; False when sending stopped (the rest, up to the end of the list, is
        queued; or the driver closed)."""
        sendto, batch = self._sendto, self._batch
        sent = 0
        index = start
        going = True
        while index < end:
            datagram = datagrams[index]
            try:
                taken = batch.send(datagrams, index, end) if batch is not None and end - index >= SEND_MIN else 0
                if taken:
                    self._counters.batch_sends += 1
                else:
                    sendto(datagram.data, datagram.destination)
                    taken = 1
            except (BlockingIOError, InterruptedError):
                self._queue.extend(datagrams[index:])
                self._wait_writable()
                going = False
                break
            except OSError as exc:
                if not self._send_failed(exc, datagram):
                    if not self.closed:
                        self._queue.extend(datagrams[index:])
                    going = False
                    break
                index += 1
                continue
            index += taken
            sent += taken
        self._counters.datagrams_sent += sent
        return going

    def _sendto_v6(self, data: bytes, destination: Any) -> int:
        """``sendto`` for an IPv6 socket: the destination with its scope index (cached per address)."""
        return self._sock.sendto(data, self._sockaddr_of(destination))

    def _sockaddr_of(self, destination: Any) -> Any:
        address = self._sockaddrs.get(destination)
        if address is None:
            if len(self._sockaddrs) >= SOCKADDR_CACHE:
                self._sockaddrs.clear()  # bounded, whatever addresses peers send from
            address = self._sockaddrs[destination] = sockaddr(destination)
        return address

    def _flush(self) -> None:
        """Send what waited for room; when all is out, let the endpoint send again."""
        self._retry = None
        waiting = list(self._queue)
        self._queue.clear()
        if not self._send_each(waiting, 0, len(waiting)):
            return  # the rest is queued again, in order (or the driver closed)
        if self._writer_added:
            self._loop.remove_writer(self._sock.fileno())
            self._writer_added = False
        self._resume()

    def _wait_writable(self) -> None:
        if not self._writer_added and not self.closed:
            self._counters.send_waits += 1
            self._loop.add_writer(self._sock.fileno(), self._flush)
            self._writer_added = True

    def _send_failed(self, exc: OSError, datagram: Datagram[Any]) -> bool:
        """True to skip ``datagram`` and go on; False to stop (retry later, or closed)."""
        if self._about_earlier(exc):
            return self._send_again(datagram)  # the error was about an earlier datagram
        if exc.errno == errno.ENOBUFS:
            if self._retry is None and not self.closed:
                self._counters.send_waits += 1
                self._retry = self._loop.call_later(ENOBUFS_RETRY, self._flush)
            return False
        if not datagram.multicast and not self._unicast_errors_fatal and exc.errno in _SKIPPABLE_UNICAST:
            self._counters.unicast_send_errors += 1  # a vanished receiver: its timeouts will drop it
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
        self._counters.datagrams_sent += 1
        return True
