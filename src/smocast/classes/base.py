"""Machinery shared by the six classes: the sans-IO contract, the source's buffer and pacing,
and a receiver's in-order delivery.

A class module subclasses :class:`SenderCore` and :class:`ReceiverCore` and fills in
``receive_packet`` plus a few hooks (``_send_original``, ``_on_missing``, ``_on_new``). Both
cores keep every timer in one :class:`~smocast.core.timers.TimerQueue`, so a driver holds one
timer per endpoint; both count the model's operations in a :class:`~smocast.classes.ledger.Ledger`.

The driver loop is the same for every endpoint: feed ``receive_datagram`` (or, in the
simulator, ``receive_packet`` with the already decoded packet) or ``handle_timer``; then drain
``next_event`` and ``datagrams_to_send``; then re-arm the one timer at ``next_deadline``.
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable

from smocast.classes import events as ev
from smocast.classes.config import ClassConfig
from smocast.classes.ledger import RECEIVER, SENDER, Ledger
from smocast.classes.packet import FLAG_FIN, FLAG_REPAIR, Kind, Packet, PacketError, decode, encode
from smocast.core.datagram import Address, Datagram
from smocast.core.errors import LocalProtocolError
from smocast.core.timers import Timer, TimerQueue

MAX_AHEAD = 1 << 16
"""A receiver ignores a sequence number this far beyond the highest it has seen: no sender runs
that far ahead, and a corrupt or hostile one must not make it track billions of gaps."""


class Endpoint(ABC):
    """The five methods of the contract plus ``receive_packet``; subclasses handle packets."""

    def __init__(self, config: ClassConfig, rng: random.Random, node: int) -> None:
        self.config = config
        self.node = node
        self._rng = rng
        self.ledger = Ledger()
        self._timers = TimerQueue()
        self._out: list[Datagram[Packet]] = []
        self._events: deque[ev.ClassEvent] = deque()
        self.malformed = 0
        self.groups: tuple[Address, ...] = ()
        """The multicast groups a runtime must join for this endpoint before it starts."""
        self.next_deadline: Callable[[], float | None] = self._timers.next_deadline
        """When ``handle_timer`` must next be called, or None (the timer queue's, bound directly:
        the simulator asks after every packet)."""

    def receive_datagram(self, data: bytes, source: Address, now: float) -> None:
        """Decode one datagram and handle it; malformed ones are counted and dropped."""
        try:
            packet = decode(data)
        except PacketError:
            self.malformed += 1
            return
        self.receive_packet(packet, source, now)

    @abstractmethod
    def receive_packet(self, packet: Packet, source: Address, now: float) -> None:
        """Handle one decoded packet from ``source`` (the simulator calls this directly)."""

    def datagrams_to_send(self, now: float) -> list[Datagram[Packet]]:
        """What to send now; the caller must send every datagram returned."""
        out, self._out = self._out, []
        return out

    def handle_timer(self, now: float) -> None:
        """Run every internal timer due at ``now``; then drain sends and events."""
        self._timers.run_due(now)

    def next_event(self) -> ev.ClassEvent | None:
        """The next event for the application, or None."""
        events = self._events
        return events.popleft() if events else None

    def _send(self, packet: Packet, destination: Address, multicast: bool) -> None:
        self._out.append(Datagram(encode(packet), destination, multicast, packet))


class SenderCore(Endpoint):
    """The source: takes packets from the application, paces originals, holds them until released.

    ``held`` maps each unreleased sequence number to its payload. A subclass sends the original
    in ``_send_original`` and calls ``_release`` when its class's rule frees a packet.
    """

    EVICTS = False  # N1/N2 override: no release rule, so a full buffer drops its oldest packet
    HEARTBEAT = False  # classes whose receivers detect a lost last packet only from a heartbeat
    FINISH_ON_RELEASE = True  # the ring finishes on its closing round instead

    def __init__(self, group: Address, config: ClassConfig, rng: random.Random) -> None:
        super().__init__(config, rng, 0)
        self.group = group
        self._ops = self.ledger.role(SENDER)
        self._queue: deque[bytes] = deque()
        self._closed = False
        self.held: dict[int, bytes] = {}
        self.next_seq = 0
        self.end: int | None = None
        self.finished = False
        self.peak_held = 0
        self.evicted = 0
        self._next_send_at = 0.0
        self._pace = Timer(self._on_pace)
        self._heartbeat = Timer(self._on_heartbeat)
        self._heartbeat_interval = config.heartbeat
        self._unavailable: set[int] = set()

    # --- application API -------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        """Queue one application packet (its payload)."""
        if self._closed:
            raise LocalProtocolError("write() after close()")
        self._queue.append(bytes(data))

    def close(self) -> None:
        """No more packets. If every packet was already sent, an empty one ends the stream."""
        if self._closed:
            return
        if not self._queue:
            self._queue.append(b"")
        self._closed = True

    @property
    def pending(self) -> int:
        """Packets written but not yet taken by the protocol."""
        return len(self._queue)

    # --- contract --------------------------------------------------------------------------

    def datagrams_to_send(self, now: float) -> list[Datagram[Packet]]:
        self._fill(now)
        return super().datagrams_to_send(now)

    # --- sending ---------------------------------------------------------------------------

    def _room(self) -> bool:
        cap = self.config.buffer
        return cap is None or self.EVICTS or len(self.held) < cap

    def _fill(self, now: float) -> None:
        """Take and send originals while the pace and the buffer allow."""
        queue = self._queue
        while queue and self._room():
            if now < self._next_send_at:
                self._timers.arm(self._pace, self._next_send_at)
                return
            payload = queue.popleft()
            seq = self.next_seq
            self.next_seq = seq + 1
            self._ops["X_f"] += 1
            cap = self.config.buffer
            if cap is not None and len(self.held) >= cap:
                oldest = next(iter(self.held))  # dicts keep insertion order
                del self.held[oldest]
                self.evicted += 1
                self._on_evicted(oldest)
            self.held[seq] = payload
            self.peak_held = max(self.peak_held, len(self.held))
            last = self._closed and not queue
            if last:
                self.end = seq + 1
            self._send_original(seq, payload, last, now)
            self._next_send_at = now + self.config.interval
            if self.HEARTBEAT:
                self._heartbeat_interval = self.config.heartbeat
                self._timers.arm(self._heartbeat, now + self._heartbeat_interval)

    def _on_evicted(self, seq: int) -> None:
        """A full buffer dropped ``seq`` unreleased (only classes with EVICTS)."""

    def _on_pace(self, now: float) -> None:
        """Nothing to do here: ``datagrams_to_send`` sends what the pace now allows."""

    @abstractmethod
    def _send_original(self, seq: int, payload: bytes, last: bool, now: float) -> None:
        """Send packet ``seq`` for the first time (count X_p) and start its class's machinery."""

    def _data(self, seq: int, rnd: int, payload: bytes, destination: Address, multicast: bool) -> None:
        """Send one (re)transmission of ``seq``; counts X_p."""
        self._ops["X_p"] += 1
        flags = FLAG_FIN if self.end is not None and seq == self.end - 1 else 0
        if rnd > 1:
            flags |= FLAG_REPAIR
        self._send(Packet(Kind.DATA, self.node, seq, rnd, 0, 0.0, flags, payload), destination, multicast)

    def _release(self, seq: int, now: float) -> None:
        """Packet ``seq`` may leave memory; report SenderFinished when the last one has."""
        if self.held.pop(seq, None) is None:
            return
        if not self.held and self.FINISH_ON_RELEASE and self.end is not None and self.next_seq == self.end:
            self._finish(now)

    def _finish(self, now: float) -> None:
        if not self.finished and self.end is not None:
            self.finished = True
            self._timers.disarm(self._heartbeat)
            self._events.append(ev.SenderFinished(self.end, now))

    def _payload(self, seq: int, now: float) -> bytes | None:
        """The held payload of ``seq``, or None (reported once as RepairUnavailable)."""
        payload = self.held.get(seq)
        if payload is None and seq < self.next_seq and seq not in self._unavailable:
            self._unavailable.add(seq)
            self._events.append(ev.RepairUnavailable(seq, now))
        return payload

    # --- heartbeat -------------------------------------------------------------------------

    def _session_packet(self, now: float, reply: bool = False, payload: bytes = b"") -> Packet:
        flags = FLAG_FIN if self.end is not None and self.next_seq == self.end else 0
        return Packet(Kind.SESSION, self.node, self.next_seq, int(reply), self._session_aux(), now, flags, payload)

    def _session_aux(self) -> int:
        """What a class puts in the ``aux`` field of its session messages and heartbeats."""
        return 0

    def _on_heartbeat(self, now: float) -> None:
        if self.finished or self.next_seq == 0:
            return
        self._ops["X_s"] += 1
        self._send(self._session_packet(now), self.group, True)
        self._heartbeat_interval = min(self._heartbeat_interval * 2, self.config.heartbeat_max)
        self._timers.arm(self._heartbeat, now + self._heartbeat_interval)


class ReceiverCore(Endpoint):
    """A receiver: in-order, exactly-once delivery of the source's packets.

    ``_accept`` files one copy of a DATA packet (counts Y_p, and Y_f per delivery); gaps found
    on the way are passed to ``_on_missing``. ``_learn_highest`` does the same for the highest
    sequence number a session message, token or poll announces.
    """

    def __init__(
        self, node: int, source: Address, group: Address, config: ClassConfig, rng: random.Random, role: str = RECEIVER
    ) -> None:
        super().__init__(config, rng, node)
        self.source = source
        self.group = group
        self.groups = (group,)
        self._ops = self.ledger.role(role)
        self.next_expected = 0
        self.highest = 0  # one past the highest sequence number known to exist
        self.end: int | None = None
        self.complete = False
        self._store: dict[int, bytes] = {}
        self.implausible = 0
        """Packets and announcements ignored for naming a sequence number far beyond any seen."""

    def _ops_for(self, seq: int) -> dict[str, int]:
        """The counts to charge for work on packet ``seq`` (the ring splits them by role)."""
        return self._ops

    def has(self, seq: int) -> bool:
        return seq < self.next_expected or seq in self._store

    def _accept(self, packet: Packet, now: float) -> bool:
        """File one received copy; return True if it was new."""
        seq = packet.seq
        self._ops_for(seq)["Y_p"] += 1
        if seq >= self.highest + MAX_AHEAD:
            self.implausible += 1
            return False
        new = seq >= self.next_expected and seq not in self._store
        if new:
            if seq >= self.highest:
                self._learn_highest(seq, now)
                self.highest = seq + 1
            self._store[seq] = packet.payload
            self._on_new(seq, now)
        if packet.flags & FLAG_FIN:
            self._learn_end(seq + 1, now)
        if new:
            self._deliver(now)
        return new

    def _deliver(self, now: float) -> None:
        store = self._store
        seq = self.next_expected
        while seq in store:
            data = store.pop(seq)
            self._ops_for(seq)["Y_f"] += 1
            self._events.append(ev.Delivered(seq, data))
            self._on_delivered(seq, data, now)
            seq += 1
        self.next_expected = seq
        self._check_complete(now)

    def _learn_highest(self, count: int, now: float) -> None:
        """Packets below ``count`` exist: every one not yet seen is missing."""
        if count > self.highest + MAX_AHEAD:
            self.implausible += 1
            return
        for seq in range(self.highest, count):
            if seq not in self._store:
                self._on_missing(seq, now)
        self.highest = max(self.highest, count)

    def _learn_end(self, end: int, now: float) -> None:
        if end > self.highest + MAX_AHEAD:
            self.implausible += 1
        elif self.end is None:
            self.end = end
            self._learn_highest(end, now)
            self._check_complete(now)

    def _check_complete(self, now: float) -> None:
        if not self.complete and self.end is not None and self.next_expected >= self.end:
            self.complete = True
            self._events.append(ev.StreamComplete(self.end, now))

    def _learn_session(self, packet: Packet, now: float) -> None:
        """A session message, heartbeat or poll: ``seq`` packets exist; FIN: that is all."""
        if packet.flags & FLAG_FIN:
            self._learn_end(packet.seq, now)
        else:
            self._learn_highest(packet.seq, now)

    # --- hooks -------------------------------------------------------------------------------

    def _on_missing(self, seq: int, now: float) -> None:
        """Packet ``seq`` is known to exist and has not arrived (classes with NAKs act here)."""

    def _on_new(self, seq: int, now: float) -> None:
        """Packet ``seq`` arrived for the first time (stop its recovery here)."""

    def _on_delivered(self, seq: int, data: bytes, now: float) -> None:
        """Packet ``seq`` was delivered (a repairer keeps a copy here)."""
