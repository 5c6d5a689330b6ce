"""Every receiver's accounting over its whole life, and the outcome of a channel.

The sans-IO channel forgets a receiver once it completes, is dropped or leaves; the event
that removes it carries its final accounting (:class:`~smocast.smo.events.ReceiverInfo`).
:class:`ReceiverBook` keeps one :class:`ReceiverRecord` per receiver that ever joined or was
refused, closes it from that event in O(1), and refreshes the live ones only when asked
(:meth:`ReceiverBook.records`); :func:`summarise` turns the records into a
:class:`ChannelSummary`. :class:`~smocast.aio.channel.AsyncChannel` feeds it its events.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from smocast.aio.netaddr import format_address
from smocast.core.datagram import Address
from smocast.smo import events as ev
from smocast.smo.channel import Channel, ChannelStats
from smocast.smo.events import ReceiverInfo
from smocast.wire import ResetCode


@dataclass(slots=True)
class ReceiverRecord:
    """One receiver's accounting over its whole life. Times are seconds since the channel opened.

    ``status`` is ``joined``, ``completed``, ``dropped``, ``left`` (it closed) or ``refused``;
    ``reason`` says why one was dropped, refused or left (``disk-full: cannot write ...``: a
    receiver's own words come from the network, print them with :func:`smocast.text.plain`).
    For a live receiver the figures are as of the call to :meth:`AsyncChannel.records`; for one
    that is gone they are its final accounting, which the event that removed it carried. Refused
    attempts are counted (``ChannelSummary.refused``); only the channel's bounded sample of them
    has a record.
    """

    receiver: int
    address: Address
    status: str
    joined_at: float | None = None
    ended_at: float | None = None
    start: int = 0
    acked: int = 0
    srtt: float | None = None
    cwnd: int = 0
    repairs_unicast: int = 0
    repairs_multicast: int = 0
    reason: str | None = None
    loss_episodes: int = 0
    window_cuts: int = 0
    reordering: bool = False

    def take(self, info: ReceiverInfo) -> None:
        """Copy the receiver's accounting ``info`` into this record."""
        self.acked, self.srtt, self.cwnd = info.acked, info.srtt, info.cwnd
        self.repairs_unicast, self.repairs_multicast = info.repairs_unicast, info.repairs_multicast
        self.loss_episodes, self.window_cuts = info.loss_episodes, info.window_cuts
        self.reordering = info.reordering

    def as_json(self) -> dict[str, Any]:
        return {
            "receiver": self.receiver,
            "address": format_address(self.address),
            "status": self.status,
            "reason": self.reason,
            "joined_at_s": _round(self.joined_at),
            "ended_at_s": _round(self.ended_at),
            "start": self.start,
            "bytes_acked": self.acked,
            "srtt_ms": _round(self.srtt * 1e3 if self.srtt is not None else None),
            "cwnd": self.cwnd,
            "repairs_unicast": self.repairs_unicast,
            "repairs_multicast": self.repairs_multicast,
            "loss_episodes": self.loss_episodes,
            "window_cuts": self.window_cuts,
            "reordering": self.reordering,
        }


@dataclass(frozen=True, slots=True)
class ChannelSummary:
    """The outcome of a channel. ``wall_time_s`` runs from the start of the transfer (admission)
    to the last receiver's completion; ``goodput_bps`` is ``bytes`` over it. ``refused`` counts
    every refused attempt; ``records`` holds a bounded sample of them."""

    receivers: int
    completed: int
    dropped: int
    left: int
    refused: int
    bytes: int
    wall_time_s: float | None
    goodput_bps: float
    stats: ChannelStats
    records: tuple[ReceiverRecord, ...]


class ReceiverBook:
    """The records of every receiver, by id. Times are seconds since ``opened_at`` (loop time),
    which the channel sets when it opens."""

    def __init__(self) -> None:
        self.opened_at = 0.0
        self._records: dict[int, ReceiverRecord] = {}

    def joined(self, event: ev.ReceiverJoined) -> None:
        joined = event.at - self.opened_at
        record = ReceiverRecord(event.receiver, event.address, "joined", joined_at=joined, start=event.start)
        self._records[event.receiver] = record

    def gone(self, event: ev.ReceiverCompleted | ev.ReceiverDropped | ev.ReceiverLeft) -> None:
        """Close the receiver's record with the final accounting its event carries: O(1)."""
        record = self._records.get(event.receiver)
        if record is None:
            record = self._records[event.receiver] = ReceiverRecord(event.receiver, event.address, "joined")
        if event.info is not None:
            record.take(event.info)
        record.ended_at = event.at - self.opened_at
        if isinstance(event, ev.ReceiverCompleted):
            record.status, record.acked = "completed", event.acked
        elif isinstance(event, ev.ReceiverDropped):
            refused = event.reason is ev.DropReason.REFUSED
            record.status = "refused" if refused else "dropped"
            record.reason = f"{event.reason.value}: {event.detail}"
        else:
            record.status = "left"
            record.reason = _left_reason(event)

    def records(self, live: list[ReceiverInfo]) -> list[ReceiverRecord]:
        """Every record, the live receivers' first brought up to date from ``live`` (O(receivers))."""
        for info in live:
            record = self._records.get(info.receiver)
            if record is not None and record.status == "joined":
                record.take(info)
        return list(self._records.values())


def summarise(records: list[ReceiverRecord], channel: Channel, started_at: float | None) -> ChannelSummary:
    """The channel's outcome from its ``records``; ``started_at``: when the transfer started
    (seconds since the channel opened; None if it never did)."""
    count = {s: sum(1 for r in records if r.status == s) for s in ("completed", "dropped", "left")}
    length = channel.end if channel.end is not None else channel.snd_nxt
    finish = max((r.ended_at for r in records if r.status == "completed" and r.ended_at is not None), default=None)
    wall = finish - started_at if finish is not None and started_at is not None else None
    goodput = length * 8 / wall if wall else 0.0
    joined = sum(1 for r in records if r.status != "refused")
    return ChannelSummary(
        joined,
        count["completed"],
        count["dropped"],
        count["left"],
        channel.stats.refused,
        length,
        wall,
        goodput,
        channel.stats,
        tuple(records),
    )


def _left_reason(event: ev.ReceiverLeft) -> str | None:
    """What a receiver's RST said: ``disk-full: cannot write ...`` (text from the network: print it plainly)."""
    if event.reason is ResetCode.UNSPECIFIED:
        return event.detail or None
    return f"{event.reason.label}: {event.detail}" if event.detail else event.reason.label


def _round(value: float | None) -> float | None:
    return round(value, 6) if value is not None else None
