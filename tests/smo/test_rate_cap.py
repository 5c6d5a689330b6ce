"""The rate cap (``ChannelConfig.max_rate``): a pacing ceiling under congestion control."""

from __future__ import annotations

import pytest

from smocast.aio.options import channel_config
from smocast.core.errors import ConfigError
from smocast.sim.topology import PathSpec
from smocast.sim.transfer import TransferSpec, run_transfer
from smocast.smo.config import ChannelConfig

MB = 1_000_000


def goodput(max_rate: float | None, rate: float = 100e6, receivers: int = 5, size: int = 2 * MB) -> float:
    spec = TransferSpec(receivers=receivers, size=size, path=PathSpec(rate=rate), max_rate=max_rate, seed=3)
    report = run_transfer(spec).as_json()
    assert report["completed"] == receivers and report["all_identical"]
    return float(report["goodput_bps"])


@pytest.mark.parametrize("cap", [5e6, 20e6])
def test_the_goodput_stays_under_the_cap_and_close_to_it(cap: float) -> None:
    got = goodput(cap)
    # the cap counts datagram payloads with their 44-byte header: file goodput is about 1400/1444 of it
    assert 0.85 * cap <= got <= cap


def test_a_cap_above_the_link_leaves_congestion_control_in_charge() -> None:
    uncapped = goodput(None, rate=10e6, receivers=2, size=MB // 2)
    capped = goodput(1e9, rate=10e6, receivers=2, size=MB // 2)
    assert capped == pytest.approx(uncapped, rel=0.02)
    assert uncapped > 0.5 * 10e6


def test_the_cap_is_a_keyword_in_bits_per_second_or_a_rate_string() -> None:
    assert channel_config(max_rate="50mbit").max_rate == 50e6
    assert channel_config(max_rate=2e6).max_rate == 2e6


@pytest.mark.parametrize("bad", [0, -1.0])
def test_a_cap_must_be_positive(bad: float) -> None:
    with pytest.raises(ConfigError, match="max_rate"):
        ChannelConfig(max_rate=bad)


def test_repairs_count_against_the_cap() -> None:
    """Everything the source sends (new data, and repairs to one receiver or to the group) stays
    within the cap: a cap at a link's rate must not overflow that link with repairs."""
    cap = 20e6
    spec = TransferSpec(
        receivers=8, size=2 * MB, path=PathSpec(rate=100e6, loss=0.05), max_rate=cap, congestion="fixed", seed=3
    )
    report = run_transfer(spec).as_json()
    assert report["completed"] == 8 and report["all_identical"]
    assert report["source_egress_bytes"] > 1.3 * report["bytes"]  # the loss made many repairs
    completion = 8 * report["bytes"] / report["goodput_bps"]
    assert 8 * report["source_egress_bytes"] / completion <= 1.02 * cap
