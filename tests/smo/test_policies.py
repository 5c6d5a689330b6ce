from __future__ import annotations

import pytest

from smocast.core.errors import ConfigError
from smocast.smo.policies import CwndPolicy, RttPolicy, WindowPolicy


def test_window_policies_parse_and_count() -> None:
    assert WindowPolicy.parse("slowest").acks_needed(7) == 7
    quorum = WindowPolicy.parse("quorum:0.9")
    assert quorum.acks_needed(10) == 9
    assert quorum.acks_needed(11) == 10  # ceil(9.9)
    buffer = WindowPolicy.parse("buffer:4M")
    assert buffer.buffer_bytes == 4 << 20
    assert buffer.acks_needed(3) == 3
    assert str(quorum) == "quorum:0.9"


@pytest.mark.parametrize("bad", ["fastest", "quorum", "quorum:1.5", "quorum:x", "buffer:0", "slowest:1"])
def test_window_policy_errors(bad: str) -> None:
    with pytest.raises(ConfigError):
        WindowPolicy.parse(bad)


def test_fair_window_clamps_the_median_into_the_band() -> None:
    fair = CwndPolicy.parse("fair:1,4")
    assert fair.fair_window(median=20, smallest_average=10) == 20
    assert fair.fair_window(median=60, smallest_average=10) == 40  # beta bound
    assert CwndPolicy.parse("fair:2,4").fair_window(median=15, smallest_average=10) == 20  # alpha bound
    with pytest.raises(ConfigError):
        CwndPolicy.parse("fair:4,1")
    with pytest.raises(ConfigError):
        CwndPolicy.parse("max")


def test_rtt_policy_picks_max_or_percentile() -> None:
    rtts = [0.01 * i for i in range(1, 11)]
    assert RttPolicy.parse("max").pick(rtts) == pytest.approx(0.10)
    assert RttPolicy.parse("percentile:90").pick(rtts) == pytest.approx(0.09)
    assert RttPolicy.parse("percentile:50").pick(rtts) == pytest.approx(0.05)
    assert RttPolicy().pick([]) is None
    with pytest.raises(ConfigError):
        RttPolicy.parse("percentile:0")
