"""Why a receiver leaves: its own failure, as the reason code and text its RST carries to the source.

:func:`leave_reason` reads the exception that ends a receiver's ``async with`` (or one the
application hands to :meth:`~smocast.aio.receiver.AsyncReceiver.close`):

* none: ``CLOSED`` (the application left before the end);
* Ctrl-C, cancellation, ``SystemExit``: ``INTERRUPTED``;
* an exception that names its own code (a ``reset_code`` attribute, as the file transfer's
  :class:`~smocast.apps.filetransfer.IntegrityError` does): that code;
* an ``OSError`` behind it (also one raised ``from None``, which Python keeps as the
  context): ``DISK_FULL`` for a full disk or quota, ``NOT_WRITABLE`` for a read-only or
  forbidden output;
* anything else: ``RECEIVER_ERROR``.

The text is the exception's message (the source shows it beside the code; it may name the
receiver's output path).
"""

from __future__ import annotations

import errno

from smocast.wire import ResetCode

_DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
_NOT_WRITABLE = frozenset({errno.EROFS, errno.EACCES, errno.EPERM})
_CHAIN_LIMIT = 8  # causes and contexts followed, at most


def leave_reason(exc: BaseException | None) -> tuple[ResetCode, str]:
    """The code and text of the RST a receiver that ends with ``exc`` sends (None: a plain close)."""
    if exc is None:
        return ResetCode.CLOSED, ""
    if not isinstance(exc, Exception):
        return ResetCode.INTERRUPTED, ""
    code = getattr(exc, "reset_code", None)
    if isinstance(code, ResetCode):
        return code, str(exc)
    number = _os_errno(exc)
    if number in _DISK_FULL:
        return ResetCode.DISK_FULL, str(exc)
    if number in _NOT_WRITABLE:
        return ResetCode.NOT_WRITABLE, str(exc)
    return ResetCode.RECEIVER_ERROR, str(exc) or type(exc).__name__


def _os_errno(exc: BaseException) -> int | None:
    """The number of the ``OSError`` that ``exc`` is, or was raised from or while handling."""
    current: BaseException | None = exc
    for _ in range(_CHAIN_LIMIT):
        if current is None:
            return None
        if isinstance(current, OSError) and current.errno is not None:
            return current.errno
        current = current.__cause__ or current.__context__
    return None
