"""One unit system per run: the byte unit chosen once from the run's size, rates in Mbit/s."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from smocast.apps.stream import percentile
from smocast.cli.units import Units


def test_the_byte_unit_fits_the_runs_size_and_stays() -> None:
    assert Units.fitting(20 << 20).size == "MiB"
    assert Units.fitting(64 << 10).size == "KiB"
    assert Units.fitting(3 << 30).size == "GiB"
    assert Units.fitting(100).size == "B"
    units = Units.fitting(20 << 20)
    assert units.bytes(20 << 20) == "20.0 MiB"
    assert units.bytes(512 << 10) == "0.50 MiB"  # not "512.0 KiB": the run's unit
    assert units.bytes(0) == "0.00 MiB"


def test_rates_are_in_mbit_per_second() -> None:
    units = Units()
    assert units.rate_of(97e6) == "97.0 Mbit/s"
    assert units.rate_of(1.5e9) == "1500.0 Mbit/s"
    assert units.rate_of(250e3) == "0.25 Mbit/s"


@given(st.lists(st.floats(min_value=0, max_value=1e4), min_size=1, max_size=200), st.sampled_from([50, 90, 99, 100]))
def test_the_receivers_percentile_is_numpys(values: list[float], q: int) -> None:
    assert abs(percentile(sorted(values), q) - float(np.percentile(values, q))) <= 1e-9 * max(1.0, *values)


def test_no_latencies_give_zero() -> None:
    assert percentile([], 50) == 0.0
