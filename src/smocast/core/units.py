"""Parsing of human sizes, rates and durations: ``4M``, ``100mbit``, ``300ms``."""

from __future__ import annotations

import re

from smocast.core.errors import ConfigError

_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "k": 1 << 10,
    "kb": 1 << 10,
    "kib": 1 << 10,
    "m": 1 << 20,
    "mb": 1 << 20,
    "mib": 1 << 20,
    "g": 1 << 30,
    "gb": 1 << 30,
    "gib": 1 << 30,
}
_RATE_UNITS = {
    "": 1,
    "bps": 1,
    "bit": 1,
    "k": 1e3,
    "kbit": 1e3,
    "kbps": 1e3,
    "m": 1e6,
    "mbit": 1e6,
    "mbps": 1e6,
    "g": 1e9,
    "gbit": 1e9,
    "gbps": 1e9,
}
_TIME_UNITS = {"": 1.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "m": 60.0, "min": 60.0}
_NUMBER = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([a-zA-Zµ]*)\s*$")


def _split(text: str, what: str, example: str) -> tuple[float, str]:
    match = _NUMBER.match(str(text))
    if not match:
        raise ConfigError(f"cannot read {what} {text!r}; write it like {example}")
    return float(match.group(1)), match.group(2).lower()


def parse_size(text: str | int) -> int:
    """Bytes from ``4M`` (binary multiples: K=1024), ``1500`` or ``64KiB``."""
    if isinstance(text, int):
        return text
    value, unit = _split(text, "size", "'4M', '64K' or '1500'")
    if unit not in _SIZE_UNITS:
        raise ConfigError(f"unknown size unit {unit!r} in {text!r}; use K, M or G")
    return int(value * _SIZE_UNITS[unit])


def parse_rate(text: str | float) -> float:
    """Bits per second from ``100mbit``, ``1.5M`` or ``2e6`` (decimal multiples)."""
    if isinstance(text, int | float):
        return float(text)
    value, unit = _split(text, "rate", "'100mbit', '10M' or '2e6'")
    if unit not in _RATE_UNITS:
        raise ConfigError(f"unknown rate unit {unit!r} in {text!r}; use kbit, mbit or gbit")
    return value * _RATE_UNITS[unit]


def parse_duration(text: str | float) -> float:
    """Seconds from ``300ms``, ``2s``, ``1.5`` or ``50us``."""
    if isinstance(text, int | float):
        return float(text)
    value, unit = _split(text, "duration", "'300ms', '2s' or '0.5'")
    if unit not in _TIME_UNITS:
        raise ConfigError(f"unknown time unit {unit!r} in {text!r}; use s, ms or us")
    return value * _TIME_UNITS[unit]


def format_size(n: float) -> str:
    """``20971520`` -> ``20.0 MiB``."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def format_rate(bps: float) -> str:
    """``97e6`` -> ``97.0 Mbit/s``."""
    for unit, scale in (("Gbit/s", 1e9), ("Mbit/s", 1e6), ("kbit/s", 1e3)):
        if bps >= scale:
            return f"{bps / scale:.1f} {unit}"
    return f"{bps:.0f} bit/s"
