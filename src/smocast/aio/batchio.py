"""Datagrams in batches: ``recvmmsg`` with UDP GRO on input, UDP GSO on output (Linux).

* :class:`BatchReader` reads up to ``batch`` messages with one ``recvmmsg`` call (libc, through
  :mod:`ctypes`; the standard library lacks it) into one anonymous mapping of 64 KiB slots, so
  no datagram is ever truncated and only the pages the kernel writes become resident. On a
  socket with ``UDP_GRO`` (:func:`enable_gro`) one message may be several datagrams of one
  size, coalesced by the kernel, their size in a ``(SOL_UDP, UDP_GRO)`` control message: the
  reader splits them again. It hands each datagram as a :class:`memoryview` of its slot,
  valid until the next :meth:`BatchReader.read`; whoever keeps one must copy it.
* :class:`GsoSender` sends a run of equal-size datagrams to one address with one ``sendmsg``
  and a ``(SOL_UDP, UDP_SEGMENT)`` control message: the kernel (or the device) cuts it into
  datagrams again. :func:`gso_runs` finds those runs in a list of datagrams. The first
  refusal (EIO, EINVAL, ENOPROTOOPT, EOPNOTSUPP: no GSO for this socket or route) turns it
  off for good; the caller then sends one datagram at a time.

What the kernel does with them on loopback and on the testbed's veth links is measured in
``docs/benchmarks.md`` ("Batched I/O").
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import mmap
import os
import socket
import struct
from array import array
from collections.abc import Callable, Sequence
from operator import add
from typing import Any

from smocast.aio.netaddr import canonical
from smocast.core.datagram import Address

SOL_UDP = 17  # <netinet/udp.h>
UDP_SEGMENT = 103  # <linux/udp.h>: GSO, the segment size (u16)
UDP_GRO = 104  # <linux/udp.h>: GRO on input; the size arrives as a control message (int)
SLOT = 65536  # bytes per message: the largest UDP datagram fits, so nothing is truncated
READ_BATCH = 64  # messages per recvmmsg call
MAX_GSO_SEGMENTS = 64  # UDP_MAX_SEGMENTS of older kernels (newer ones take 128)
# Payload bytes per GSO send: well below an IP datagram's 65,535, so that a run with its headers
# fits a tc tbf's burst of 32 KiB (the testbed's least) and crosses a shaper whole: the receivers'
# GRO then still sees it coalesced. Beyond that the sender's gain per datagram is small.
MAX_GSO_BYTES = 32000
ADDRESS_CACHE = 65536  # socket addresses whose decoded form is kept
_GSO_REFUSED = frozenset({errno.EIO, errno.EINVAL, errno.ENOPROTOOPT, errno.EOPNOTSUPP})
_NAME_SIZE = 28  # sizeof(struct sockaddr_in6), the larger of the two families
_SOCKADDR_IN = 16  # sizeof(struct sockaddr_in)
_NAME_STRIDE = 32  # bytes between two messages' names (8-byte aligned)
SO_TIMESTAMPNS = 35  # <asm-generic/socket.h>: the kernel's receive time, a (SOL_SOCKET, SO_TIMESTAMPNS) timespec
_CONTROL_SIZE = 64  # CMSG_SPACE(sizeof(struct timespec)) + CMSG_SPACE(sizeof(int)): a timestamp and a UDP_GRO size
_CMSG = struct.Struct("=Qii")  # cmsg_len (size_t), cmsg_level, cmsg_type; the data follows
_GRO_SIZE = struct.Struct("=H")  # the UDP_GRO segment size (an int; its low half, little-endian)
_TIMESPEC = struct.Struct("=qq")  # tv_sec, tv_nsec
# Control data of these lengths holds no UDP_GRO size (none at all, or a timestamp alone):
# the message is one datagram, and its control data need not be parsed.
_ONE_DATAGRAM = frozenset({0, _CMSG.size + _TIMESPEC.size})


class _IoVec(ctypes.Structure):
    _fields_ = [("iov_base", ctypes.c_void_p), ("iov_len", ctypes.c_size_t)]


class _MsgHdr(ctypes.Structure):
    _fields_ = [
        ("msg_name", ctypes.c_void_p),
        ("msg_namelen", ctypes.c_uint32),
        ("msg_iov", ctypes.POINTER(_IoVec)),
        ("msg_iovlen", ctypes.c_size_t),
        ("msg_control", ctypes.c_void_p),
        ("msg_controllen", ctypes.c_size_t),
        ("msg_flags", ctypes.c_int),
    ]


class _MMsgHdr(ctypes.Structure):
    _fields_ = [("msg_hdr", _MsgHdr), ("msg_len", ctypes.c_uint)]


def _load_recvmmsg() -> Callable[..., int] | None:
    """libc's ``recvmmsg``, or None where there is none (not Linux, no libc found).

    The interpreter's own symbols come first: it is linked against libc, so this costs no
    search. ``ctypes.util.find_library`` (which runs ``ldconfig -p``, a few milliseconds of
    every receiver's start) is the fallback for an interpreter that does not export libc.
    """
    function: Any = _symbol(None, "recvmmsg")
    if function is None:
        from ctypes.util import find_library  # noqa: PLC0415

        name = find_library("c")
        function = _symbol(name, "recvmmsg") if name else None
    if function is None:
        return None
    function.argtypes = [ctypes.c_int, ctypes.POINTER(_MMsgHdr), ctypes.c_uint, ctypes.c_int, ctypes.c_void_p]
    function.restype = ctypes.c_int
    loaded: Callable[..., int] = function
    return loaded


def _symbol(library: str | None, name: str) -> Any:
    """``name`` in ``library`` (None: the interpreter and what it links), or None."""
    try:
        return getattr(ctypes.CDLL(library, use_errno=True), name)
    except (OSError, AttributeError):
        return None


_recvmmsg = _load_recvmmsg()
_U32 = ctypes.sizeof(ctypes.c_uint32)
_U64 = ctypes.sizeof(ctypes.c_size_t)
_HEADER = ctypes.sizeof(_MMsgHdr)
_NAMELEN_AT = _MsgHdr.msg_namelen.offset
_CONTROLLEN_AT = _MsgHdr.msg_controllen.offset
_LEN_AT = _MMsgHdr.msg_len.offset
_ALIGNED = _HEADER % _U64 == 0 and _NAMELEN_AT % _U32 == 0 and _CONTROLLEN_AT % _U64 == 0 and _LEN_AT % _U32 == 0


def batch_reading_available() -> bool:
    """True where :class:`BatchReader` works (Linux, a libc with ``recvmmsg``, an LP64 layout)."""
    return _recvmmsg is not None and _ALIGNED and _U64 == 8


def enable_timestamps(sock: socket.socket) -> bool:
    """Ask the kernel to stamp each datagram on ``sock`` with its arrival time (``SO_TIMESTAMPNS``,
    Linux); False if it refuses."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    except OSError:
        return False
    return True


def enable_gro(sock: socket.socket) -> bool:
    """Ask the kernel to coalesce same-size datagrams on ``sock`` (``UDP_GRO``); False if it refuses."""
    try:
        sock.setsockopt(SOL_UDP, UDP_GRO, 1)
    except OSError:
        return False
    return True


class BatchReader:
    """Reads datagrams from one non-blocking UDP socket, many per system call.

    Call :meth:`read` when the socket is readable; it returns the datagrams read, each as
    ``(data, source)``, with ``data`` a :class:`memoryview` that the next :meth:`read`
    overwrites. It raises ``BlockingIOError`` when nothing waits, and any other ``OSError``
    of the socket (an ICMP error reported on it, for instance), as ``recvfrom`` would.
    ``gro``: the socket has ``UDP_GRO`` (:func:`enable_gro`); coalesced messages are split.
    ``timestamps``: the socket has ``SO_TIMESTAMPNS`` (:func:`enable_timestamps`); after each
    :meth:`read`, :attr:`arrival` is when the batch's last message reached the host (the
    kernel's ``CLOCK_REALTIME``, seconds), or None.

    The per-datagram work is a few list operations done in C (``tolist`` of strided views of
    the headers, ``map``): the lengths and sources of a batch are read in one go, and sources
    are decoded once per peer (a cache keyed by the raw IPv4 address and port).
    """

    def __init__(
        self, sock: socket.socket, batch: int = READ_BATCH, *, gro: bool = False, timestamps: bool = False
    ) -> None:
        if not batch_reading_available():
            raise OSError(errno.ENOSYS, "recvmmsg is not available here")
        self._fd = sock.fileno()
        self._batch = batch
        self._gro = gro
        self.timestamps = timestamps
        self.arrival: float | None = None  # the kernel's receive time of the last read's last message
        self._v4 = sock.family == socket.AF_INET
        self._memory = mmap.mmap(-1, batch * (SLOT + _NAME_STRIDE + _CONTROL_SIZE))
        self._view = memoryview(self._memory)
        self._headers = (_MMsgHdr * batch)()
        self._iovecs = (_IoVec * batch)()
        self._build(batch, _SOCKADDR_IN if self._v4 else _NAME_SIZE)
        raw = memoryview(self._headers).cast("B")
        self._u64 = raw.cast("Q")
        self._lens = raw.cast("I")[_LEN_AT // _U32 :: _HEADER // _U32]
        self._controls = self._u64[_CONTROLLEN_AT // _U64 :: _HEADER // _U64]
        names = self._view[batch * SLOT : batch * (SLOT + _NAME_STRIDE)]
        self._keys = names.cast("Q")[:: _NAME_STRIDE // _U64]  # family, port and IPv4 address: one int
        self._starts = list(range(0, batch * SLOT, SLOT))
        self._room = memoryview(array("Q", [_CONTROL_SIZE]) * batch)  # every slot's control room, to give back
        self._addresses: dict[object, Address] = {}
        self.messages = 0  # messages the last read returned (fewer than its datagrams: coalesced)
        self.full = False  # the last read filled every slot: more may be waiting (else the socket was drained)

    def _build(self, batch: int, name_size: int) -> None:
        base = ctypes.addressof(ctypes.c_char.from_buffer(self._memory))
        names = base + batch * SLOT
        controls = names + batch * _NAME_STRIDE
        for i in range(batch):
            self._iovecs[i].iov_base = base + i * SLOT
            self._iovecs[i].iov_len = SLOT
            header = self._headers[i].msg_hdr
            header.msg_name = names + i * _NAME_STRIDE
            header.msg_namelen = name_size  # the kernel writes back the same size for this family
            header.msg_iov = ctypes.pointer(self._iovecs[i])
            header.msg_iovlen = 1
            control = self._gro or self.timestamps
            header.msg_control = controls + i * _CONTROL_SIZE if control else None
            header.msg_controllen = _CONTROL_SIZE if control else 0

    def close(self) -> None:
        """Release the mapping (no view handed out may be used after)."""
        for view in (self._lens, self._controls, self._keys, self._u64, self._view):
            view.release()
        with contextlib.suppress(BufferError):
            self._memory.close()

    def read(self) -> list[tuple[memoryview, Address]]:
        count = _recvmmsg(self._fd, self._headers, self._batch, 0, None)  # type: ignore[misc]
        if count < 0:
            code = ctypes.get_errno()
            if code in (errno.EAGAIN, errno.EWOULDBLOCK):
                raise BlockingIOError(code, "no datagram waiting")
            raise OSError(code, os.strerror(code))
        self.messages = count
        self.full = count == self._batch
        lens = self._lens[:count].tolist()
        sources = self._sources(count)
        if self.timestamps:
            self.arrival = self._arrival(count - 1)
        if self._gro or self.timestamps:
            used = self._controls[:count]
            if self._gro and not _ONE_DATAGRAM.issuperset(used.tolist()):
                return self._split_coalesced(count, lens, sources)
            used[:] = self._room[:count]  # the kernel wrote back what it used: give the room again
        starts = self._starts
        return list(zip(map(self._view.__getitem__, map(slice, starts, map(add, starts, lens))), sources, strict=True))

    def _sources(self, count: int) -> list[Address]:
        """The source of each message read, decoded once per peer."""
        if self._v4:
            keys: list[Any] = self._keys[:count].tolist()
        else:
            at = self._batch * SLOT
            keys = [bytes(self._view[at + i * _NAME_STRIDE : at + i * _NAME_STRIDE + _NAME_SIZE]) for i in range(count)]
        cache = self._addresses
        sources = list(map(cache.get, keys))
        if None in sources:
            if len(cache) + count > ADDRESS_CACHE:
                cache.clear()  # bounded, whatever addresses peers send from
            for i, source in enumerate(sources):
                if source is None:
                    sources[i] = cache[keys[i]] = _decode_name(self._name(i))
        return sources  # type: ignore[return-value]

    def _name(self, index: int) -> bytes:
        at = self._batch * SLOT + index * _NAME_STRIDE
        return bytes(self._view[at : at + (_SOCKADDR_IN if self._v4 else _NAME_SIZE)])

    def _split_coalesced(self, count: int, lens: list[int], sources: list[Address]) -> list[tuple[memoryview, Address]]:
        """Each message as its datagrams: a coalesced one cut at its ``UDP_GRO`` segment size."""
        out: list[tuple[memoryview, Address]] = []
        view, controls = self._view, self._controls
        for i in range(count):
            start, size = i * SLOT, lens[i]
            segment = 0 if controls[i] in _ONE_DATAGRAM else self._segment_size(i)
            controls[i] = _CONTROL_SIZE  # the kernel wrote back what it used: give the slot its room again
            if segment and segment < size:
                _split(out, view, start, size, segment, sources[i])
            else:
                out.append((view[start : start + size], sources[i]))
        return out

    def _segment_size(self, index: int) -> int:
        """The ``UDP_GRO`` segment size in message ``index``'s control data, else 0."""
        at = self._control_data(index, SOL_UDP, UDP_GRO, _GRO_SIZE.size)
        return 0 if at is None else int(_GRO_SIZE.unpack_from(self._view, at)[0])

    def _arrival(self, index: int) -> float | None:
        """The ``SO_TIMESTAMPNS`` receive time in message ``index``'s control data, else None."""
        at = self._control_data(index, socket.SOL_SOCKET, SO_TIMESTAMPNS, _TIMESPEC.size)
        if at is None:
            return None
        seconds, nanoseconds = _TIMESPEC.unpack_from(self._view, at)
        return float(seconds + nanoseconds * 1e-9)

    def _control_data(self, index: int, level: int, kind: int, size: int) -> int | None:
        """Where the data of message ``index``'s ``(level, kind)`` control message starts, if it
        holds at least ``size`` bytes; None if there is none."""
        start = self._batch * (SLOT + _NAME_STRIDE) + index * _CONTROL_SIZE
        used = min(int(self._controls[index]), _CONTROL_SIZE)
        at, end = start, start + used
        while at + _CMSG.size <= end:
            length, cmsg_level, cmsg_kind = _CMSG.unpack_from(self._view, at)
            if length < _CMSG.size:
                return None
            if cmsg_level == level and cmsg_kind == kind:
                return at + _CMSG.size if length >= _CMSG.size + size else None
            at += (length + 7) & ~7  # CMSG_ALIGN
        return None


def _split(
    out: list[tuple[memoryview, Address]], view: memoryview, start: int, size: int, step: int, source: Address
) -> None:
    """The datagrams of one coalesced message: ``step`` bytes each, the last one possibly shorter."""
    end = start + size
    for at in range(start, end, step):
        out.append((view[at : min(at + step, end)], source))


def _decode_name(name: bytes) -> Address:
    """A ``struct sockaddr_in`` or ``sockaddr_in6`` in the cores' form (as ``recvfrom`` reports it)."""
    family = struct.unpack_from("=H", name)[0]
    port = int.from_bytes(name[2:4], "big")
    if family == socket.AF_INET6 and len(name) >= _NAME_SIZE:
        scope = struct.unpack_from("=I", name, 24)[0]
        return canonical((socket.inet_ntop(socket.AF_INET6, name[8:24]), port, 0, scope))
    return (socket.inet_ntoa(name[4:8]), port)


class GsoSender:
    """Sends runs of equal-size datagrams with one ``sendmsg`` each (UDP GSO), while the kernel lets it."""

    __slots__ = ("enabled", "sends")

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.sends = 0  # GSO sends that the kernel took

    def send(self, sock: socket.socket, buffers: Sequence[bytes], size: int, address: Any) -> bool:
        """Send ``buffers`` (each ``size`` bytes, the last one possibly shorter) to ``address`` as one
        GSO message. False when the kernel refuses GSO here (it is then off for good and nothing
        was sent: send one at a time); other errors (EAGAIN, ENOBUFS...) raise as ``sendto`` does."""
        try:
            sock.sendmsg(buffers, [(SOL_UDP, UDP_SEGMENT, struct.pack("=H", size))], 0, address)
        except OSError as exc:
            if exc.errno in _GSO_REFUSED and not self.sends:
                self.enabled = False
                return False
            raise
        self.sends += 1
        return True


def gso_runs(
    sizes: Sequence[int], keys: Sequence[object], max_segments: int = MAX_GSO_SEGMENTS, max_bytes: int = MAX_GSO_BYTES
) -> list[tuple[int, int]]:
    """Split datagrams ``0..n`` into runs ``(start, end)`` that one GSO send can carry.

    A run has datagrams of one size (``sizes[i]``) and one key (``keys[i]``: the destination,
    or None for a datagram that must go alone), at most ``max_segments`` of them and
    ``max_bytes`` in all. Single datagrams come back as runs of one.
    """
    runs: list[tuple[int, int]] = []
    start, count = 0, len(sizes)
    while start < count:
        end = start + 1
        key, size = keys[start], sizes[start]
        if key is not None:
            limit = min(count, start + max_segments, start + max(1, max_bytes // max(size, 1)))
            while end < limit and sizes[end] == size and keys[end] == key:
                end += 1
        runs.append((start, end))
        start = end
    return runs
