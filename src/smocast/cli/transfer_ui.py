"""What ``smocast send`` and ``smocast recv`` share: the progress bar, and errors as the command's failure.

``rich`` loads only when the bar is shown: a ``--json`` run never imports it.
"""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Any

from smocast.cli import common
from smocast.cli.common import CommandError, address_arg
from smocast.cli.errors import classify
from smocast.core.errors import SmocastError

__all__ = ["TransferProgress", "address_arg", "failure"]  # address_arg: where commands found it before


def failure(exc: SmocastError) -> CommandError:
    """A runtime or transfer error as the command's one-line failure, with its kind and exit code."""
    kind, code = classify(exc)
    return CommandError(str(exc), code, kind)


def _progress_bar() -> Any:
    """A rich progress bar: description, bar, bytes done (binary units), rate in Mbit/s, time left."""
    from rich.progress import (  # noqa: PLC0415
        BarColumn,
        DownloadColumn,
        Progress,
        ProgressColumn,
        Task,
        TextColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text  # noqa: PLC0415

    class RateColumn(ProgressColumn):
        """The transfer rate in Mbit/s, the unit of every other rate smocast prints."""

        def render(self, task: Task) -> Text:
            speed = task.finished_speed or task.speed
            return Text("-" if speed is None else f"{speed * 8 / 1e6:.1f} Mbit/s", style="progress.data.speed")

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(binary_units=True),
        RateColumn(),
        TimeRemainingColumn(),
        console=common.err_console,
        transient=True,
    )


class TransferProgress:
    """A progress bar with rate and ETA on stderr; does nothing when ``enabled`` is false or stderr
    is not a terminal (the bar is transient: a pipe or a file would get nothing of it, and its
    import and its refresh thread would cost a receiver CPU for nothing)."""

    def __init__(self, description: str, total: int, *, enabled: bool) -> None:
        self._progress: Any = None
        self._task: Any = None
        if enabled and common.is_terminal(sys.stderr):
            self._progress = _progress_bar()
            self._task = self._progress.add_task(description, total=total)

    @property
    def shown(self) -> bool:
        """Whether the bar is drawn (enabled, on a terminal)."""
        return self._progress is not None

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
        if self._progress is not None:
            self._progress.update(self._task, completed=done, total=total, description=description)

    def describe(self, description: str) -> None:
        if self._progress is not None:
            self._progress.update(self._task, description=description)
