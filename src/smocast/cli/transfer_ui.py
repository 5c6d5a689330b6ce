"""What ``smocast send`` and ``smocast recv`` share: address arguments, the progress bar, errors."""

from __future__ import annotations

import argparse
from types import TracebackType

from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from smocast.aio.options import parse_address
from smocast.cli.common import EXIT_FAILURE, CommandError, err_console
from smocast.core.datagram import Address
from smocast.core.errors import ConfigError, SmocastError


def address_arg(text: str) -> Address:
    """``HOST:PORT`` for argparse."""
    try:
        return parse_address(text, "address")
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


address_arg.__name__ = "HOST:PORT"


def failure(exc: SmocastError) -> CommandError:
    """A runtime or transfer error as the command's one-line failure."""
    return CommandError(str(exc), EXIT_FAILURE)


class TransferProgress:
    """A progress bar with rate and ETA on stderr; does nothing when ``enabled`` is false."""

    def __init__(self, description: str, total: int, *, enabled: bool) -> None:
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        if enabled:
            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(binary_units=True),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
                console=err_console,
                transient=True,
            )
            self._task = self._progress.add_task(description, total=total)

    def __enter__(self) -> TransferProgress:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._progress is not None:
            self._progress.stop()

    def update(self, done: int, total: int | None = None, description: str | None = None) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, completed=done, total=total, description=description)

    def describe(self, description: str) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, description=description)
