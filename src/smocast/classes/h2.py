"""Class H2, tree-NAPP: a tree with NAK avoidance inside each local group and periodic polling
to release memory (Levine; TMTP).

The tree and the original multicast are those of H1 (:mod:`smocast.classes.h1`). Inside each
local group a child that misses a packet multicasts a NAK to the group after an SRM back-off
scaled by its distance to the parent, and siblings that hear it suppress their own; the parent
repairs by multicast to the group (:class:`~smocast.classes.napp.LocalNakGroup`). The parent's
periodic polls carry the highest sequence number (so a lost last packet is noticed), release
memory through the children's aggregate replies, and measure the distances the back-off needs:
every message NAK avoidance depends on stays inside a group of B.
"""

from __future__ import annotations

import random

from smocast.classes.base import ReceiverCore, SenderCore
from smocast.classes.config import ClassConfig
from smocast.classes.ledger import LEADER, RECEIVER
from smocast.classes.napp import LocalNakGroup
from smocast.classes.packet import FLAG_FIN, FLAG_REPAIR, Kind, Packet, rtt_from_table
from smocast.classes.recovery import NakAvoidance
from smocast.classes.tree import TreeLayout
from smocast.core.datagram import Address


class SenderH2(SenderCore):
    """The source of class H2: the root of the tree and the parent of nodes 1..B."""

    def __init__(
        self, group: Address, local_group: Address, layout: TreeLayout, config: ClassConfig, rng: random.Random
    ) -> None:
        super().__init__(group, config, rng)
        self.local_group = local_group
        self.groups = (local_group,)  # the children's NAKs are multicast to the local group
        self._local = LocalNakGroup(
            0, layout.children(0), self._timers, config, self._ops, self._retransmit, self._send_poll, self._status
        )

    def receive_packet(self, packet: Packet, source: Address, now: float) -> None:
        kind = packet.kind
        if kind is Kind.NAK:
            if self._local.is_child(packet.node):
                self._local.nak(packet, packet.seq in self.held, now)
        elif kind is Kind.REPLY and self._local.reply(packet, now):
            bound = self._local.aggregate()
            held = self.held
            while held and (oldest := next(iter(held))) < bound:
                self._release(oldest, now)

    def _send_original(self, seq: int, payload: bytes, last: bool, now: float) -> None:
        self._data(seq, 1, payload, self.group, True)
        self._local.packet_seen(seq, now)

    def _retransmit(self, seq: int, rnd: int, now: float) -> bool:
        payload = self.held.get(seq)
        if payload is None:
            return False
        self._data(seq, rnd, payload, self.local_group, True)
        return True

    def _send_poll(self, packet: Packet) -> None:
        self._send(packet, self.local_group, True)

    def _status(self) -> tuple[int, int | None]:
        return self.next_seq, self.end


class ReceiverH2(ReceiverCore):
    """A receiver of class H2: a leaf, or a group leader when the layout gives it children."""

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
        self.parent_node = layout.parent(node)
        self.parent_group = parent_group
        self.own_group = own_group
        self._index = layout.index_in_group(node)
        self.distance = config.initial_distance
        self._naks = NakAvoidance(self._timers, rng, config, self._get_distance, self._send_nak, self._ops_for)
        self._naks.group = len(layout.children(self.parent_node))
        self._kept: dict[int, bytes] = {}
        self._local: LocalNakGroup | None = None
        groups = [group, parent_group]
        if leader and own_group is not None:
            groups.append(own_group)
            self._local = LocalNakGroup(
                node,
                layout.children(node),
                self._timers,
                config,
                self._ops,
                self._retransmit,
                self._send_poll,
                self._status,
            )
        self.groups = tuple(groups)

    @property
    def kept(self) -> int:
        """Packets this leader holds for its local group."""
        return len(self._kept)

    def _get_distance(self) -> float:
        return self.distance

    def aggregate(self) -> int:
        if self._local is None:
            return self.next_expected
        return min(self.next_expected, self._local.aggregate())

    def receive_packet(self, packet: Packet, source: Address, now: float) -> None:
        kind = packet.kind
        if kind is Kind.DATA:
            self._accept(packet, now)
        elif kind is Kind.NAK:
            self._handle_nak(packet, now)
        elif kind is Kind.SESSION:
            if packet.node == self.parent_node:
                self._handle_poll(packet, now)
        elif kind is Kind.REPLY and self._local is not None and self._local.reply(packet, now):
            bound = self._local.aggregate()
            kept = self._kept
            while kept and (oldest := next(iter(kept))) < bound:
                del kept[oldest]

    def _handle_nak(self, packet: Packet, now: float) -> None:
        if packet.node == self.node:
            return
        local = self._local
        if local is not None and local.is_child(packet.node):
            local.nak(packet, packet.seq in self._kept, now)
            return
        self._ops["Y_nr"] += 1  # a sibling's NAK, heard on the parent's group
        if packet.seq >= self.highest:
            self._learn_highest(packet.seq + 1, now)
        self._naks.heard(packet.seq, packet.round, now)

    def _handle_poll(self, packet: Packet, now: float) -> None:
        self._ops["Y_pa"] += 1
        self._learn_session(packet, now)
        rtt = rtt_from_table(packet.payload, self._index)
        if rtt is not None:
            self.distance = rtt / 2
        self._send(Packet(Kind.REPLY, self.node, 0, 0, self.aggregate(), packet.stamp), self.parent, False)

    def _on_missing(self, seq: int, now: float) -> None:
        self._naks.start(seq, now)

    def _on_new(self, seq: int, now: float) -> None:
        self._naks.arrived(seq)
        local = self._local
        if local is not None:
            self._kept[seq] = self._store[seq]
            local.have(seq, now)
            local.packet_seen(seq, now)

    def _send_nak(self, seq: int, rnd: int, now: float) -> None:
        self._send(Packet(Kind.NAK, self.node, seq, rnd), self.parent_group, True)

    def _retransmit(self, seq: int, rnd: int, now: float) -> bool:
        payload = self._kept.get(seq)
        if payload is None or self.own_group is None:
            return False
        self._ops["X_p"] += 1
        flags = FLAG_REPAIR | (FLAG_FIN if self.end is not None and seq == self.end - 1 else 0)
        self._send(Packet(Kind.DATA, self.node, seq, rnd, 0, 0.0, flags, payload), self.own_group, True)
        return True

    def _send_poll(self, packet: Packet) -> None:
        if self.own_group is not None:
            self._send(packet, self.own_group, True)

    def _status(self) -> tuple[int, int | None]:
        return self.highest, self.end
