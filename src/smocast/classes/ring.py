"""Class R, ring-based (Levine; TRP, RMP): a token site ACKs each packet and repairs it.

The receivers form a ring, numbered 1..R. The token moves once per packet: the token site of
packet s is receiver (s mod R) + 1. When that site holds every packet up to s and has seen the
token for s − 1, it multicasts a TOKEN for s, which is at once the ACK to the source (which
then frees s), the time stamp that orders s for everybody, and the token passed to the next
site. A receiver that misses s unicasts a NAK to s's token site once it has seen the TOKEN for
s (so the site surely holds s), and the site answers each NAK with a unicast repair. A token
site that missed s itself NAKs the source, which repairs it by unicast (§7 of the reference).

Each site keeps the packets it acknowledged until the token has gone once round the ring after
them: every site accepts the token only when it holds everything before it, so by then every
receiver holds them. After the last packet the token makes one closing round, passed from site
to site by unicast and acknowledged, so that a receiver that missed the last packets and their
TOKENs still learns of them; when it is complete the source reports SenderFinished. The closing
round, like heartbeats, is not in the model and is counted as X_s / Y_s.

Work on a packet is counted under the role ``token_site`` at its token
site and ``receiver`` everywhere else.
"""

from __future__ import annotations

import random

from smocast.classes.base import ReceiverCore, SenderCore
from smocast.classes.config import ClassConfig
from smocast.classes.ledger import RECEIVER, TOKEN_SITE
from smocast.classes.packet import FLAG_FIN, FLAG_REPAIR, Kind, Packet
from smocast.classes.recovery import DirectNaks
from smocast.core.datagram import Address
from smocast.core.errors import ConfigError
from smocast.core.timers import Timer

CLOSE_PASS = 1
"""TOKEN ``round``: a pass of the closing round (unicast from site to site)."""
CLOSE_DONE = 2
"""TOKEN ``round``: the closing round is complete (unicast to the source)."""


def token_site(seq: int, receivers: int) -> int:
    """The ring node (1..R) that acknowledges packet ``seq``."""
    return seq % receivers + 1


class SenderR(SenderCore):
    """The source of class R: multicast once, free on the TOKEN, repair token sites by unicast.

    It reports SenderFinished when the closing round says every receiver holds the stream.
    """

    HEARTBEAT = True
    FINISH_ON_RELEASE = False

    def __init__(self, group: Address, config: ClassConfig, rng: random.Random) -> None:
        super().__init__(group, config, rng)
        self.groups = (group,)  # the TOKEN is multicast to the group

    def receive_packet(self, packet: Packet, source: Address, now: float) -> None:
        kind = packet.kind
        if kind is Kind.TOKEN and packet.round == CLOSE_DONE:
            self._ops["X_s"] += 1
            self._send(Packet(Kind.REPLY, self.node, packet.seq), source, False)
            if self.end is not None and packet.aux == self.end:
                self._release_through(self.end - 1, now)
                self._finish(now)
        elif kind is Kind.TOKEN:
            self._ops["X_a"] += 1
            self._quiet(now)
            self._release_through(packet.seq, now)
        elif kind is Kind.NAK:
            self._ops["X_n"] += 1
            payload = self._payload(packet.seq, now) if packet.seq < self.next_seq else None
            if payload is not None:
                self._data(packet.seq, packet.round + 1, payload, source, False)

    def _send_original(self, seq: int, payload: bytes, last: bool, now: float) -> None:
        self._data(seq, 1, payload, self.group, True)

    def _release_through(self, seq: int, now: float) -> None:
        held = self.held
        while held and (oldest := next(iter(held))) <= seq:  # tokens pass in order
            self._release(oldest, now)

    def _quiet(self, now: float) -> None:
        """A TOKEN came: the ring is moving, so the idle heartbeat starts over."""
        if self._heartbeat.armed:
            self._heartbeat_interval = self.config.heartbeat
            self._timers.arm(self._heartbeat, now + self._heartbeat_interval)

    def _session_aux(self) -> int:
        """One more than the oldest packet not yet ACKed by its token site (0: none)."""
        return next(iter(self.held)) + 1 if self.held else 0


class ReceiverR(ReceiverCore):
    """Receiver ``node`` (1..R) of the ring ``ring`` (the receivers' addresses in ring order)."""

    def __init__(
        self, node: int, source: Address, group: Address, ring: list[Address], config: ClassConfig, rng: random.Random
    ) -> None:
        if not 1 <= node <= len(ring):
            raise ConfigError(f"node {node} is not on a ring of {len(ring)}")
        super().__init__(node, source, group, config, rng)
        self.ring = ring
        self._site_ops = self.ledger.role(TOKEN_SITE)
        self._ops = self.ledger.role(RECEIVER) if len(ring) > 1 else self._site_ops
        self.token = -1  # the highest packet whose TOKEN was sent or seen
        self._token_sent_at = float("-inf")
        self._kept: dict[int, bytes] = {}
        self._waiting: set[int] = set()  # missing, but their TOKEN has not been seen yet
        self._naks = DirectNaks(self._timers, config.rto, self._send_nak, self._ops_for)
        self._closing_in: tuple[int, Address] | None = None  # a closing pass not yet accepted
        self._closing_out: Packet | None = None  # the closing message sent, until acknowledged
        self._closing_to: Address = source
        self._closing_wait = config.rto
        self._closing_timer = Timer(self._on_closing_timer)

    @property
    def kept(self) -> int:
        """Packets this site holds for repairs."""
        return len(self._kept)

    def is_site(self, seq: int) -> bool:
        return seq % len(self.ring) + 1 == self.node

    def _ops_for(self, seq: int) -> dict[str, int]:
        return self._site_ops if seq % len(self.ring) + 1 == self.node else self._ops

    def receive_packet(self, packet: Packet, source: Address, now: float) -> None:
        kind = packet.kind
        if kind is Kind.DATA:
            if self._accept(packet, now):
                self._pass_token(now)
                self._try_close(now)
        elif kind is Kind.TOKEN:
            if packet.round == CLOSE_PASS:
                self._handle_closing_pass(packet, source, now)
            else:
                self._handle_token(packet, now)
        elif kind is Kind.NAK:
            self._handle_nak(packet, source, now)
        elif kind is Kind.SESSION:
            self._handle_heartbeat(packet, now)
        elif kind is Kind.REPLY:
            self._handle_closing_reply(packet)

    # --- as a receiver -------------------------------------------------------------------------

    def _handle_token(self, packet: Packet, now: float) -> None:
        seq = packet.seq
        self._ops_for(seq)["Y_a"] += 1
        if packet.flags & FLAG_FIN:
            self._learn_end(seq + 1, now)
        elif seq >= self.highest:
            self._learn_highest(seq + 1, now)
        if seq > self.token:
            self._token_seen(seq, now)
        self._pass_token(now)

    def _token_seen(self, seq: int, now: float) -> None:
        """Every packet up to ``seq`` was ACKed by its site: NAK the ones still missing."""
        self._advance_token(seq, now)
        for missing in sorted(s for s in self._waiting if s <= seq):
            self._waiting.discard(missing)
            self._naks.start(missing, now)

    def _handle_heartbeat(self, packet: Packet, now: float) -> None:
        """The source is idle. Its ``aux`` names the oldest packet it still waits a TOKEN for:
        everything before was ACKed (a lost TOKEN is learnt here), and its site sends it again."""
        self._ops["Y_s"] += 1
        self._learn_session(packet, now)
        if not packet.aux:
            return
        oldest = packet.aux - 1
        if oldest - 1 > self.token:
            self._token_seen(oldest - 1, now)
        if self.is_site(oldest) and self.token >= oldest and now - self._token_sent_at >= self.config.rto:
            self._send_token(oldest, now)  # lost on the way to the source (not merely in flight)
        self._pass_token(now)

    def _on_missing(self, seq: int, now: float) -> None:
        if self.is_site(seq) or seq <= self.token:
            self._naks.start(seq, now)  # a site asks the source; others ask a site that holds it
        else:
            self._waiting.add(seq)

    def _on_new(self, seq: int, now: float) -> None:
        self._waiting.discard(seq)
        self._naks.arrived(seq)
        if self.is_site(seq):
            self._kept[seq] = self._store[seq]

    def _send_nak(self, seq: int, rnd: int, now: float) -> None:
        site = token_site(seq, len(self.ring))
        destination = self.source if site == self.node else self.ring[site - 1]
        self._send(Packet(Kind.NAK, self.node, seq, rnd), destination, False)

    # --- as the token site -----------------------------------------------------------------------

    def _pass_token(self, now: float) -> None:
        """ACK every packet this site is the token site of, in order, once it holds all before it."""
        seq = self.token + 1
        while self.is_site(seq) and seq < self.next_expected:
            self._send_token(seq, now)
            self._advance_token(seq, now)
            if self.end is not None and seq == self.end - 1:
                self._send_closing(seq + 1, now)
            seq += 1

    def _send_token(self, seq: int, now: float) -> None:
        self._token_sent_at = now
        self._site_ops["Y_a"] += 1
        flags = FLAG_FIN if self.end is not None and seq == self.end - 1 else 0
        self._send(Packet(Kind.TOKEN, self.node, seq, 0, 0, now, flags), self.group, True)

    def _advance_token(self, seq: int, now: float) -> None:
        self.token = seq
        bound = seq - len(self.ring) + 1  # the token went round the ring since these
        kept = self._kept
        while kept and (oldest := next(iter(kept))) < bound:
            del kept[oldest]

    def _handle_nak(self, packet: Packet, source: Address, now: float) -> None:
        seq = packet.seq
        ops = self._ops_for(seq)
        ops["X_n"] += 1
        payload = self._kept.get(seq)
        if payload is None:
            return  # released: the token went round, so the asker holds it by now
        ops["X_p"] += 1
        flags = FLAG_REPAIR | (FLAG_FIN if self.end is not None and seq == self.end - 1 else 0)
        self._send(Packet(Kind.DATA, self.node, seq, packet.round + 1, 0, 0.0, flags, payload), source, False)

    # --- the closing round -------------------------------------------------------------------------

    def _handle_closing_pass(self, packet: Packet, source: Address, now: float) -> None:
        """The token goes round once more after the last packet, site to site by unicast; a site
        takes it only when it holds the whole stream, so when it is back, everyone does."""
        self._ops["Y_s"] += 1
        self._learn_end(packet.aux, now)
        if self.end is None:
            return
        if self.end - 1 > self.token:
            self._token_seen(self.end - 1, now)
        self._closing_in = (packet.seq, source)
        self._try_close(now)

    def _try_close(self, now: float) -> None:
        pending = self._closing_in
        if pending is None or self.end is None or self.next_expected < self.end:
            return
        slot, origin = pending
        self._closing_in = None
        self._ops["Y_s"] += 1
        self._send(Packet(Kind.REPLY, self.node, slot), origin, False)
        if slot > self.token:
            self._advance_token(slot, now)
            self._send_closing(slot + 1, now)

    def _send_closing(self, slot: int, now: float) -> None:
        """Pass the closing token for ``slot``, or tell the source the round is complete."""
        assert self.end is not None
        if slot > self.end + len(self.ring) - 2:
            packet = Packet(Kind.TOKEN, self.node, slot, CLOSE_DONE, self.end, now, FLAG_FIN)
            self._closing_to = self.source
        else:
            packet = Packet(Kind.TOKEN, self.node, slot, CLOSE_PASS, self.end, now, FLAG_FIN)
            self._closing_to = self.ring[token_site(slot, len(self.ring)) - 1]
        self._closing_out = packet
        self._closing_wait = self.config.rto
        self._send_closing_packet(now)

    def _send_closing_packet(self, now: float) -> None:
        if self._closing_out is not None:
            self._ops["Y_s"] += 1
            self._send(self._closing_out, self._closing_to, False)
            self._timers.arm(self._closing_timer, now + self._closing_wait)

    def _on_closing_timer(self, now: float) -> None:
        self._closing_wait = min(self._closing_wait * 2, self.config.heartbeat_max)
        self._send_closing_packet(now)

    def _handle_closing_reply(self, packet: Packet) -> None:
        out = self._closing_out
        if out is not None and packet.seq == out.seq:
            self._closing_out = None
            self._timers.disarm(self._closing_timer)
