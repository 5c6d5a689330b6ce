"""Class A, sender-initiated (Pingali et al.): every receiver ACKs every copy it receives, and
the source re-multicasts a packet whenever its timer runs out before all R receivers ACKed it.

The source knows the receiver set (receivers 1..R) and releases a packet from its finite buffer
only when every receiver has ACKed it, so it never deadlocks. Per packet it processes
R(1 − p)E[M] ACKs, which is the ACK implosion that limits the class (§4.1 of the reference).
"""

from __future__ import annotations

import random
from functools import partial

from smocast.classes.base import ReceiverCore, SenderCore
from smocast.classes.config import ClassConfig
from smocast.classes.packet import Kind, Packet
from smocast.core.datagram import Address
from smocast.core.errors import ConfigError
from smocast.core.timers import Timer


class _Outstanding:
    """One unreleased packet: which receivers ACKed it, how often it was sent, its timer."""

    __slots__ = ("acked", "count", "round", "timer")

    def __init__(self, receivers: int, timer: Timer) -> None:
        self.acked = bytearray(receivers)
        self.count = 0
        self.round = 1
        self.timer = timer


class SenderA(SenderCore):
    """The source of class A for ``receivers`` receivers, numbered 1..R in their ACKs."""

    def __init__(self, group: Address, receivers: int, config: ClassConfig, rng: random.Random) -> None:
        super().__init__(group, config, rng)
        if receivers < 1:
            raise ConfigError(f"need at least one receiver, got {receivers}")
        self.receivers = receivers
        self._outstanding: dict[int, _Outstanding] = {}

    def receive_packet(self, packet: Packet, source: Address, now: float) -> None:
        if packet.kind is Kind.ACK:
            self._handle_ack(packet, now)

    def _send_original(self, seq: int, payload: bytes, last: bool, now: float) -> None:
        state = _Outstanding(self.receivers, Timer(partial(self._on_timeout, seq)))
        self._outstanding[seq] = state
        self._data(seq, 1, payload, self.group, True)
        self._timers.arm(state.timer, now + self.config.rto)

    def _handle_ack(self, packet: Packet, now: float) -> None:
        self._ops["X_a"] += 1
        state = self._outstanding.get(packet.seq)
        index = packet.node - 1
        if state is None or not 0 <= index < self.receivers or state.acked[index]:
            return
        state.acked[index] = 1
        state.count += 1
        if state.count == self.receivers:
            del self._outstanding[packet.seq]
            self._timers.disarm(state.timer)
            self._release(packet.seq, now)

    def _on_timeout(self, seq: int, now: float) -> None:
        state = self._outstanding.get(seq)
        if state is None:
            return
        self._ops["X_t"] += 1
        state.round += 1
        self._data(seq, state.round, self.held[seq], self.group, True)
        self._timers.arm(state.timer, now + self.config.rto)


class ReceiverA(ReceiverCore):
    """A receiver of class A: it ACKs every copy, duplicates included, by unicast to the source."""

    def receive_packet(self, packet: Packet, source: Address, now: float) -> None:
        if packet.kind is Kind.DATA:
            self._accept(packet, now)
            self._ops["Y_a"] += 1
            self._send(Packet(Kind.ACK, self.node, packet.seq, packet.round), self.source, False)
