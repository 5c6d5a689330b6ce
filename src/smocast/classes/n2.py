"""Class N2, receiver-initiated with NAK avoidance, in the spirit of SRM.

Receivers multicast their NAKs to the whole group after a random back-off scaled by their
distance to the source, and a receiver that hears another's NAK for the same round suppresses
its own (:class:`NakAvoidance`). The source re-multicasts once per round, as in N1.

The distances come from session messages, as in SRM: the source multicasts one every
``session_interval`` (the first ones sooner), every receiver answers with a REPLY echoing its
time stamp, and the next session message carries the round-trip time the source measured to
each receiver. This costs the source one REPLY per receiver per session message: the
"persistence of session messages" Levine criticises. These are counted as X_s / Y_s, which the
model (§4.3 of the reference) leaves out, as it leaves out imperfect suppression.

Like N1, the source has no rule that frees memory; see :mod:`smocast.classes.n1`.
"""

from __future__ import annotations

import random

from smocast.classes.base import ReceiverCore
from smocast.classes.config import ClassConfig
from smocast.classes.n1 import Recover, SenderN1
from smocast.classes.packet import RTT_SIZE, Kind, Packet, encode_rtt_table, rtt_from_table
from smocast.classes.recovery import NakAvoidance
from smocast.core.datagram import Address
from smocast.core.errors import ConfigError
from smocast.core.timers import Timer

FIRST_SESSION_GAP = 1 / 16
"""The second session message follows the first after this fraction of session_interval; the
gap doubles up to session_interval, so distances are measured early in a session."""


class SenderN2(SenderN1):
    """The source of class N2: N1's source, plus session messages; it hears NAKs on the group."""

    def __init__(
        self, group: Address, receivers: int, config: ClassConfig, rng: random.Random, recover: Recover | None = None
    ) -> None:
        super().__init__(group, config, rng, recover)
        if receivers < 1:
            raise ConfigError(f"need at least one receiver, got {receivers}")
        self.groups = (group,)
        self._rtts = [0.0] * receivers
        self._session = Timer(self._on_session)
        self._session_gap = config.session_interval * FIRST_SESSION_GAP
        self._timers.arm(self._session, 0.0)

    def receive_packet(self, packet: Packet, source: Address, now: float) -> None:
        kind = packet.kind
        if kind is Kind.NAK:
            self._handle_nak(packet, now)
        elif kind is Kind.REPLY:
            self._ops["X_s"] += 1
            index = packet.node - 1
            if 0 <= index < len(self._rtts) and packet.stamp <= now:
                self._rtts[index] = now - packet.stamp

    def _on_session(self, now: float) -> None:
        self._ops["X_s"] += 1
        self._send(self._session_packet(now, True, encode_rtt_table(self._rtts)), self.group, True)
        self._timers.arm(self._session, now + self._session_gap)
        self._session_gap = min(self._session_gap * 2, self.config.session_interval)


class ReceiverN2(ReceiverCore):
    """A receiver of class N2: multicast NAKs with SRM back-off and suppression."""

    def __init__(self, node: int, source: Address, group: Address, config: ClassConfig, rng: random.Random) -> None:
        super().__init__(node, source, group, config, rng)
        self.distance = config.initial_distance
        self._naks = NakAvoidance(self._timers, rng, config, self._get_distance, self._send_nak, self._ops_for)

    @property
    def missing(self) -> int:
        return len(self._naks)

    def _get_distance(self) -> float:
        return self.distance

    def receive_packet(self, packet: Packet, source: Address, now: float) -> None:
        kind = packet.kind
        if kind is Kind.DATA:
            self._accept(packet, now)
        elif kind is Kind.NAK:
            if packet.node != self.node:
                self._handle_foreign_nak(packet, now)
        elif kind is Kind.SESSION:
            self._handle_session(packet, now)

    def _handle_foreign_nak(self, packet: Packet, now: float) -> None:
        self._ops["Y_nr"] += 1
        seq = packet.seq
        if seq >= self.highest:
            self._learn_highest(seq + 1, now)
        if seq in self._naks:  # most receivers hear NAKs for packets they hold
            self._naks.heard(seq, packet.round, now)

    def _handle_session(self, packet: Packet, now: float) -> None:
        self._ops["Y_s"] += 1
        self._learn_session(packet, now)
        if not packet.round:
            return  # a heartbeat: no reply wanted
        self._naks.group = max(1, len(packet.payload) // RTT_SIZE)  # one entry per receiver
        rtt = rtt_from_table(packet.payload, self.node - 1)
        if rtt is not None:
            self.distance = rtt / 2
        self._ops["Y_s"] += 1
        self._send(Packet(Kind.REPLY, self.node, 0, 0, 0, packet.stamp), self.source, False)

    def _on_missing(self, seq: int, now: float) -> None:
        self._naks.start(seq, now)

    def _on_new(self, seq: int, now: float) -> None:
        self._naks.arrived(seq)

    def _send_nak(self, seq: int, rnd: int, now: float) -> None:
        self._send(Packet(Kind.NAK, self.node, seq, rnd), self.group, True)
