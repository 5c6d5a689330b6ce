"""The TCP-SMO receiver: one TCP-like connection to the source, fed by the group's multicast.

It opens the connection (receiver-initiated three-way handshake), takes data from the group
and from unicast repairs alike, and ACKs with SACK blocks and its receive window. RST from the
source means: leave the channel. FIN means the stream is complete. Both are honoured only from
the server's address on the unicast path (never through the group: the runtime says which with ``via_group``).

The receiver is the connection's state machine; each of its parts owns one thing:

- :class:`~smocast.smo.connecting.Handshake`: the SYNs, the source's cookie, data that arrives early;
- :class:`~smocast.smo.intake.Intake`: the established connection's data segments, and its ACKs;
- :class:`~smocast.smo.flowcontrol.ReceiveWindow`: flow control (``next_event`` only hands
  events over; it never changes the window);
- :class:`~smocast.smo.delivery.Delivery`: reassembly into in-order events, framing, and in
  real-time mode (TCP-RTM, paper section V.C) the holes given up
  (:class:`~smocast.smo.events.Skipped`; see :class:`~smocast.smo.config.ReceiverConfig`);
- :class:`~smocast.smo.challenge.ControlGate`: which FIN and RST it honours (RFC 5961);
- :class:`~smocast.smo.silence.SilenceWatch`: when a silent source is given up.

Sans-IO: the runtime joins the multicast group before calling :meth:`Receiver.connect`.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Sequence
from enum import Enum

from smocast.core.datagram import Address, Datagram
from smocast.core.errors import LocalProtocolError
from smocast.smo import events as ev
from smocast.smo.challenge import ControlGate, Verdict
from smocast.smo.connecting import Handshake
from smocast.smo.delivery import Delivery, ReceiverStats
from smocast.smo.flowcontrol import ReceiveWindow
from smocast.smo.intake import Intake
from smocast.smo.receiver_config import ReceiverConfig
from smocast.smo.receiver_outbox import ReceiverOutbox
from smocast.smo.silence import SilenceWatch
from smocast.smo.uplink import UpSender
from smocast.wire import DecodeError, Packet, PacketType, ResetCode, decode
from smocast.wire import build as packets

__all__ = ["Receiver", "ReceiverState", "ReceiverStats"]
Batch = Sequence[tuple[bytes | memoryview, Address]]
Time = float | None


class ReceiverState(Enum):
    IDLE = "idle"
    SYN_SENT = "syn-sent"
    ESTABLISHED = "established"
    FINISHED = "finished"
    CLOSED = "closed"


class Receiver:
    """One receiver of a TCP-SMO channel whose source is at ``server``."""

    path_aware = True  # its inputs take ``via_group`` (see core.datagram.Endpoint)

    def __init__(self, server: Address, config: ReceiverConfig | None = None, rng: random.Random | None = None) -> None:
        """``rng`` draws the 64-bit connection id, which an attacker must not guess: on a real
        network it must be backed by the OS (``random.SystemRandom()``)."""
        self.server = server
        self.config = cfg = config or ReceiverConfig()
        self._channel_id = cfg.channel_id
        self.connection = (rng or random.Random(0)).getrandbits(64) or 1
        self.state = ReceiverState.IDLE
        self.stats = ReceiverStats()
        self.start: int | None = None
        self.length: int | None = None  # stream length, once the FIN arrived
        self._events: deque[ev.ReceiverEvent] = deque()
        self._data = Delivery(cfg, self._events, self.stats)
        self._window = ReceiveWindow(cfg.receive_buffer, self._data)
        self._out = ReceiverOutbox(cfg.channel_id, self.connection, server)
        self._intake = Intake(cfg, self._data, self._window, self._out, self.stats)
        self._handshake = Handshake(cfg, self._out, self._window)
        self.handshake_rtt: float | None = None
        self._up = UpSender()
        self._silence = SilenceWatch(cfg)
        self._hold_end = False  # the application checks the stream before the FIN is acknowledged
        self._end_held = False  # a FIN was honoured but is not acknowledged yet (hold_end)
        self._gate = ControlGate(cfg.receive_buffer, self.stats)

    # --- application API -------------------------------------------------------------------

    def connect(self, now: float) -> None:
        """Start the handshake; the runtime must already have joined the group."""
        if self.state is not ReceiverState.IDLE:
            raise LocalProtocolError(f"connect() in state {self.state.value}")
        self.state = ReceiverState.SYN_SENT
        self._handshake.start(now)

    def close(self, now: float, code: ResetCode = ResetCode.CLOSED, reason: str = "") -> None:
        """Leave the channel now: the source is told with an RST that says why (``code``, and
        ``reason`` in words, e.g. ``DISK_FULL`` and the error message), and removes this receiver."""
        self._send_rst(now, code, reason)
        self.state = ReceiverState.CLOSED
        self._end_held = False

    def hold_end(self) -> None:
        """The application checks the whole stream (a file's hash) before it counts as received:
        the FIN is then not acknowledged until :meth:`accept_end`, and until then :meth:`close`
        still reaches the source, with its reason (say ``VERIFY_FAILED``). The application must
        decide soon: the source drops a receiver that leaves its FIN unanswered for its
        progress timeout."""
        self._hold_end = True

    def accept_end(self, now: float) -> None:
        """The application accepts the stream: acknowledge the FIN held back (see :meth:`hold_end`)."""
        if self._end_held:
            self._end_held = False
            self._intake.send_ack(now, fin=True)

    def _send_rst(self, now: float, code: ResetCode, reason: str) -> None:
        if self.state in (ReceiverState.SYN_SENT, ReceiverState.ESTABLISHED) or self._end_held:
            self._out.rst(self.rcv_nxt, code, reason, now)

    def consumed(self, nbytes: int) -> None:
        """The application took ``nbytes`` of delivered data (of DataReceived or MessageReceived).

        Until it does, those bytes count against the window. When the window has opened by a
        quarter of the buffer, the next ``datagrams_to_send`` carries a window update.
        """
        if self._window.consumed(nbytes) and self.state is ReceiverState.ESTABLISHED:
            self._intake.ack_soon()

    def set_backlog(self, nbytes: int) -> None:
        """The application still holds ``nbytes`` of delivered data elsewhere (a relay's downstream).

        The window shrinks by it, so the source slows down; the window update rule is the
        same as for :meth:`consumed`.
        """
        if self._window.set_backlog(nbytes) and self.state is ReceiverState.ESTABLISHED:
            self._intake.ack_soon()

    def send_up(self, message: bytes, now: float) -> bool:
        """Send a message up to the source (session relay); False when the buffer is full."""
        if self.state is not ReceiverState.ESTABLISHED:
            raise LocalProtocolError(f"send_up() in state {self.state.value}")
        return self._up.add(message)

    @property
    def up_pending(self) -> int:
        """Bytes sent up but not yet acknowledged by the source."""
        return self._up.queued

    def skip_hole(self, now: float) -> bool:
        """Real-time read: give up the hole at the head of the stream if data waits after it.

        Returns True when something was skipped (and the data after it delivered).
        """
        if not self.config.realtime:
            raise LocalProtocolError("skip_hole() needs realtime mode")
        target = self._data.skip_target()
        if target is None:
            return False
        self._intake.skip(target, now)
        return True

    @property
    def rcv_nxt(self) -> int:
        """The next stream byte expected: everything below it was delivered."""
        return self._data.rcv_nxt

    @property
    def unconsumed(self) -> int:
        """Bytes delivered in events that the application has not yet taken (see :meth:`consumed`)."""
        return self._window.unconsumed

    @property
    def window(self) -> int:
        """The receive window offered to the source now."""
        return self._window.offered

    @property
    def heartbeat(self) -> float | None:
        """How often the source heartbeats when idle, as its SYN-ACK said (None: it sends none)."""
        return self._silence.heartbeat

    @property
    def ack_pending(self) -> bool:
        """True when the next ``datagrams_to_send`` will carry an ACK (drive it soon)."""
        return self._intake.ack_due

    @property
    def done(self) -> bool:
        return self.state in (ReceiverState.FINISHED, ReceiverState.CLOSED)

    # --- sans-IO contract ------------------------------------------------------------------

    def receive_datagram(
        self, data: bytes | memoryview, source: Address, now: float, *, via_group: bool = False
    ) -> None:
        """A datagram arrived from ``source``; ``via_group`` says it came through the group's
        socket (the runtime knows): then only DATA and REPAIR are taken from it."""
        try:
            packet = decode(data)
        except DecodeError:
            self.stats.malformed += 1
            return
        self.receive_packet(packet, source, now, via_group=via_group)

    def receive_datagrams(self, batch: Batch, now: float, *, via_group: bool = False, arrival: Time = None) -> None:
        """A batch of datagrams that arrived by ``now``, each ``(data, source)``, in order: the same as
        :meth:`receive_datagram` for each, except that each run of consecutive in-order data comes out
        as one :class:`~smocast.smo.events.DataReceived`. ``data`` may be a view of the runtime's buffer:
        nothing keeps it past the call. ``arrival``: when the batch's last datagram reached the host
        (the kernel's stamp, on the clock of ``now``), for the ACK's one-way delay. Then run the pump."""
        fast = self.config.playout_delay is None and not self.config.framing
        mark = self._intake.taken
        index, count = 0, len(batch)
        while index < count:
            if fast and self.state is ReceiverState.ESTABLISHED:
                after = self._intake.take_run(batch, index, now)
                if after > index:
                    self._silence.heard(now)
                    index = after
                    continue
            data, source = batch[index]
            self.receive_datagram(data, source, now, via_group=via_group)
            index += 1
        if arrival is not None:
            self._intake.arrived(arrival, mark)

    def receive_packet(self, packet: Packet, source: Address, now: float, *, via_group: bool = False) -> None:
        """Handle one decoded packet, from the group (``via_group``) or from the server."""
        if packet.channel != self._channel_id:
            self.stats.foreign += 1
            return
        self._silence.heard(now)
        kind = packet.type
        if kind is PacketType.DATA or kind is PacketType.REPAIR:  # the short form names no connection
            if self.state is ReceiverState.ESTABLISHED:
                self._intake.segment(packet, now, via_group=via_group)
            else:
                self._data_outside_established(packet, via_group)
            return
        if via_group or source != self.server or packet.connection != self.connection:
            self.stats.foreign += 1
            return
        self._from_server(packet, now)

    def _from_server(self, packet: Packet, now: float) -> None:
        """A packet of this connection from the server (not data)."""
        kind = packet.type
        if kind is PacketType.RETRY:
            self._handle_retry(packet, now)
        elif kind is PacketType.SYN_ACK:
            self._handle_syn_ack(packet, now)
        elif kind is PacketType.FIN:
            self._handle_fin(packet, now)
        elif kind is PacketType.RST:
            self._handle_rst(packet, now)
        elif kind is PacketType.ACK:
            self._up.on_ack(packet.ack, now)
        elif kind is PacketType.PROBE:
            if self.state is ReceiverState.ESTABLISHED:
                self._out.probe_ack(packet.seq, packet.window)
        else:
            self.stats.foreign += 1

    def datagrams_to_send(self, now: float) -> list[Datagram[Packet]]:
        intake = self._intake
        if intake.ack_due:
            intake.send_ack(now)
        if self._up.next < self._up.base + self._up.queued and self.state is ReceiverState.ESTABLISHED:
            self._send_up(now)
        return self._out.take()

    def next_deadline(self) -> float | None:
        syn, delack = self._handshake.next_syn, self._intake.delayed_ack.deadline
        due = delack if syn is None or (delack is not None and delack < syn) else syn
        for other in (self._data.playout_due, self._up.due, self._silence_due()):
            if other is not None and (due is None or other < due):
                due = other
        return due

    def handle_timer(self, now: float) -> None:
        self._on_syn_timer(now)
        silence = self._silence_due()
        if silence is not None and now >= silence:
            self._give_up_silent_source(now)
            return
        if self._up.due is not None and now >= self._up.due:
            self._up.on_timeout(now)
        playout = self._data.playout_due
        if playout is not None and now >= playout:
            target = self._data.skip_target()
            if target is None:
                self._data.playout_due = None
            else:
                self._intake.skip(target, now)
        if self.state is ReceiverState.ESTABLISHED:
            self._intake.on_timer(now)

    def next_event(self) -> ev.ReceiverEvent | None:
        """Pop the next event. For the bytes of each DataReceived or MessageReceived, the
        application must later call :meth:`consumed` (at once, if it takes them at once)."""
        return self._events.popleft() if self._events else None

    def _silence_due(self) -> float | None:
        return self._silence.due() if self.state is ReceiverState.ESTABLISHED else None

    def _give_up_silent_source(self, now: float) -> None:
        """The source is silent for too long: say how long really, and leave."""
        reason = self._silence.reason(now)
        self._send_rst(now, ResetCode.SOURCE_SILENT, reason)  # if it is alive after all, it learns why
        self._give_up(reason, now, ResetCode.SOURCE_SILENT)

    # --- handshake -------------------------------------------------------------------------

    def _on_syn_timer(self, now: float) -> None:
        if self._handshake.on_timer(now):
            self.state = ReceiverState.CLOSED
            server = f"{self.server[0]}:{self.server[1]}"
            waited = f"{self.config.connect_timeout:g} s"
            self._events.append(ev.ConnectFailed(f"no answer from {server} within {waited}", now))

    def _handle_retry(self, packet: Packet, now: float) -> None:
        """The source validates our address: echo its cookie in a new SYN (at once, a few times)."""
        if self.state is ReceiverState.SYN_SENT:
            self._handshake.on_retry(packet.payload, now)

    def _handle_syn_ack(self, packet: Packet, now: float) -> None:
        if self.state is ReceiverState.SYN_SENT:
            self.handshake_rtt = self._handshake.established(now)
            self._silence.learn_heartbeat(packets.heartbeat_of(packet))
            self.state = ReceiverState.ESTABLISHED
            self.start = packet.seq
            self._data.start_at(packet.seq)
            self._intake.start_at(packet.seq)
            self._events.append(ev.Connected(packet.seq, now))
        if self.state is ReceiverState.ESTABLISHED:
            intake = self._intake
            intake.echo(packet.tsval)
            intake.send_ack(now)  # completes (or repeats) the handshake
            for data in self._handshake.take_early():
                intake.segment(data, now)

    # --- data before the SYN-ACK or after the FIN -------------------------------------------

    def _data_outside_established(self, packet: Packet, via_group: bool) -> None:
        if self.state is ReceiverState.SYN_SENT:
            self._handshake.keep_early(packet)  # multicast that beat the SYN-ACK: kept for later
        elif self.state is ReceiverState.FINISHED and packet.type is PacketType.REPAIR and not via_group:
            self._intake.ack_soon()  # repaired to us alone, our last ACK was lost: say again we have it all

    # --- end of stream -------------------------------------------------------------------------

    def _handle_fin(self, packet: Packet, now: float) -> None:
        """The stream ends at ``packet.seq``: honoured only at exactly the end of what arrived,
        with nothing held or seen beyond it; a near miss draws a (rate-limited) challenge ACK."""
        if self.state is ReceiverState.FINISHED:
            if not self._end_held:
                self._intake.send_ack(now, fin=True)  # our ACK of the FIN was lost
            return
        if self.state is not ReceiverState.ESTABLISHED:
            return
        data = self._data
        beyond = data.holds_data or self._intake.highest > data.rcv_nxt
        verdict = self._gate.fin(packet.seq, data.rcv_nxt, beyond=beyond, now=now)
        if verdict is Verdict.HONOUR:
            self.state = ReceiverState.FINISHED
            self.length = packet.seq
            self._events.append(ev.StreamEnded(packet.seq, now))
            self._end_held = self._hold_end
            if not self._end_held:
                self._intake.send_ack(now, fin=True)
        elif verdict is Verdict.CHALLENGE:
            self._intake.send_ack(now)

    def _handle_rst(self, packet: Packet, now: float) -> None:
        """Leave the channel: honoured in SYN-SENT (a refusal), else only at exactly ``rcv_nxt``."""
        if self.state in (ReceiverState.CLOSED, ReceiverState.FINISHED):
            return  # after the FIN the source may have forgotten us; nothing was lost
        expected = self._data.rcv_nxt if self.state is ReceiverState.ESTABLISHED else None
        verdict = self._gate.rst(packet.seq, expected, now)
        if verdict is Verdict.HONOUR:
            code, text = packets.reset_reason(packet.payload)
            self._give_up(text or "reset by the source", now, code)
        elif verdict is Verdict.CHALLENGE:
            self._intake.send_ack(now)

    def _give_up(self, reason: str, now: float, code: ResetCode) -> None:
        """Leave the channel (reset, or a silent source) and tell the application why."""
        self.state = ReceiverState.CLOSED
        self._handshake.stop()
        self._data.playout_due = None
        self._up.due = None
        self._intake.stop()
        self._events.append(ev.ConnectionReset(reason, now, code))

    # --- session relay ----------------------------------------------------------------------

    def _send_up(self, now: float) -> None:
        for offset, payload, flags in self._up.segments(now):
            self._out.updata(offset, payload, flags, self._data.rcv_nxt, self.window, self._intake.ts_recent, now)
