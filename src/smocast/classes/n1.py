"""Class N1, receiver-initiated (Pingali et al.): receivers unicast a NAK for every lost
transmission, and the source re-multicasts the packet once per round.

A receiver finds a loss from a gap in the sequence numbers (or, for the last packet, from the
source's idle heartbeat), NAKs it at once and waits for the repair (:class:`DirectNaks`). A NAK
names the transmission it missed; the source answers the first NAK of a round and counts the
others as processed (R·q NAKs per packet in all, §4.2 of the reference).

Nothing tells the source that a packet may leave memory. With a finite buffer it must drop the
oldest packet to take a new one, and a NAK that arrives later cannot be answered: that is
Levine's Theorem 2. ``recover``, if given, is application-level recovery (the application
rebuilds a dropped packet on demand, as SRM's applications must); without it the requesting
receiver is stuck, and the source reports :class:`~smocast.classes.events.RepairUnavailable`.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from smocast.classes.base import ReceiverCore, SenderCore
from smocast.classes.config import ClassConfig
from smocast.classes.packet import Kind, Packet
from smocast.classes.recovery import DirectNaks
from smocast.core.datagram import Address

Recover = Callable[[int], bytes | None]
"""Application-level recovery: the payload of packet ``seq``, rebuilt, or None."""


class SenderN1(SenderCore):
    """The source of class N1. ``buffer`` None (unbounded) is the only deadlock-free setting
    unless ``recover`` is given."""

    EVICTS = True
    HEARTBEAT = True

    def __init__(self, group: Address, config: ClassConfig, rng: random.Random, recover: Recover | None = None) -> None:
        super().__init__(group, config, rng)
        self._recover = recover
        self._rounds: dict[int, int] = {}  # transmissions so far, for held packets

    def receive_packet(self, packet: Packet, source: Address, now: float) -> None:
        if packet.kind is Kind.NAK:
            self._handle_nak(packet, now)

    def _send_original(self, seq: int, payload: bytes, last: bool, now: float) -> None:
        self._rounds[seq] = 1
        self._data(seq, 1, payload, self.group, True)

    def _on_evicted(self, seq: int) -> None:
        self._rounds.pop(seq, None)

    def _handle_nak(self, packet: Packet, now: float) -> None:
        """Re-multicast on the first NAK of the current round; later ones are only counted."""
        self._ops["X_n"] += 1
        seq = packet.seq
        if seq >= self.next_seq:
            return
        sent = self._rounds.get(seq)
        if sent is not None and packet.round < sent:
            return  # that round was answered already
        payload = self.held.get(seq)
        if payload is None and self._recover is not None:
            payload = self._recover(seq)
        if payload is None:
            self._payload(seq, now)  # reports RepairUnavailable once
            return
        rnd = max(sent or 0, packet.round) + 1
        if seq in self.held:
            self._rounds[seq] = rnd
        self._data(seq, rnd, payload, self.group, True)


class ReceiverN1(ReceiverCore):
    """A receiver of class N1: NAKs by unicast to the source, one per lost transmission."""

    def __init__(self, node: int, source: Address, group: Address, config: ClassConfig, rng: random.Random) -> None:
        super().__init__(node, source, group, config, rng)
        self._naks = DirectNaks(self._timers, config.rto, self._send_nak, self._ops_for)

    @property
    def missing(self) -> int:
        """Packets this receiver is NAKing now."""
        return len(self._naks)

    def receive_packet(self, packet: Packet, source: Address, now: float) -> None:
        kind = packet.kind
        if kind is Kind.DATA:
            self._accept(packet, now)
        elif kind is Kind.SESSION:
            self._ops["Y_s"] += 1
            self._learn_session(packet, now)

    def _on_missing(self, seq: int, now: float) -> None:
        self._naks.start(seq, now)

    def _on_new(self, seq: int, now: float) -> None:
        self._naks.arrived(seq)

    def _send_nak(self, seq: int, rnd: int, now: float) -> None:
        self._send(Packet(Kind.NAK, self.node, seq, rnd), self.source, False)
