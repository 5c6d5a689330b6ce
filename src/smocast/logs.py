"""Logging for the commands and the runtime: the set-up, and one log line per protocol event.

:func:`setup_logging` installs one handler on the ``smocast`` logger (stderr or a file; text
or JSON lines). :func:`log_event` turns a typed event of :mod:`smocast.smo.events` into one
line: a receiver joined (or resumed), was dropped with its reason, completed, left; the
transfer started; the channel finished; a receiver connected or was reset. Events that come
once per packet (data, messages) are ignored at the cost of one dictionary lookup, so the
runtime may pass every event through. :class:`RepairWatch` logs repair bursts from the
channel's counters; :func:`log_line` logs what has no typed event (a fail-over).

Every line carries ``event`` (its name: ``joined``, ``dropped``...) and its fields (receiver,
address, reason...). JSON lines hold them as keys; text lines show the message, with control
characters escaped (reasons come from the wire).

This module imports nothing of the protocol: events are told apart by their class name.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from collections.abc import AsyncIterable, Callable
from typing import TYPE_CHECKING, Any

from smocast.text import printable

if TYPE_CHECKING:
    import asyncio

SOURCE = logging.getLogger("smocast.source")
RECEIVER = logging.getLogger("smocast.receiver")
_ROOT = "smocast"
_OURS = "_smocast_handler"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time (a live progress display redirects it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


class TextFormatter(logging.Formatter):
    """``2024-05-01 12:00:00,123 INFO smocast.source: receiver 3 joined from 10.0.0.2:40000``."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def formatMessage(self, record: logging.LogRecord) -> str:
        return printable(super().formatMessage(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, event, message, and the fields."""

    def format(self, record: logging.LogRecord) -> str:
        import datetime  # noqa: PLC0415  (loaded by the first JSON line, not by every command)

        obj: dict[str, Any] = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": getattr(record, "event", None),
            "message": record.getMessage(),
        }
        obj.update(getattr(record, "fields", {}))
        if record.exc_info:
            obj["exception"] = self.formatException(record.exc_info)
        return json.dumps(obj, ensure_ascii=True)


def setup_logging(level: str = "warning", file: str | None = None, fmt: str = "text") -> logging.Handler:
    """Send the ``smocast`` loggers' lines at ``level`` and above to ``file`` (appended) or stderr.

    Calling it again replaces the handler it installed before. Raises ``OSError`` when the
    file cannot be opened; the caller reports it.
    """
    root = logging.getLogger(_ROOT)
    handler: logging.Handler = logging.FileHandler(file, encoding="utf-8") if file else _Stderr()
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    setattr(handler, _OURS, True)
    for old in [h for h in root.handlers if getattr(h, _OURS, False)]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(level.upper())
    return handler


def log_failure(message: str, kind: str) -> None:
    """Log the command's final error as an ``error`` line, when lines go to a file.

    On stderr the command prints the error itself; a second copy there would only repeat it.
    """
    root = logging.getLogger(_ROOT)
    if any(getattr(h, _OURS, False) and not isinstance(h, _Stderr) for h in root.handlers):
        log_line(logging.getLogger("smocast.cli"), logging.ERROR, "error", message, kind=kind)


def log_line(logger: logging.Logger, level: int, event: str, message: str, **fields: Any) -> None:
    """Log one line named ``event`` with ``fields`` (JSON keys; plain values)."""
    if logger.isEnabledFor(level):
        logger.log(level, message, extra={"event": event, "fields": fields})


def _address(address: tuple[str, int]) -> str:
    host, port = address
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _joined(e: Any) -> tuple[int, str, str, dict[str, Any]]:
    fields = {"receiver": e.receiver, "address": _address(e.address), "start": e.start}
    if e.start:
        return (
            logging.INFO,
            "resumed",
            f"receiver {e.receiver} at {fields['address']} resumed at byte {e.start}",
            fields,
        )
    return logging.INFO, "joined", f"receiver {e.receiver} joined from {fields['address']}", fields


def _dropped(e: Any) -> tuple[int, str, str, dict[str, Any]]:
    reason = str(e.reason.value if hasattr(e.reason, "value") else e.reason)
    fields = {"receiver": e.receiver, "address": _address(e.address), "reason": reason, "detail": e.detail}
    name = "refused" if reason == "late-join-refused" else "dropped"
    text = f"receiver {e.receiver} at {fields['address']} {name}: {reason} ({e.detail})"
    return logging.WARNING, name, text, fields


def _completed(e: Any) -> tuple[int, str, str, dict[str, Any]]:
    fields = {"receiver": e.receiver, "address": _address(e.address), "bytes_acked": e.acked}
    return logging.INFO, "completed", f"receiver {e.receiver} at {fields['address']} completed", fields


def _left(e: Any) -> tuple[int, str, str, dict[str, Any]]:
    reason = str(getattr(e.reason, "label", e.reason))
    fields = {"receiver": e.receiver, "address": _address(e.address), "reason": reason, "detail": e.detail}
    said = "" if reason == "unspecified" else f": {reason}" + (f" ({e.detail})" if e.detail else "")
    text = f"receiver {e.receiver} at {fields['address']} left" + (said or " (it closed)")
    return logging.WARNING, "left", text, fields


def _started(e: Any) -> tuple[int, str, str, dict[str, Any]]:
    return logging.INFO, "started", f"transfer started with {e.receivers} receivers", {"receivers": e.receivers}


def _finished(e: Any) -> tuple[int, str, str, dict[str, Any]]:
    fields = {"completed": e.completed, "dropped": e.dropped}
    return logging.INFO, "finished", f"channel finished: {e.completed} completed, {e.dropped} removed", fields


def _session(e: Any) -> tuple[int, str, str, dict[str, Any]]:
    fields = {"receiver": e.receiver, "bytes": len(e.data)}
    return logging.DEBUG, "session-data", f"receiver {e.receiver} sent {len(e.data)} bytes up", fields


def _connected(e: Any) -> tuple[int, str, str, dict[str, Any]]:
    return logging.INFO, "connected", f"connected; the stream starts at byte {e.start}", {"start": e.start}


def _ended(e: Any) -> tuple[int, str, str, dict[str, Any]]:
    return logging.INFO, "finished", f"the stream ended at byte {e.length}", {"length": e.length}


def _reset(e: Any) -> tuple[int, str, str, dict[str, Any]]:
    return logging.WARNING, "reset", f"reset: {e.reason}", {"reason": e.reason}


def _connect_failed(e: Any) -> tuple[int, str, str, dict[str, Any]]:
    return logging.ERROR, "connect-failed", f"connect failed: {e.reason}", {"reason": e.reason}


def _skipped(e: Any) -> tuple[int, str, str, dict[str, Any]]:
    fields = {"start": e.start, "end": e.end}
    return logging.DEBUG, "skipped", f"skipped stream bytes {e.start}..{e.end} (not repaired in time)", fields


_Line = Callable[[Any], tuple[int, str, str, dict[str, Any]]]
_SOURCE_LINES: dict[str, _Line] = {
    "ReceiverJoined": _joined,
    "ReceiverDropped": _dropped,
    "ReceiverCompleted": _completed,
    "ReceiverLeft": _left,
    "TransferStarted": _started,
    "ChannelFinished": _finished,
    "SessionData": _session,
}
_RECEIVER_LINES: dict[str, _Line] = {
    "Connected": _connected,
    "StreamEnded": _ended,
    "ConnectionReset": _reset,
    "ConnectFailed": _connect_failed,
    "Skipped": _skipped,
}


def log_event(event: object, logger: logging.Logger | None = None) -> None:
    """One log line for ``event`` (source or receiver side); per-packet events log nothing."""
    name = type(event).__name__
    line = _SOURCE_LINES.get(name)
    if line is not None:
        logger = logger or SOURCE
    else:
        line = _RECEIVER_LINES.get(name)
        if line is None:
            return
        logger = logger or RECEIVER
    level, event_name, text, fields = line(event)
    log_line(logger, level, event_name, text, **fields)


async def log_events(events: AsyncIterable[object], logger: logging.Logger | None = None) -> None:
    """Log every event of ``events`` (e.g. ``channel.events()``) until it ends.

    Run it as a task beside the work; at the end call :func:`stop_logging` on the task.
    """
    async for event in events:
        log_event(event, logger)


async def stop_logging(task: asyncio.Task[None], *, finished: bool) -> None:
    """End a :func:`log_events` task: when the channel ``finished``, its events end too, so the
    task logs the last of them (completions, the finish) and returns; otherwise it is cancelled."""
    import asyncio  # noqa: PLC0415  (commands that log without asyncio do not load it)

    if not finished:
        task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


class RepairWatch:
    """Logs a ``repair-burst`` line when the channel's repair counters grew since the last check."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self._logger = logger or SOURCE
        self._seen: tuple[int, int] | None = None
        self._at = 0.0

    def check(self, unicast: int, multicast: int, now: float) -> None:
        """Call about once a second with the counters (``channel.stats``) and the time."""
        if self._seen is not None:
            more_unicast, more_multicast = unicast - self._seen[0], multicast - self._seen[1]
            if more_unicast or more_multicast:
                span = now - self._at
                text = (
                    f"repair burst: {more_unicast} unicast and {more_multicast} multicast repairs "
                    f"in the last {span:.1f} s"
                )
                log_line(
                    self._logger,
                    logging.INFO,
                    "repair-burst",
                    text,
                    unicast=more_unicast,
                    multicast=more_multicast,
                    seconds=round(span, 3),
                )
        self._seen, self._at = (unicast, multicast), now
