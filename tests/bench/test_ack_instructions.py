"""``bench ack --instructions`` works: instruction counts per ACK, and a ratio against a baseline tree."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from smocast.bench import ack_instructions

pytestmark = pytest.mark.skipif(shutil.which("valgrind") is None, reason="needs valgrind (apt install valgrind)")


def test_instructions_per_ack_against_the_same_tree_as_baseline() -> None:
    src = str(Path(ack_instructions.__file__).resolve().parents[2])
    report = ack_instructions.run([10], 400, baseline_src=src)
    (row,) = report["results"]
    assert 5_000 < row["instructions_per_ack"] < 500_000  # tens of thousands: a Python ACK path
    assert 0.8 < row["ratio_to_baseline"] < 1.25  # the same code counts (almost) the same
