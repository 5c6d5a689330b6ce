"""Datagrams to many destinations with one system call: ``sendmmsg`` (Linux, through :mod:`ctypes`).

UDP GSO (:class:`~smocast.aio.batchio.GsoSender`) carries a run of equal-size datagrams to
one address; the source's unicast repairs go to different receivers, so they cannot share
one. :class:`BatchSender` sends up to ``batch`` datagrams, each to its own address, with one
``sendmmsg`` call: it copies each into a slot of one buffer, with its socket address (encoded
once per destination). Whether that saves CPU depends on how the system call's entry compares
with the kernel's own work per datagram: ``docs/benchmarks.md`` ("Unicast repairs in one
``sendmmsg``") has the measurements.

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
from collections.abc import Callable, Sequence
from typing import Any

from smocast.aio.batchio import _IoVec, _MMsgHdr, _symbol
from smocast.aio.netaddr import sockaddr
from smocast.core.datagram import Datagram
from smocast.core.errors import ConfigError

SEND_BATCH = 64  # datagrams per sendmmsg call
SEND_SLOT = 65536  # bytes per message: the largest UDP datagram fits
SEND_MIN = 4
"""Fewer datagrams than this go one ``sendto`` each: the call's own cost (ctypes, the copies)
then exceeds the system calls it saves (on loopback it broke even at 4 and saved 8-12% per
datagram from 8 on; ``docs/benchmarks.md``, "Unicast repairs in one ``sendmmsg``")."""
NAME_CACHE = 4096  # destinations whose encoded socket address is kept
_NAME_STRIDE = 32  # bytes per socket address slot: sizeof(struct sockaddr_in6) rounded up to 8
_SOCKADDR_IN = 16
_SOCKADDR_IN6 = 28
_UNKNOWN = bytes(1)  # a destination not encoded yet (no encoded name is one byte long)


def _load_sendmmsg() -> Callable[..., int] | None:
    """libc's ``sendmmsg`` among the interpreter's own symbols, or None (not Linux, no such symbol)."""
    function: Any = _symbol(None, "sendmmsg")
    if function is None:
        return None
    function.restype = ctypes.c_int  # no argtypes: the caller passes ints and a ready c_void_p (cheaper)
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
    ``batch`` of them with one ``sendmmsg``. See the module docstring for what it returns and
    raises. Each message has a slot of its own (``slot`` bytes of one anonymous mapping, so
    only the pages written become resident, and its socket address): filling one costs a
    copy, a length and, when the slot's last destination was another, its address.
    """

    def __init__(self, sock: socket.socket, batch: int = SEND_BATCH, slot: int = SEND_SLOT) -> None:
        if not batch_sending_available():
            raise OSError(errno.ENOSYS, "sendmmsg is not available here")
        self._fd = sock.fileno()
        self._family = sock.family
        self._batch = batch
        self._slot = slot
        self._memory = mmap.mmap(-1, batch * slot)
        self._data = memoryview(self._memory)
        base = ctypes.addressof(ctypes.c_char.from_buffer(self._memory))
        self._names = (ctypes.c_char * (batch * _NAME_STRIDE))()
        self._iovecs = (_IoVec * batch)()
        self._headers = (_MMsgHdr * batch)()
        self._headers_at = ctypes.c_void_p(ctypes.addressof(self._headers))  # converted once, not per call
        name_size = _SOCKADDR_IN6 if self._family == socket.AF_INET6 else _SOCKADDR_IN
        names = ctypes.addressof(self._names)
        for i in range(batch):
            self._iovecs[i].iov_base = base + i * slot
            header = self._headers[i].msg_hdr
            header.msg_name = names + i * _NAME_STRIDE
            header.msg_namelen = name_size
            header.msg_iov = ctypes.pointer(self._iovecs[i])
            header.msg_iovlen = 1
        self._lengths = memoryview(self._iovecs).cast("B").cast("Q")[1::2]  # each iovec's iov_len
        self._name_bytes = memoryview(self._names).cast("B")
        self._slot_names: list[bytes | None] = [None] * batch  # the address each slot holds
        self._encoded: dict[Any, bytes | None] = {}
        self.calls = 0  # sendmmsg calls made
        self.sent = 0  # datagrams they sent

    def close(self) -> None:
        """Release the buffer (the sender cannot be used after)."""
        for view in (self._lengths, self._name_bytes, self._data):
            view.release()
        self._memory.close()

    def send(self, datagrams: Sequence[Datagram[Any]], start: int, end: int) -> int:
        """Send ``datagrams[start:end]`` (the first ``batch`` of them) with one ``sendmmsg``.

        Returns how many the kernel took, from ``start`` on (at least 1); then call again from
        the first one not taken. Returns 0, sending nothing, when ``datagrams[start]`` cannot
        go this way (its destination is not a numeric address, or it is larger than a slot):
        send that one with ``sendto``. Raises ``datagrams[start]``'s error as ``sendto`` would
        (``BlockingIOError`` when the socket is full).
        """
        count = self._fill(datagrams, start, min(end, start + self._batch))
        if count == 0:
            return 0
        sent = _sendmmsg(self._fd, self._headers_at, count, 0)  # type: ignore[misc]
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
        """Copy ``datagrams[start:end]`` and their addresses into the slots; how many fit."""
        data, lengths, slot, slot_names, encoded = (
            self._data,
            self._lengths,
            self._slot,
            self._slot_names,
            self._encoded,
        )
        count = at = 0
        for index in range(start, end):
            datagram = datagrams[index]
            payload = datagram[0]
            size = len(payload)
            name = encoded.get(datagram[1], _UNKNOWN)
            if name is _UNKNOWN:
                name = self._encode(datagram[1])
            if name is None or size > slot:
                break
            data[at : at + size] = payload
            lengths[count] = size
            if slot_names[count] is not name:
                self._name_bytes[count * _NAME_STRIDE : (count + 1) * _NAME_STRIDE] = name
                slot_names[count] = name
            count += 1
            at += slot
        return count

    def _encode(self, destination: Any) -> bytes | None:
        cache = self._encoded
        if len(cache) >= NAME_CACHE:
            cache.clear()  # bounded, whatever addresses peers send from
            self._slot_names = [None] * self._batch  # the cleared names may be made again: compare afresh
        name = cache[destination] = encode_name(destination, self._family)
        return name
