"""Child processes that never outlive the block that started them."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    """``with processes() as started:``; append each ``Popen`` to ``started``.

    On the way out, whatever happened, every process still running is killed and every
    one is reaped (its pipes read to the end), so none is left behind.
    """
    started: list[subprocess.Popen[str]] = []
    try:
        yield started
    finally:
        for proc in started:
            if proc.poll() is None:
                proc.kill()
        for proc in started:
            proc.communicate()
