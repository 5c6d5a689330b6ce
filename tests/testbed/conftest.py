"""Fixtures of the testbed tests: a fresh prefix per test, always torn down."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator

import pytest

from smocast.testbed import Testbed

_serial = itertools.count()


@pytest.fixture
def prefix() -> Iterator[str]:
    """A prefix no other test (or parallel run) uses; whatever it names is removed afterwards."""
    name = f"t{os.getpid() % 10000}x{next(_serial)}"
    try:
        yield name
    finally:
        if os.geteuid() == 0:
            Testbed(name).down()
