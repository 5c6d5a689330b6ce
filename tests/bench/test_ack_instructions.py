"""``bench ack --instructions`` works: instruction counts per ACK, and a ratio against a baseline tree."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from smocast.bench import ack_instructions

needs_valgrind = pytest.mark.skipif(shutil.which("valgrind") is None, reason="needs valgrind (apt install valgrind)")


@needs_valgrind
def test_instructions_per_ack_against_the_same_tree_as_baseline() -> None:
    src = str(Path(ack_instructions.__file__).resolve().parents[2])
    report = ack_instructions.run([10], 400, baseline_src=src)
    (row,) = report["results"]
    assert 5_000 < row["instructions_per_ack"] < 500_000  # tens of thousands: a Python ACK path
    assert 0.8 < row["ratio_to_baseline"] < 1.25  # the same code counts (almost) the same


def test_both_runs_build_the_same_stream_so_encoding_it_cancels(monkeypatch: pytest.MonkeyPatch) -> None:
    """The long and the short run differ only in the ACKs handled: were the short run to build a
    shorter stream, encoding the ACKs would count as part of the cost of handling one."""
    runs: list[tuple[int, int]] = []

    def count(receivers: int, acks: int, built: int, src: str | None = None) -> int:
        runs.append((acks, built))
        return 1_000_000 + 30_000 * acks + 20_000 * built  # handling, and building the stream

    monkeypatch.setattr(ack_instructions, "instructions", count)
    assert ack_instructions.per_ack(10, 1000) == 30_000
    assert sorted(runs) == [(200, 1000), (1000, 1000)]
