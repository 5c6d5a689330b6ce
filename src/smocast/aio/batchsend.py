"""Datagrams to many destinations with one system call: ``sendmmsg`` (Linux, through :mod:`ctypes`).

UDP GSO (:class:`~smocast.aio.batchio.GsoSender`) carries a run of equal-size datagrams to
one address; the source's unicast repairs go to different receivers, so they cannot share
one. :class:`BatchSender` sends up to ``batch`` datagrams, each to its own address, with one
``sendmmsg`` call: it copies them into one buffer (a few hundred nanoseconds each against a
system call per datagram), with their socket addresses (encoded once per destination).

``sendmmsg`` stops at the first datagram it cannot send and reports how many it sent; the
error of that datagram is lost when others went before it. :meth:`BatchSender.send` returns
that count, and the caller sends again from the first unsent datagram: the next call then
fails on it at once, with its own error (EAGAIN: the socket is full, keep the rest queued;
ECONNREFUSED or EHOSTUNREACH: that receiver is gone, skip it and go on), exactly as
``sendto`` would have for it.

:func:`batch_sending_available` says once, at import, whether the C library has
``sendmmsg``; where it has not (not Linux), the caller sends one datagram at a time.
"""

from __future__ import annotations

import ctypes
import errno
import mmap
import os
import socket
from array import array
from collections.abc import Callable, Sequence
from typing import Any

from smocast.aio.batchio import _IoVec, _MMsgHdr, _symbol
from smocast.aio.netaddr import sockaddr
from smocast.core.datagram import Datagram
from smocast.core.errors import ConfigError

SEND_BATCH = 64  # datagrams per sendmmsg call
SEND_BYTES = 1 << 18  # the buffer the datagrams of one call are copied into
NAME_CACHE = 4096  # destinations whose encoded socket address is kept
_NAME_STRIDE = 32  # bytes per socket address slot: sizeof(struct sockaddr_in6) rounded up to 8
_SOCKADDR_IN = 16
_SOCKADDR_IN6 = 28


def _load_sendmmsg() -> Callable[..., int] | None:
    """libc's ``sendmmsg`` among the interpreter's own symbols, or None (not Linux, no such symbol)."""
    function: Any = _symbol(None, "sendmmsg")
    if function is None:
        return None
    function.argtypes = [ctypes.c_int, ctypes.POINTER(_MMsgHdr), ctypes.c_uint, ctypes.c_int]
    function.restype = ctypes.c_int
    loaded: Callable[..., int] = function
    return loaded


_sendmmsg = _load_sendmmsg()
_LP64 = ctypes.sizeof(ctypes.c_void_p) == 8 and ctypes.sizeof(_IoVec) == 16


def batch_sending_available() -> bool:
    """True where :class:`BatchSender` works (a C library with ``sendmmsg``, an LP64 layout)."""
    return _sendmmsg is not None and _LP64


def encode_name(destination: Any, family: int) -> bytes | None:
    """``destination`` as a ``struct sockaddr_in`` (or ``_in6``), padded to one slot; None if it is not numeric."""
    try:
        if family == socket.AF_INET6:
            address = sockaddr(destination)
            if len(address) != 4:
                return None
            host, port, flowinfo, scope = address
            raw = (
                socket.AF_INET6.to_bytes(2, "little")
                + int(port).to_bytes(2, "big")
                + int(flowinfo).to_bytes(4, "big")
                + socket.inet_pton(socket.AF_INET6, host)
                + int(scope).to_bytes(4, "little")
            )
        else:
            host, port = destination[0], destination[1]
            raw = socket.AF_INET.to_bytes(2, "little") + int(port).to_bytes(2, "big") + socket.inet_aton(host)
    except (OSError, ValueError, TypeError, IndexError, OverflowError, ConfigError):
        return None
    if family == socket.AF_INET and not _dotted_quad(destination[0]):
        return None  # inet_aton also takes "10.1" and the like; sendto would read them otherwise
    return raw.ljust(_NAME_STRIDE, b"\0")


def _dotted_quad(host: str) -> bool:
    parts = host.split(".")
    return len(parts) == 4 and all(part.isdigit() for part in parts)


class BatchSender:
    """Sends datagrams to their own destinations from one non-blocking UDP socket, many per system call.

    Call :meth:`send` with a list of datagrams and the range to send; it sends up to
    ``batch`` of them (and no more than ``capacity`` bytes) with one ``sendmmsg``. See the
    module docstring for what it returns and raises.
    """

    def __init__(self, sock: socket.socket, batch: int = SEND_BATCH, capacity: int = SEND_BYTES) -> None:
        if not batch_sending_available():
            raise OSError(errno.ENOSYS, "sendmmsg is not available here")
        self._fd = sock.fileno()
        self._family = sock.family
        self._batch = batch
        self._capacity = capacity
        self._memory = mmap.mmap(-1, capacity)
        self._data = memoryview(self._memory)
        self._base = ctypes.addressof(ctypes.c_char.from_buffer(self._memory))
        self._names = (ctypes.c_char * (batch * _NAME_STRIDE))()
        self._iovecs = (_IoVec * batch)()
        self._headers = (_MMsgHdr * batch)()
        name_size = _SOCKADDR_IN6 if self._family == socket.AF_INET6 else _SOCKADDR_IN
        names = ctypes.addressof(self._names)
        for i in range(batch):
            header = self._headers[i].msg_hdr
            header.msg_name = names + i * _NAME_STRIDE
            header.msg_namelen = name_size
            header.msg_iov = ctypes.pointer(self._iovecs[i])
            header.msg_iovlen = 1
        self._iov_fields = memoryview(self._iovecs).cast("B").cast("Q")  # base, length, base, length...
        self._name_bytes = memoryview(self._names).cast("B")
        self._encoded: dict[Any, bytes | None] = {}
        self.calls = 0  # sendmmsg calls made
        self.sent = 0  # datagrams they sent

    def close(self) -> None:
        """Release the buffer (the sender cannot be used after)."""
        for view in (self._iov_fields, self._name_bytes, self._data):
            view.release()
        self._memory.close()

    def send(self, datagrams: Sequence[Datagram[Any]], start: int, end: int) -> int:
        """Send ``datagrams[start:end]`` (the first ``batch`` of them) with one ``sendmmsg``.

        Returns how many the kernel took, from ``start`` on (at least 1); then call again from
        the first one not taken. Returns 0, sending nothing, when ``datagrams[start]`` cannot
        go this way (its destination is not a numeric address, or it is larger than the
        buffer): send that one with ``sendto``. Raises ``datagrams[start]``'s error as
        ``sendto`` would (``BlockingIOError`` when the socket is full).
        """
        count = self._fill(datagrams, start, min(end, start + self._batch))
        if count == 0:
            return 0
        sent = _sendmmsg(self._fd, self._headers, count, 0)  # type: ignore[misc]
        self.calls += 1
        if sent < 0:
            code = ctypes.get_errno()
            if code in (errno.EAGAIN, errno.EWOULDBLOCK):
                raise BlockingIOError(code, os.strerror(code))
            if code == errno.EINTR:
                raise InterruptedError(code, os.strerror(code))
            raise OSError(code, os.strerror(code))
        self.sent += sent
        return sent

    def _fill(self, datagrams: Sequence[Datagram[Any]], start: int, end: int) -> int:
        """Copy ``datagrams[start:end]`` and their addresses into the buffers; how many fit."""
        data, base, capacity = self._data, self._base, self._capacity
        fields: list[int] = []
        names: list[bytes] = []
        offset = 0
        for index in range(start, end):
            datagram = datagrams[index]
            name = self._name_of(datagram.destination)
            size = len(datagram.data)
            if name is None or offset + size > capacity:
                break
            data[offset : offset + size] = datagram.data
            fields += (base + offset, size)
            names.append(name)
            offset += size
        count = len(names)
        if count:
            self._iov_fields[: 2 * count] = array("Q", fields)
            self._name_bytes[: count * _NAME_STRIDE] = b"".join(names)
        return count

    def _name_of(self, destination: Any) -> bytes | None:
        cache = self._encoded
        try:
            return cache[destination]
        except KeyError:
            if len(cache) >= NAME_CACHE:
                cache.clear()  # bounded, whatever addresses peers send from
            name = cache[destination] = encode_name(destination, self._family)
            return name
