"""``smocast send``'s exit status and verdict: drops fail the run unless a quorum asked for was met."""

from __future__ import annotations

import pytest

from smocast.aio.channel import ChannelSummary
from smocast.cli.send_run import catch_up_line, congestion_line, outcome
from smocast.cli.units import Units
from smocast.smo.channel import ChannelStats
from smocast.smo.policies import WindowPolicy


def summary(joined: int, completed: int, dropped: int = 0, left: int = 0) -> ChannelSummary:
    return ChannelSummary(joined, completed, dropped, left, 0, 1000, 1.0, 8000.0, ChannelStats(), ())


@pytest.mark.parametrize(
    ("policy", "counts", "expected"),
    [
        ("slowest", (4, 4), (0, "all 4 receivers completed")),
        ("slowest", (4, 3, 1), (1, "1 receiver dropped")),
        ("buffer:1M", (4, 2, 1, 1), (1, "1 receiver dropped, 1 receiver left")),
        ("quorum:0.75", (4, 3, 1), (0, "quorum 3 of 4 met: 3 completed, 1 receiver dropped")),
        ("quorum:0.75", (4, 2, 2), (1, "quorum 3 of 4 not met: 2 completed, 2 receivers dropped")),
        ("quorum:0.5", (2, 1, 1), (0, "quorum 1 of 2 met: 1 completed, 1 receiver dropped")),
        ("quorum:0.5", (2, 0, 2), (1, "no receiver completed, 2 receivers dropped")),
    ],
)
def test_the_exit_status_says_which(policy: str, counts: tuple[int, ...], expected: tuple[int, str]) -> None:
    assert outcome(summary(*counts), WindowPolicy.parse(policy)) == expected


@pytest.mark.parametrize(
    ("reordering", "said"),
    [(0, None), (1, "1 receiver's path reorders"), (3, "3 receivers' paths reorder")],
)
def test_the_congestion_row_says_whose_paths_reorder(reordering: int, said: str | None) -> None:
    line = congestion_line({"loss_episodes": 12, "window_cuts": 3, "receivers_reordering": reordering})
    assert line.startswith("12 loss episodes, 3 window cuts")
    assert ("reorder" in line) == (said is not None)
    if said is not None:
        assert said in line and "declared by time" in line


@pytest.mark.parametrize("holds", [0, 7])
def test_the_catch_up_row_says_what_went_from_the_file_and_how_often_the_cap_held_it(holds: int) -> None:
    line = catch_up_line({"pieces": 1500, "bytes": 2 << 20, "holds": holds}, Units("MiB"))
    assert line.startswith("1500 pieces (2.00 MiB) from the file to receivers that resumed")
    assert ("held 7 times by --rate" in line) == bool(holds)
