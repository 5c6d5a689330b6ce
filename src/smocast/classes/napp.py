"""The parent's side of one tree-NAPP local group (class H2): NAKs, repairs and periodic polling.

Inside a local group the children use NAK avoidance (:class:`~smocast.classes.recovery.NakAvoidance`)
and multicast their NAKs to the group, so the parent and the siblings hear them. The parent
re-multicasts a packet to the group once per round, on the first NAK that names the current
transmission; a NAK for a packet the parent does not hold yet is remembered and answered when
the packet arrives.

Memory is released by periodic polling (NAPP): once every ``poll_every`` packets, and after
``poll_idle`` of silence while the children still lack something, the parent multicasts a poll
(a SESSION packet: the highest sequence number it knows, its clock, and the round-trip time it
measured to each child). Each child answers with a REPLY carrying its aggregate and the poll's
time stamp. The replies give the parent the children's aggregates (what it may release) and
round-trip times, and the next poll tells each child its distance to the parent, which sets
its NAK back-off. Counts: X_n per NAK, X_p per repair, X_pa per reply, X_s per poll sent.
"""

from __future__ import annotations

from collections.abc import Callable

from smocast.classes.config import ClassConfig
from smocast.classes.packet import FLAG_FIN, Kind, Packet, encode_rtt_table
from smocast.core.timers import Timer, TimerQueue

Retransmit = Callable[[int, int, float], bool]
"""``retransmit(seq, round, now)``: re-multicast ``seq`` to the group if held (then True, X_p counted)."""
SendPoll = Callable[[Packet], None]
Status = Callable[[], tuple[int, int | None]]
"""``status()``: (packets known to exist, the stream's end if known)."""


class LocalNakGroup:
    """One parent's local group in H2."""

    __slots__ = (
        "_config",
        "_first",
        "_idle",
        "_idle_gap",
        "_node",
        "_ops",
        "_owed",
        "_poll_block",
        "_retransmit",
        "_rounds",
        "_send_poll",
        "_status",
        "_timers",
        "aggregates",
        "rtts",
    )

    def __init__(
        self,
        node: int,
        children: range,
        timers: TimerQueue,
        config: ClassConfig,
        ops: dict[str, int],
        retransmit: Retransmit,
        send_poll: SendPoll,
        status: Status,
    ) -> None:
        self._node = node
        self._first = children.start
        self.aggregates = [0] * len(children)
        self.rtts = [0.0] * len(children)
        self._timers = timers
        self._config = config
        self._ops = ops
        self._retransmit = retransmit
        self._send_poll = send_poll
        self._status = status
        self._rounds: dict[int, int] = {}  # transmissions to the group so far (the original is 1)
        self._owed: dict[int, int] = {}  # NAKed before the parent held the packet: highest round named
        self._poll_block = -1
        self._idle = Timer(self._on_idle)
        self._idle_gap = config.poll_idle

    def is_child(self, node: int) -> bool:
        return 0 <= node - self._first < len(self.aggregates)

    def aggregate(self) -> int:
        """Every packet below this is held by the whole subtree below the parent."""
        return min(self.aggregates)

    # --- NAKs and repairs ------------------------------------------------------------------

    def nak(self, packet: Packet, held: bool, now: float) -> None:
        """A child NAKed transmission ``packet.round`` of ``packet.seq``."""
        self._ops["X_n"] += 1
        seq = packet.seq
        if seq < self.aggregate():
            return  # every child holds it already: a stale NAK
        sent = self._rounds.get(seq, 1)
        if packet.round < sent:
            return  # that round was answered
        if held:
            self._repair(seq, max(sent, packet.round) + 1, now)
        else:
            self._owed[seq] = max(self._owed.get(seq, 0), packet.round)

    def have(self, seq: int, now: float) -> None:
        """The parent now holds ``seq``: answer NAKs that came before it."""
        named = self._owed.pop(seq, None)
        if named is not None:
            self._repair(seq, max(self._rounds.get(seq, 1), named) + 1, now)

    def _repair(self, seq: int, rnd: int, now: float) -> None:
        if self._retransmit(seq, rnd, now):
            self._rounds[seq] = rnd

    # --- polls and replies -----------------------------------------------------------------

    def packet_seen(self, seq: int, now: float) -> None:
        """A new packet passed through the parent: poll once per ``poll_every`` of them."""
        block = seq // self._config.poll_every
        if block > self._poll_block:
            self._poll_block = block
            self.poll(now)
        elif not self._idle.armed:
            self._timers.arm(self._idle, now + self._idle_gap)  # poll if nothing else comes

    def poll(self, now: float) -> None:
        highest, end = self._status()
        flags = FLAG_FIN if end is not None and highest >= end else 0
        self._ops["X_s"] += 1
        self._send_poll(Packet(Kind.SESSION, self._node, highest, 1, 0, now, flags, encode_rtt_table(self.rtts)))
        self._idle_gap = self._config.poll_idle
        self._timers.arm(self._idle, now + self._idle_gap)

    def reply(self, packet: Packet, now: float) -> bool:
        """A child's poll reply (X_pa); True if the children's aggregate advanced."""
        self._ops["X_pa"] += 1
        index = packet.node - self._first
        if not 0 <= index < len(self.aggregates):
            return False
        if packet.stamp <= now:
            self.rtts[index] = now - packet.stamp
        if packet.aux <= self.aggregates[index]:
            return False
        before = self.aggregate()
        self.aggregates[index] = packet.aux
        bound = self.aggregate()
        if bound <= before:
            return False
        for table in (self._rounds, self._owed):
            while table and (oldest := next(iter(table))) < bound:
                del table[oldest]
        return True

    def _on_idle(self, now: float) -> None:
        highest, _ = self._status()
        if self.aggregate() >= highest:
            return  # the children hold everything known: nothing to poll for
        gap = min(self._idle_gap * 2, self._config.heartbeat_max)
        self.poll(now)
        self._idle_gap = gap
        self._timers.arm(self._idle, now + gap)
