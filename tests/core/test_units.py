from __future__ import annotations

import pytest

from smocast.core.errors import ConfigError
from smocast.core.units import format_rate, format_size, parse_duration, parse_rate, parse_size


@pytest.mark.parametrize(("text", "expected"), [("4M", 4 << 20), ("64K", 65536), ("1500", 1500), ("2GiB", 2 << 30)])
def test_sizes(text: str, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize(("text", "expected"), [("100mbit", 100e6), ("1.5M", 1.5e6), ("2e6", 2e6), ("1gbit", 1e9)])
def test_rates(text: str, expected: float) -> None:
    assert parse_rate(text) == pytest.approx(expected)


@pytest.mark.parametrize(("text", "expected"), [("300ms", 0.3), ("2s", 2.0), ("0.5", 0.5), ("50us", 5e-5)])
def test_durations(text: str, expected: float) -> None:
    assert parse_duration(text) == pytest.approx(expected)


@pytest.mark.parametrize("bad", ["", "fast", "4Q", "-3"])
def test_bad_input_is_a_clear_error(bad: str) -> None:
    with pytest.raises(ConfigError):
        parse_size(bad)


def test_formatting() -> None:
    assert format_size(20 << 20) == "20.0 MiB"
    assert format_rate(97e6) == "97.0 Mbit/s"
