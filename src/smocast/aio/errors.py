"""Errors of the asyncio runtime, and the one table that turns ``OSError`` numbers into messages.

Every socket or file failure the runtime, the file-transfer application or the commands
report goes through :func:`os_error_message`, so a message such as "port in use" or "disk
full" is worded once. Messages are one short line: what failed, then why, then (where there
is one) what to try.
"""

from __future__ import annotations

import errno
import socket

from smocast.core.errors import SmocastError
from smocast.wire import ResetCode


class NetworkError(SmocastError):
    """A socket operation failed (bind, join, send, receive, name lookup).

    ``errno`` is the operating system's error number when there was one. The message is
    ready to show to a user; the runtime has already closed what it opened.
    """

    def __init__(self, message: str, errno_value: int | None = None) -> None:
        super().__init__(message)
        self.errno = errno_value


class ConnectFailedError(NetworkError):
    """The source never answered the handshake (timeout), or refused it (nothing listening)."""


class ResetError(NetworkError):
    """The source reset this receiver: it dropped it, or refused a late join. Leave the channel."""


_REASONS: dict[int, str] = {
    errno.EADDRINUSE: "the address is already in use (another program is bound to that port)",
    errno.EADDRNOTAVAIL: "that address does not belong to this host",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted (a firewall rule may be dropping the traffic)",
    errno.ENETUNREACH: "no route (for a multicast group add one, e.g. 'ip route add 224.0.0.0/4 dev eth0', "
    "or pick the interface explicitly)",
    errno.EHOSTUNREACH: "host unreachable",
    errno.ENETDOWN: "the network is down",
    errno.ECONNREFUSED: "connection refused (nothing is listening there)",
    errno.ENODEV: "no such network interface (pick the interface explicitly)",
    errno.ENOBUFS: "the kernel ran out of buffer space",
    errno.EMSGSIZE: "the datagram is larger than the path allows (lower the MSS)",
    errno.ENOSPC: "disk full",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "read-only file system",
    errno.ENOENT: "no such file or directory",
    errno.ENOTDIR: "not a directory",
    errno.EISDIR: "is a directory",
    errno.EMFILE: "too many open files",
    errno.ENFILE: "too many open files in the system",
    errno.EINVAL: "invalid argument",
    errno.EFBIG: "file too large for this file system",
}


def os_error_message(exc: OSError, action: str) -> str:
    """``action`` (what was being done) and the reason ``exc`` gives, as one line.

    >>> os_error_message(OSError(errno.ENOSPC, "No space left on device"), "cannot write x")
    'cannot write x: disk full'
    """
    if isinstance(exc, socket.gaierror):
        return f"{action}: unknown host ({exc.strerror or exc})"
    if isinstance(exc, TimeoutError) and exc.errno is None:
        return f"{action}: timed out"
    reason = _REASONS.get(exc.errno) if exc.errno is not None else None
    if reason is None:
        reason = (exc.strerror or str(exc) or type(exc).__name__).rstrip(".")
    return f"{action}: {reason}"


def network_error(exc: OSError, action: str) -> NetworkError:
    """A :class:`NetworkError` for ``exc``; refusals become :class:`ConnectFailedError`."""
    message = os_error_message(exc, action)
    if exc.errno == errno.ECONNREFUSED:
        return ConnectFailedError(message, exc.errno)
    return NetworkError(message, exc.errno)


def reset_error(reason: str, code: ResetCode, *, joined: bool) -> NetworkError:
    """The error a receiver's reset raises: a silent source is a network failure; the rest are
    the source's decision (a drop once ``joined``, else a refusal)."""
    if code is ResetCode.SOURCE_SILENT:
        return NetworkError(f"{reason}; is it still running, and does its group reach this host?")
    verb = "dropped this receiver" if joined else "refused the connection"
    return ResetError(f"the source {verb} ({reason})")


def connect_failed_error(reason: str, *, secure_unanswered: bool) -> ConnectFailedError:
    """The error of a failed handshake; ``secure_unanswered``: a secure receiver heard nothing of
    the source's key exchange, so the message says the two modes do not meet."""
    if secure_unanswered and "no answer" in reason:
        reason += " (a source in the insecure mode answers no secure receiver: pass --insecure to both, or neither)"
    return ConnectFailedError(reason)
