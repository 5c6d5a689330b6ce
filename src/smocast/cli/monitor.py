"""What a source shows and writes while it runs: the progress bar or the live table, the stats file, repair bursts.

:class:`ChannelMonitor` polls the channel's accounting (never once per packet): the
progress bar or the live receivers table a few times a second, and once a second the stats
file (:class:`StatsFile`) and the repair-burst log line (:class:`~smocast.logs.RepairWatch`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from rich.console import Group
from rich.live import Live

from smocast.aio import AsyncChannel
from smocast.cli.common import CommandError, err_console
from smocast.cli.receivers_view import ReceiverRow, receiver_rows, receivers_table, stats_json, table_note
from smocast.cli.transfer_ui import TransferProgress
from smocast.cli.units import Units
from smocast.logs import SOURCE, RepairWatch, log_line

PROGRESS_INTERVAL = 0.1  # seconds between progress-bar updates
TABLE_INTERVAL = 0.25  # ... between redraws of the live table
STATS_INTERVAL = 1.0  # ... between writes of the stats file and checks for repair bursts


class StatsFile:
    """A JSON file replaced atomically (written to a temporary file beside it, then renamed)."""

    def __init__(self, path: Path) -> None:
        if not path.parent.is_dir():
            raise CommandError(f"cannot write the stats file {path}: {path.parent} is not a directory", kind="file")
        if not os.access(path.parent, os.W_OK):
            raise CommandError(f"cannot write the stats file {path}: {path.parent} is not writable", kind="file")
        self.path = path
        self._failed = False

    def write(self, obj: dict[str, Any]) -> None:
        """Replace the file with ``obj``; a failure is logged once and the run goes on."""
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            temporary.write_text(json.dumps(obj, indent=1) + "\n", encoding="utf-8")
            temporary.replace(self.path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                temporary.unlink()
            if not self._failed:
                self._failed = True
                log_line(SOURCE, logging.WARNING, "stats-file", f"cannot write {self.path}: {exc.strerror}")


class LiveTable:
    """The live receivers table on stderr, redrawn by :meth:`update`; gone when it stops."""

    def __init__(self, *, sort: str, top: int, units: Units, mss: int) -> None:
        self._sort, self._top, self._units, self._mss = sort, top, units, mss
        self._live = Live(console=err_console, transient=True, auto_refresh=False)

    def __enter__(self) -> LiveTable:
        self._live.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._live.stop()

    def update(self, rows: list[ReceiverRow], title: str) -> None:
        table = receivers_table(rows, sort=self._sort, top=self._top, units=self._units, mss=self._mss, title=title)
        note = table_note(rows, sort=self._sort, top=self._top, mss=self._mss)
        self._live.update(Group(table, note), refresh=True)


class ChannelMonitor:
    """Polls ``channel`` until cancelled: progress or live table, stats file, repair bursts."""

    def __init__(
        self,
        channel: AsyncChannel,
        *,
        wanted: int,
        about: dict[str, Any],
        progress: TransferProgress | None = None,
        table: LiveTable | None = None,
        stats: StatsFile | None = None,
    ) -> None:
        self._channel, self._wanted, self._about = channel, wanted, about
        self._progress, self._table, self._stats = progress, table, stats
        self._repairs = RepairWatch()

    def now(self) -> float:
        """Seconds since the channel opened (the clock of its records)."""
        return asyncio.get_running_loop().time() - self._channel.opened_at

    def rows(self) -> list[ReceiverRow]:
        return receiver_rows(self._channel.records(), self._channel.receivers(), self.now())

    def state(self) -> str:
        channel = self._channel
        if channel.finished:
            return "finished"
        return "sending" if channel.started else "waiting for receivers"

    async def run(self) -> None:
        """Refresh until cancelled; the caller cancels it once the channel is closed."""
        next_table = next_stats = 0.0
        while True:
            now = self.now()
            if self._progress is not None:
                self._update_progress(self._progress)
            if self._table is not None and now >= next_table:
                self._table.update(self.rows(), self._title())
                next_table = now + TABLE_INTERVAL
            if now >= next_stats:
                self.write_stats()
                stats = self._channel.stats
                self._repairs.check(stats.repair_unicast, stats.repair_multicast, now)
                next_stats = now + STATS_INTERVAL
            await asyncio.sleep(PROGRESS_INTERVAL)

    def write_stats(self) -> None:
        """Write the stats file now (also once at the end, with the final state)."""
        if self._stats is None:
            return
        stats = self._channel.stats
        about = {
            "time": round(time.time(), 3),
            "uptime_s": round(self.now(), 3),
            "state": self.state(),
            **self._about,
            "segments": {
                "original": stats.original_segments,
                "repair_unicast": stats.repair_unicast,
                "repair_multicast": stats.repair_multicast,
            },
            "acks_processed": stats.acks_processed,
        }
        self._stats.write(stats_json(self.rows(), **about))

    def _update_progress(self, progress: TransferProgress) -> None:
        live = [r for r in self._channel.receivers() if r.state != "syn-received"]
        if not self._channel.started:
            progress.describe(f"waiting for receivers: {len(live)} of {self._wanted} joined")
        else:
            done = min((r.acked for r in live), default=self._channel.bytes_sent)
            progress.update(done, description=f"sending to {len(live)} receivers")

    def _title(self) -> str:
        return f"{self.state()}: {self._about.get('file', '')} to {self._about.get('group', '')}"
