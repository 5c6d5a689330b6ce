"""The seeded "after" figures of ``docs/robustness.md``'s progress rows are what the code produces.

(The bursty-loss rows state what their tests assert: every receiver completes on every seed.)
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.attacks.test_trickle import run_with_trickler
from tests.smo.test_progress import run as run_lossy

from smocast.smo import events as ev

DOC = Path(__file__).parents[2] / "docs" / "robustness.md"


def after(test: str) -> str:
    """The "after" cell of the row that names ``test``."""
    (line,) = [line for line in DOC.read_text().splitlines() if test in line and line.startswith("|")]
    return line.rstrip(" |").rsplit("|", 1)[1].strip()


def seconds(t: float) -> str:
    return f"{t:.1f} s" if t >= 10 else f"{t:.2f} s"


def figure(dropped: ev.ReceiverDropped, last: float) -> str:
    return f"{dropped.reason.value} at {seconds(dropped.at)}; the others done at {seconds(last)}"


@pytest.mark.parametrize(
    ("policy", "test"), [("slowest", "does_not_hold_the_others_back[slowest]"), ("buffer:1M", "`...[buffer]`")]
)
def test_the_trickle_rows(policy: str, test: str) -> None:
    _, (dropped,), last = run_with_trickler(policy)
    assert last is not None and after(test) == figure(dropped, last)


def test_the_lossy_receiver_row() -> None:
    net, fast, slow = run_lossy("slowest", fraction=0.05)
    (dropped,) = [e for e in net.of(ev.ReceiverDropped) if e.address == slow.address]
    last = max(p.ended_at or 0.0 for p in fast)
    assert after("test_a_receiver_far_slower_than_the_channel_does_not_hold_it_back") == figure(dropped, last)
