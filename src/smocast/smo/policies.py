"""The master control block's policies: how the channel derives one value from N children.

* Window advance ``F`` (paper section II.C): when data leaves the channel's send window.
* Congestion window ``G`` (section II.F): the channel's cwnd from the children's.
* Channel RTT (section II.E): the channel's RTT from the children's.

Each parses from the string the CLI accepts (``quorum:0.9``, ``fair:1,4``, ``percentile:90``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from smocast.core.errors import ConfigError
from smocast.core.units import parse_size


@dataclass(frozen=True, slots=True)
class WindowPolicy:
    """F: ``slowest`` (the default), ``quorum:<fraction>`` or ``buffer:<bytes>``.

    * ``slowest``: a segment leaves the window when every live receiver has acked it.
    * ``quorum:f``: when ``ceil(f * live)`` receivers acked it. Receivers left behind are
      still repaired from the retained buffer, and no longer pace the channel.
    * ``buffer:B``: like ``slowest``, but at most ``B`` bytes are held; when full, the oldest
      data is released and receivers that had not acked it are reset.
    """

    kind: Literal["slowest", "quorum", "buffer"] = "slowest"
    fraction: float = 1.0
    buffer_bytes: int = 0

    def __post_init__(self) -> None:
        if self.kind == "quorum" and not 0 < self.fraction <= 1:
            raise ConfigError(f"quorum fraction must be in (0, 1], got {self.fraction}")
        if self.kind == "buffer" and self.buffer_bytes <= 0:
            raise ConfigError(f"buffer size must be positive, got {self.buffer_bytes}")

    @classmethod
    def parse(cls, text: str) -> WindowPolicy:
        name, _, arg = text.strip().partition(":")
        if name == "slowest" and not arg:
            return cls()
        if name == "quorum" and arg:
            return cls("quorum", fraction=_number(arg, text))
        if name == "buffer" and arg:
            return cls("buffer", buffer_bytes=parse_size(arg))
        raise ConfigError(f"unknown window policy {text!r}; use slowest, quorum:<fraction> or buffer:<bytes>")

    def acks_needed(self, live: int) -> int:
        """How many of ``live`` receivers must ack a segment before it leaves the window."""
        if self.kind == "quorum":
            return math.ceil(self.fraction * live - 1e-9)
        return live

    def __str__(self) -> str:
        if self.kind == "quorum":
            return f"quorum:{self.fraction:g}"
        if self.kind == "buffer":
            return f"buffer:{self.buffer_bytes}"
        return "slowest"


@dataclass(frozen=True, slots=True)
class CwndPolicy:
    """G: ``min`` (the default) or ``fair:<alpha>,<beta>``.

    * ``min``: the smallest cwnd of the receivers that pace the channel. Strictly fair to a
      TCP flow on the most congested path.
    * ``fair:a,b``: the paper's "essentially fair" bound, equation (1), read as
      ``a * B_tcp <= B_smo <= b * B_tcp``. ``B_tcp`` is inferred, as the paper suggests, from
      the smallest *average* child cwnd ``w_min`` (an EWMA of each child's cwnd). The channel
      follows the median child cwnd, clamped into ``[a * w_min, b * w_min]``. Windows stand
      for bandwidths because the children share one channel RTT. See docs/design.md.
    """

    kind: Literal["min", "fair"] = "min"
    alpha: float = 1.0
    beta: float = 1.0

    def __post_init__(self) -> None:
        if self.kind == "fair" and not 0 < self.alpha <= self.beta:
            raise ConfigError(f"fair needs 0 < alpha <= beta, got alpha={self.alpha} beta={self.beta}")

    @classmethod
    def parse(cls, text: str) -> CwndPolicy:
        name, _, arg = text.strip().partition(":")
        if name == "min" and not arg:
            return cls()
        if name == "fair" and arg.count(",") == 1:
            a, b = arg.split(",")
            return cls("fair", alpha=_number(a, text), beta=_number(b, text))
        raise ConfigError(f"unknown cwnd policy {text!r}; use min or fair:<alpha>,<beta>")

    def fair_window(self, median: float, smallest_average: float) -> float:
        """The channel cwnd under ``fair``: the median clamped into the alpha/beta band."""
        return min(max(median, self.alpha * smallest_average), self.beta * smallest_average)

    def __str__(self) -> str:
        return f"fair:{self.alpha:g},{self.beta:g}" if self.kind == "fair" else "min"


@dataclass(frozen=True, slots=True)
class RttPolicy:
    """Channel RTT: ``max`` (the default) or ``percentile:<q>`` (the max over the fastest q%)."""

    kind: Literal["max", "percentile"] = "max"
    percentile: float = 100.0

    def __post_init__(self) -> None:
        if not 0 < self.percentile <= 100:
            raise ConfigError(f"percentile must be in (0, 100], got {self.percentile}")

    @classmethod
    def parse(cls, text: str) -> RttPolicy:
        name, _, arg = text.strip().partition(":")
        if name == "max" and not arg:
            return cls()
        if name == "percentile" and arg:
            return cls("percentile", percentile=_number(arg, text))
        raise ConfigError(f"unknown RTT policy {text!r}; use max or percentile:<q>")

    def pick(self, sorted_rtts: list[float]) -> float | None:
        """The channel RTT from the children's SRTTs in ascending order."""
        if not sorted_rtts:
            return None
        if self.kind == "max":
            return sorted_rtts[-1]
        index = max(0, math.ceil(self.percentile / 100 * len(sorted_rtts)) - 1)
        return sorted_rtts[index]

    def __str__(self) -> str:
        return f"percentile:{self.percentile:g}" if self.kind == "percentile" else "max"


def _number(text: str, whole: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ConfigError(f"{text!r} in {whole!r} is not a number") from None
