"""One unit system for a run's output: every size in one byte unit, every rate in one bit-rate unit.

A run picks its units once (:meth:`Units.fitting`, from the size of what it moves), then
every figure it prints uses them: a 20 MiB transfer shows every receiver's bytes in MiB and
every rate in Mbit/s, never "512.0 KiB" in one row and "20.0 MiB" in the next. JSON output
stays in bytes and bits per second.
"""

from __future__ import annotations

from dataclasses import dataclass

SIZE_UNITS = {"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}
RATE_UNITS = {"bit/s": 1.0, "kbit/s": 1e3, "Mbit/s": 1e6, "Gbit/s": 1e9}


def _number(value: float) -> str:
    return f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"


@dataclass(frozen=True, slots=True)
class Units:
    """The byte unit and the rate unit of one run's output."""

    size: str = "MiB"
    rate: str = "Mbit/s"

    @classmethod
    def fitting(cls, size: float, rate: str = "Mbit/s") -> Units:
        """The largest byte unit in which ``size`` is at least 1 (B for less than 1 KiB)."""
        unit = "B"
        for name, scale in SIZE_UNITS.items():
            if size >= scale:
                unit = name
        return cls(unit, rate)

    def bytes(self, n: float) -> str:
        """``20971520`` -> ``20.0 MiB`` (in this run's byte unit)."""
        if self.size == "B":
            return f"{n:.0f} B"
        return f"{_number(n / SIZE_UNITS[self.size])} {self.size}"

    def rate_of(self, bps: float) -> str:
        """``97e6`` -> ``97.0 Mbit/s`` (in this run's rate unit)."""
        return f"{_number(bps / RATE_UNITS[self.rate])} {self.rate}"
