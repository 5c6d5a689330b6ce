"""The seeded "after" figures of ``docs/robustness.md`` are what the code produces (issue 10)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.attacks.test_amplification import amplification_of
from tests.attacks.test_syn_flood import stream_rate

DOC = Path(__file__).parents[2] / "docs" / "robustness.md"


def row(test: str) -> str:
    (line,) = [line for line in DOC.read_text().splitlines() if test in line and line.startswith("|")]
    return line


@pytest.mark.parametrize(("state", "test"), [("admission", "[admission, continuous]"), ("transfer", "...[transfer]")])
def test_the_amplification_rows(state: str, test: str) -> None:
    ratio, replies = amplification_of(state, syns=1)
    after = row(test).rstrip(" |").rsplit("|", 1)[1]
    assert f"{ratio:.1f}x" in after and ("one answer" in after or "one RETRY" in after) and replies == 1


def test_the_five_syn_row() -> None:
    ratio, replies = amplification_of("admission", syns=5)
    assert f"{replies} answers, {ratio:.1f}x" in row("test_repeated_spoofed_syns_each_draw_at_most_one_small_answer")


def test_the_live_stream_row() -> None:
    share = stream_rate("slowest", attacked=True) / stream_rate("slowest", attacked=False)
    assert f"{share:.0%} under both policies" in row("test_one_forged_syn_every_5s_does_not_cut_a_live_stream")
