"""Class H1, tree-based with local ACKs (Levine; RMTP, LORAX).

The source multicasts every original to the whole group. Receivers form local groups of B
children under a parent (the source or a group leader, :class:`~smocast.classes.tree.TreeLayout`).
Each child unicasts a local ACK to its parent for every copy it receives; the parent runs a
retransmission timer per packet and re-multicasts to its local group only when the timer runs
out before all B children ACKed (:class:`LocalAckGroup`). A parent therefore needs M_B
transmissions per packet, the source's original counting as the first for every group (§5).

Memory is released by aggregate ACKs: every local ACK carries the sender's aggregate, the
number of packets below which its whole subtree holds everything (a leaf: its next expected
packet). A leader's aggregate is the minimum of its own and its children's; it frees a packet
once all its children's aggregates passed it, and the source does the same. A leader whose
aggregate advanced while it had nothing to ACK reports it alone after ``aggregate_delay``
(counted as a local ACK; it happens only at the end of a stream or while the source is blocked),
and repeats it twice in case it was lost.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from functools import partial

from smocast.classes.base import ReceiverCore, SenderCore
from smocast.classes.config import ClassConfig
from smocast.classes.ledger import LEADER, RECEIVER
from smocast.classes.packet import FLAG_FIN, FLAG_REPAIR, Kind, Packet
from smocast.classes.tree import TreeLayout
from smocast.core.datagram import Address
from smocast.core.timers import Timer, TimerQueue

AGGREGATE_REPEATS = 2
"""A standalone aggregate ACK is sent up to this many more times, in case it was lost."""

Retransmit = Callable[[int, int, float], None]
"""``retransmit(seq, round, now)``: re-multicast ``seq`` to the local group (counts X_p)."""


class _Local:
    __slots__ = ("acked", "count", "round", "timer")

    def __init__(self, children: int, timer: Timer) -> None:
        self.acked = bytearray(children)
        self.count = 0
        self.round = 1
        self.timer = timer


class LocalAckGroup:
    """A parent's side of one local group: local ACKs, timers, and the children's aggregates."""

    __slots__ = ("_first", "_ops", "_released", "_retransmit", "_rto", "_states", "_timers", "aggregates")

    def __init__(
        self, children: range, timers: TimerQueue, rto: float, ops: dict[str, int], retransmit: Retransmit
    ) -> None:
        self._first = children.start
        self.aggregates = [0] * len(children)
        self._timers = timers
        self._rto = rto
        self._ops = ops
        self._retransmit = retransmit
        self._states: dict[int, _Local] = {}
        self._released = 0

    def aggregate(self) -> int:
        """Every packet below this is held by the whole subtree below the parent."""
        return min(self.aggregates)

    def ack(self, packet: Packet) -> bool:
        """A child's local ACK (X_h counted here); True if the children's aggregate advanced."""
        self._ops["X_h"] += 1
        index = packet.node - self._first
        if not 0 <= index < len(self.aggregates):
            return False
        advanced = False
        if packet.aux > self.aggregates[index]:
            before = self.aggregate()
            self.aggregates[index] = packet.aux
            advanced = self.aggregate() > before
        if packet.round and packet.seq >= self._released:
            state = self._state(packet.seq)
            if not state.acked[index]:
                state.acked[index] = 1
                state.count += 1
                if state.count == len(self.aggregates):
                    self._timers.disarm(state.timer)
        return advanced

    def have(self, seq: int, now: float) -> None:
        """The parent now holds ``seq``: time its children's ACKs from here."""
        if seq < self._released:
            return
        state = self._state(seq)
        if state.count < len(self.aggregates):
            self._timers.arm(state.timer, now + self._rto)

    def release_below(self, bound: int) -> None:
        """Forget the packets below ``bound``: the whole subtree holds them."""
        self._released = max(self._released, bound)
        states = self._states
        while states and (oldest := next(iter(states))) < bound:  # stragglers go when they reach the front
            self._timers.disarm(states.pop(oldest).timer)

    def _state(self, seq: int) -> _Local:
        state = self._states.get(seq)
        if state is None:
            state = self._states[seq] = _Local(len(self.aggregates), Timer(partial(self._on_timeout, seq)))
        return state

    def _on_timeout(self, seq: int, now: float) -> None:
        state = self._states.get(seq)
        if state is None or state.count >= len(self.aggregates):
            return
        if seq < self._released:
            del self._states[seq]
            return
        self._ops["X_t"] += 1
        state.round += 1
        self._retransmit(seq, state.round, now)
        self._timers.arm(state.timer, now + self._rto)


class SenderH1(SenderCore):
    """The source of class H1: the root of the ACK tree and parent of nodes 1..B."""

    def __init__(
        self, group: Address, local_group: Address, layout: TreeLayout, config: ClassConfig, rng: random.Random
    ) -> None:
        super().__init__(group, config, rng)
        self.local_group = local_group
        self._local = LocalAckGroup(layout.children(0), self._timers, config.rto, self._ops, self._retransmit)

    def receive_packet(self, packet: Packet, source: Address, now: float) -> None:
        if packet.kind is Kind.ACK and self._local.ack(packet):
            self._release_below(self._local.aggregate(), now)

    def _send_original(self, seq: int, payload: bytes, last: bool, now: float) -> None:
        self._data(seq, 1, payload, self.group, True)
        self._local.have(seq, now)

    def _retransmit(self, seq: int, rnd: int, now: float) -> None:
        payload = self.held.get(seq)
        if payload is not None:
            self._data(seq, rnd, payload, self.local_group, True)

    def _release_below(self, bound: int, now: float) -> None:
        self._local.release_below(bound)
        held = self.held
        while held and (oldest := next(iter(held))) < bound:
            self._release(oldest, now)


class ReceiverH1(ReceiverCore):
    """A receiver of class H1: a leaf, or a group leader when the layout gives it children."""

    def __init__(
        self,
        node: int,
        source: Address,
        group: Address,
        parent: Address,
        parent_group: Address,
        own_group: Address | None,
        layout: TreeLayout,
        config: ClassConfig,
        rng: random.Random,
    ) -> None:
        leader = layout.is_leader(node)
        super().__init__(node, source, group, config, rng, LEADER if leader else RECEIVER)
        self.parent = parent
        self.own_group = own_group
        self.groups = (group, parent_group)
        self._reported = 0
        self._repeats = 0  # standalone aggregate ACKs still to repeat (they may be lost)
        self._kept: dict[int, bytes] = {}
        self._local: LocalAckGroup | None = None
        self._flush = Timer(self._on_flush)
        if leader:
            self._local = LocalAckGroup(layout.children(node), self._timers, config.rto, self._ops, self._retransmit)

    @property
    def kept(self) -> int:
        """Packets this leader holds for its local group."""
        return len(self._kept)

    def aggregate(self) -> int:
        """Every packet below this is held by this node's whole subtree."""
        if self._local is None:
            return self.next_expected
        return min(self.next_expected, self._local.aggregate())

    def receive_packet(self, packet: Packet, source: Address, now: float) -> None:
        kind = packet.kind
        if kind is Kind.DATA:
            self._accept(packet, now)
            self._send_ack(packet.seq, packet.round)
        elif kind is Kind.ACK and self._local is not None:
            self._handle_child_ack(packet, now)

    def _send_ack(self, seq: int, rnd: int) -> None:
        self._ops["Y_h"] += 1
        self._repeats = 0 if rnd else self._repeats
        self._reported = self.aggregate()
        self._send(Packet(Kind.ACK, self.node, seq, rnd, self._reported), self.parent, False)

    def _on_new(self, seq: int, now: float) -> None:
        if self._local is not None:
            self._kept[seq] = self._store[seq]
            self._local.have(seq, now)

    def _handle_child_ack(self, packet: Packet, now: float) -> None:
        local = self._local
        assert local is not None
        if not local.ack(packet):
            return
        bound = local.aggregate()
        local.release_below(bound)
        kept = self._kept
        while kept and (oldest := next(iter(kept))) < bound:
            del kept[oldest]
        if self.aggregate() > self._reported and not self._flush.armed:
            self._timers.arm(self._flush, now + self.config.aggregate_delay)

    def _on_flush(self, now: float) -> None:
        """Report an aggregate no local ACK carried; repeat it twice, doubling the wait, unless
        a local ACK (which carries it again) goes out in between."""
        if self.aggregate() > self._reported:
            self._repeats = AGGREGATE_REPEATS
        elif self._repeats > 0:
            self._repeats -= 1
        else:
            return
        self._send_ack(0, 0)
        if self._repeats:
            wait = self.config.aggregate_delay * (1 << (AGGREGATE_REPEATS - self._repeats + 1))
            self._timers.arm(self._flush, now + wait)

    def _retransmit(self, seq: int, rnd: int, now: float) -> None:
        payload = self._kept.get(seq)
        if payload is None or self.own_group is None:
            return
        self._ops["X_p"] += 1
        flags = FLAG_REPAIR | (FLAG_FIN if self.end is not None and seq == self.end - 1 else 0)
        self._send(Packet(Kind.DATA, self.node, seq, rnd, 0, 0.0, flags, payload), self.own_group, True)
