"""Every receiver of a channel as rows: for the live table (``send --watch``) and the stats file.

:func:`receiver_rows` builds one :class:`ReceiverRow` per receiver from the channel's own
accounting (``records()`` for every receiver ever, ``receivers()`` for the live ones' state).
:func:`receivers_table` shows the first N rows by a chosen column, then the totals over all
rows, so a channel of thousands of receivers still fits a screen. :func:`stats_json` is the
same accounting as one JSON object.
"""

from __future__ import annotations

import heapq
import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from rich.table import Table

from smocast.aio.netaddr import format_address
from smocast.cli.units import Units
from smocast.text import plain


class _Record(Protocol):
    receiver: int
    address: tuple[str, int]
    status: str
    joined_at: float | None
    ended_at: float | None
    acked: int
    srtt: float | None
    cwnd: int
    repairs_unicast: int
    repairs_multicast: int
    reason: str | None


class _Live(Protocol):
    @property
    def receiver(self) -> int: ...
    @property
    def state(self) -> str: ...


@dataclass(frozen=True, slots=True)
class ReceiverRow:
    """One receiver now: ``goodput_bps`` is its bytes acked over the time since it joined (until it ended)."""

    receiver: int
    address: str
    state: str
    acked: int
    goodput_bps: float
    srtt_ms: float | None
    cwnd: int
    repairs_unicast: int
    repairs_multicast: int
    reason: str | None

    @property
    def repairs(self) -> int:
        return self.repairs_unicast + self.repairs_multicast

    def as_json(self) -> dict[str, Any]:
        return {
            "receiver": self.receiver,
            "address": self.address,
            "state": self.state,
            "bytes_acked": self.acked,
            "goodput_bps": round(self.goodput_bps, 1),
            "srtt_ms": round(self.srtt_ms, 3) if self.srtt_ms is not None else None,
            "cwnd_bytes": self.cwnd,
            "repairs_unicast": self.repairs_unicast,
            "repairs_multicast": self.repairs_multicast,
            "reason": self.reason,
        }


def receiver_rows(records: Sequence[_Record], live: Sequence[_Live], now: float) -> list[ReceiverRow]:
    """Rows from ``channel.records()`` and ``channel.receivers()``; ``now`` in seconds since the channel opened."""
    states = {info.receiver: info.state for info in live}
    rows = []
    for r in records:
        state = states.get(r.receiver, r.status) if r.status == "joined" else r.status
        span = (r.ended_at if r.ended_at is not None else now) - (r.joined_at or 0.0)
        rows.append(
            ReceiverRow(
                r.receiver,
                format_address(r.address),
                state,
                r.acked,
                r.acked * 8 / span if span > 0 else 0.0,
                r.srtt * 1e3 if r.srtt is not None else None,
                r.cwnd,
                r.repairs_unicast,
                r.repairs_multicast,
                r.reason,
            )
        )
    return rows


_SORTS: dict[str, tuple[Callable[[ReceiverRow], Any], bool]] = {
    "acked": (lambda r: r.acked, False),
    "goodput": (lambda r: r.goodput_bps, False),
    "cwnd": (lambda r: r.cwnd, False),
    "srtt": (lambda r: r.srtt_ms if r.srtt_ms is not None else -1.0, True),
    "repairs": (lambda r: r.repairs, True),
    "address": (lambda r: r.address, False),
    "receiver": (lambda r: r.receiver, False),
}
"""Column -> (key, largest first). The defaults show first who holds the channel back."""


def first_rows(rows: Sequence[ReceiverRow], sort: str, top: int) -> list[ReceiverRow]:
    """The ``top`` rows that come first by ``sort`` (without sorting all of them)."""
    key, largest = _SORTS[sort]
    pick = heapq.nlargest if largest else heapq.nsmallest
    return pick(top, rows, key=key)


def totals(rows: Sequence[ReceiverRow]) -> dict[str, Any]:
    """Over every row: receivers by state, bytes acked, summed goodput, repairs, SRTT median and max."""
    srtts = [r.srtt_ms for r in rows if r.srtt_ms is not None]
    return {
        "receivers": len(rows),
        "states": dict(Counter(r.state for r in rows).most_common()),
        "bytes_acked": sum(r.acked for r in rows),
        "least_acked": min((r.acked for r in rows), default=0),
        "goodput_bps": round(sum(r.goodput_bps for r in rows), 1),
        "repairs_unicast": sum(r.repairs_unicast for r in rows),
        "repairs_multicast": sum(r.repairs_multicast for r in rows),
        "srtt_ms_median": round(statistics.median(srtts), 3) if srtts else None,
        "srtt_ms_max": round(max(srtts), 3) if srtts else None,
    }


def receivers_table(rows: Sequence[ReceiverRow], *, sort: str, top: int, units: Units, mss: int, title: str) -> Table:
    """The first ``top`` receivers by ``sort``, then one line of totals over all of them."""
    shown = first_rows(rows, sort, top)
    table = Table(title=plain(title), title_justify="left")
    for name in ("receiver", "address", "state", "acked", "goodput", "SRTT", "cwnd", "repairs u/m", "reason"):
        table.add_column(name, justify="right" if name in ("acked", "goodput", "SRTT", "cwnd") else "left")
    for r in shown:
        table.add_row(
            str(r.receiver),
            plain(r.address),
            plain(r.state),
            units.bytes(r.acked),
            units.rate_of(r.goodput_bps),
            f"{r.srtt_ms:.2f} ms" if r.srtt_ms is not None else "-",
            str(r.cwnd // mss),
            f"{r.repairs_unicast}/{r.repairs_multicast}",
            plain(r.reason) if r.reason else "",
        )
    t = totals(rows)
    states = ", ".join(f"{n} {plain(s)}" for s, n in t["states"].items())
    table.add_section()
    table.add_row(
        "all",
        f"{t['receivers']} receivers",
        states,
        f"min {units.bytes(t['least_acked'])}",
        units.rate_of(t["goodput_bps"]),
        f"med {t['srtt_ms_median']:.2f} ms" if t["srtt_ms_median"] is not None else "-",
        "",
        f"{t['repairs_unicast']}/{t['repairs_multicast']}",
        "",
    )
    return table


def table_note(rows: Sequence[ReceiverRow], *, sort: str, top: int, mss: int) -> str:
    """What :func:`receivers_table` shows, to print under it (a caption would wrap at the table's width)."""
    shown = min(top, len(rows))
    return f"{shown} of {len(rows)} receivers, first by {sort}; cwnd in segments of {mss} B; repairs unicast/multicast"


def stats_json(rows: Sequence[ReceiverRow], **about: Any) -> dict[str, Any]:
    """The stats file's object: ``about`` (time, state, file...), the totals, then every receiver."""
    return {**about, "totals": totals(rows), "receivers": [r.as_json() for r in rows]}
