"""The protection layer at a source: wraps a core endpoint, seals what it sends, opens what it receives.

:class:`ProtectedSource` follows the :class:`~smocast.core.datagram.Endpoint` contract, so a
runtime or the simulator drives it exactly as it drives the core inside, which still sees
plaintext packets only:

* a unicast packet of the core goes out sealed under its receiver's session key (a packet
  for a peer without a session is not sent, and counted, unless ``clear`` lets it through
  in the clear: the handshake's packets);
* a multicast packet goes out sealed under the current group key; it waits in the current
  block, which is signed and sent ahead of its packets (:mod:`smocast.secure.blocks`); a
  unicast packet the core sends after it waits with it, so the core's order is kept;
* an arriving datagram is opened under its session's key and handed to the core, or is a
  request of the layer (a missed group key or block) answered here; anything that does not
  open is dropped and counted (:class:`~smocast.secure.stats.ProtectionStats`), and changes
  nothing else;
* the group key rotates on its schedule (:mod:`smocast.secure.group`); each new key goes to
  every receiver ahead of its use.

Sessions come from the key exchange: :meth:`ProtectedSource.accept` runs the source's side
of it and installs the session; :meth:`install` takes keys made elsewhere; :meth:`revoke`
forgets a receiver that left or was dropped, and schedules a fresh group key it will not get.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from smocast.core.datagram import Address, Datagram, Endpoint, multicast, unicast
from smocast.secure import control, envelope
from smocast.secure.allowlist import AllowList
from smocast.secure.envelope import HEADER_SIZE, Kind
from smocast.secure.exchange_source import Accepted, Refused, SourceExchange, respond
from smocast.secure.group import GroupGrant
from smocast.secure.handshake import parse_hello, reply_prefix
from smocast.secure.identity import Identity
from smocast.secure.keyexchange import SessionKeys
from smocast.secure.primitives import RandomBytes
from smocast.secure.rotation import GroupSchedule, RotationPolicy
from smocast.secure.sessions import UnicastSession
from smocast.secure.signing import FILE_BLOCKS, BlockPolicy, BlockSigner, BlockStore
from smocast.secure.stats import ProtectionStats

E = TypeVar("E")

ClearPolicy = Callable[[bytes], bool]
"""``clear(packet)``: True when this core packet may travel unprotected (the handshake's own packets)."""

Departure = Callable[[Any], "tuple[Address, bool] | None"]
"""``departure(event)``: for a core event that removes a receiver, ``(its address, rekey)``; else None.
``rekey`` is True when the receiver left before the end (dropped, left): the group key moves on."""

MAX_REPLIED = 64
"""Requests remembered per receiver for the rate limit of answers."""


class ProtectedSource(Generic[E]):
    """A source endpoint whose every packet is protected; the wrapped ``inner`` core sees plaintext."""

    def __init__(
        self,
        inner: Endpoint[Any, E],
        identity: Identity,
        randbytes: RandomBytes,
        *,
        blocks: BlockPolicy = FILE_BLOCKS,
        rotation: RotationPolicy | None = None,
        now: float = 0.0,
        retain_blocks: int = 1024,
        clear: ClearPolicy | None = None,
        reply_interval: float = 0.05,
        exchange: SourceExchange | None = None,
        departure: Departure | None = None,
    ) -> None:
        """With ``exchange``, receivers get their keys in the handshake: the core must call
        :meth:`admit` for each SYN whose cookie is valid (``Channel.set_admission_gate``), and
        ``clear`` defaults to the exchange's wire. ``departure`` lets the layer forget the
        sessions of receivers the core removed (it watches the core's events)."""
        self.inner = inner
        self.exchange = exchange
        self._departure = departure
        if clear is None and exchange is not None:
            clear = exchange.wire.clear
        self.identity = identity
        self._randbytes = randbytes
        self.group = GroupSchedule(randbytes, rotation, now)
        self._signer = BlockSigner(identity, randbytes, blocks)
        self._store = BlockStore(retain_blocks)
        self._clear = clear
        self._reply_interval = reply_interval
        self._by_id: dict[int, UnicastSession] = {}
        self._by_peer: dict[Address, UnicastSession] = {}
        self._out: list[Datagram[bytes]] = []
        self._waiting: list[Datagram[bytes]] = []  # sealed packets behind the block being filled, in the core's order
        self._group: Address = ("", 0)  # where the core multicasts
        self.stats = ProtectionStats()

    # --- sessions --------------------------------------------------------------------------

    def accept(
        self, peer: Address, hello: bytes, context: bytes, *, allow: AllowList | None = None
    ) -> Accepted | Refused:
        """Run the source's side of the key exchange for ``peer`` (address validated) and install the session.

        Send ``reply`` of the result in the handshake; a Refused result sends nothing of the
        channel. Raises HandshakeError for a malformed hello.
        """
        result = respond(
            hello, context, identity=self.identity, randbytes=self._randbytes, grants=self.group.grants(), allow=allow
        )
        if isinstance(result, Accepted):
            self.install(peer, result.keys)
        return result

    def install(self, peer: Address, keys: SessionKeys) -> None:
        """Protect the traffic with ``peer`` under ``keys`` (replacing its previous session)."""
        self.revoke_session(peer)
        session = UnicastSession.at_source(keys, peer)
        self._by_id[keys.session_id] = session
        self._by_peer[peer] = session

    def revoke_session(self, peer: Address) -> bool:
        """Forget ``peer``'s session without a group rekey (it is being replaced); False if it had none."""
        session = self._by_peer.pop(peer, None)
        if session is None:
            return False
        del self._by_id[session.session_id]
        return True

    def revoke(self, peer: Address) -> bool:
        """``peer`` left or was dropped: forget its session and move the group to a key it never gets."""
        if not self.revoke_session(peer):
            return False
        self.group.revoke()
        return True

    @property
    def sessions(self) -> int:
        return len(self._by_id)

    def admit(self, peer: Address, connection: int, cookie: bytes, now: float) -> bool:
        """The core's admission gate: a SYN with a valid cookie is admitted once its hello is.

        Runs the key exchange for a new hello (the address is validated: only now is the cost
        spent), installs the session and keeps the reply to send with the SYN-ACK; a repeated
        SYN with the same hello is admitted at no cost. False refuses the SYN, and is counted.
        """
        exchange = self.exchange
        if exchange is None:
            return True
        hello = exchange.hello_of(peer)
        session = self._by_peer.get(peer)
        if hello is None:
            if session is not None and session.reply is None:
                return True  # the receiver holds its keys: its SYN came sealed
            exchange.counts.no_hello += 1
            return False
        if session is not None and session.hello == hello:
            return True
        accepted = exchange.respond(hello, exchange.wire.context(connection, cookie), self.group.grants())
        if accepted is None:
            return False
        self.install(peer, accepted.keys)
        session = self._by_peer[peer]
        session.hello, session.reply = hello, accepted.reply
        return True

    # --- the Endpoint contract --------------------------------------------------------------

    def receive_datagram(self, data: bytes, source: Address, now: float) -> None:
        """Open a receiver's datagram and hand it to the core, or answer the layer's request; else count the drop."""
        parsed = envelope.parse(data)
        if parsed is None:
            self.stats.malformed += 1
            refusal = self.exchange.wire.plain_refusal(data) if self.exchange is not None else None
            if refusal is not None:  # a receiver in the insecure mode: tell it, statelessly
                self._out.append(unicast(refusal, refusal, source))
            return
        kind, key_id, number = parsed
        if kind is Kind.CLEAR:
            self._receive_clear(data, source, now)
            return
        if kind is Kind.HELLO:
            self._receive_hello(data, source, now)
            return
        if kind is not Kind.UNICAST and kind is not Kind.CONTROL:
            self.stats.malformed += 1  # group traffic comes from the source alone
            return
        session = self._by_id.get(key_id)
        if session is None:
            self.stats.unknown_session += 1
            return
        if session.peer != source:
            self.stats.wrong_address += 1
            return
        if not session.fresh(number):
            self.stats.replayed += 1
            return
        plaintext = session.open(number, data)
        if plaintext is None:
            self.stats.forged += 1
            return
        session.reply = None  # the receiver holds the keys: no more HANDSHAKE for it
        if kind is Kind.UNICAST:
            self.stats.opened += 1
            self.inner.receive_datagram(plaintext, source, now)
        else:
            self._on_control(session, plaintext, now)

    def receive_packet(self, packet: bytes, source: Address, now: float) -> None:
        """The simulator's shortcut: a protected datagram is its own packet."""
        self.receive_datagram(packet, source, now)

    def _receive_clear(self, data: bytes, source: Address, now: float) -> None:
        plaintext = data[HEADER_SIZE:]
        if self._clear is None or not self._clear(plaintext):
            self.stats.cleartext += 1
            return
        self.inner.receive_datagram(plaintext, source, now)

    def _receive_hello(self, data: bytes, source: Address, now: float) -> None:
        """A SYN with the receiver's hello: the core checks the cookie, and its gate (:meth:`admit`) the hello."""
        parsed = parse_hello(data)
        exchange = self.exchange
        if parsed is None or exchange is None:
            self.stats.malformed += 1
            return
        packet, hello = parsed
        if self._clear is None or not self._clear(packet):
            self.stats.cleartext += 1
            return
        exchange.offer(source, hello)
        try:
            self.inner.receive_datagram(packet, source, now)
        finally:
            exchange.withdraw()

    def datagrams_to_send(self, now: float) -> list[Datagram[bytes]]:
        """The core's datagrams, sealed, with the blocks that cover them and the layer's own messages."""
        if self.group.due(now):
            self._run_schedule(now)
        for datagram in self.inner.datagrams_to_send(now):
            if datagram.multicast:
                self._seal_group(datagram, now)
            else:
                self._seal_unicast(datagram)
        signer = self._signer
        if signer.pending and (signer.policy.max_delay == 0 or (signer.due is not None and now >= signer.due)):
            self._flush_block()
        out, self._out = self._out, []
        return out

    def next_deadline(self) -> float | None:
        """The earliest of the core's deadline, the block's and the key schedule's."""
        deadline = self.group.deadline()
        inner = self.inner.next_deadline()
        if inner is not None and inner < deadline:
            deadline = inner
        due = self._signer.due
        if due is not None and due < deadline:
            deadline = due
        return deadline

    def handle_timer(self, now: float) -> None:
        """Run the core's due timers, the key schedule and a due block; then run the pump."""
        inner = self.inner.next_deadline()
        if inner is not None and inner <= now:
            self.inner.handle_timer(now)
        if self.group.due(now):
            self._run_schedule(now)
        due = self._signer.due
        if due is not None and now >= due:
            self._flush_block()

    def next_event(self) -> E | None:
        """The core's next event for the application (a receiver's departure also ends its session)."""
        event: E | None = self.inner.next_event()
        if event is not None and self._departure is not None:
            gone = self._departure(event)
            if gone is not None:
                peer, rekey = gone
                if rekey:
                    self.revoke(peer)
                else:
                    self.revoke_session(peer)
        return event

    # --- sealing ---------------------------------------------------------------------------

    def _seal_unicast(self, datagram: Datagram[Any]) -> None:
        session = self._by_peer.get(datagram.destination)
        if session is not None and session.reply is not None and self._is_reply(datagram.data):
            sealed = session.seal_with(Kind.HANDSHAKE, reply_prefix(session.reply), datagram.data)
        elif session is not None:
            sealed = session.seal(Kind.UNICAST, datagram.data)
        elif self._clear is not None and self._clear(datagram.data):
            sealed = envelope.clear(datagram.data)
        else:
            self.stats.no_session_out += 1
            return
        self.stats.sealed += 1
        # Behind group packets that wait for their block, a unicast packet waits too: the core's order stays.
        (self._waiting if self._waiting else self._out).append(unicast(sealed, sealed, datagram.destination))

    def _is_reply(self, packet: bytes) -> bool:
        return self.exchange is not None and self.exchange.wire.is_reply(packet)

    def _seal_group(self, datagram: Datagram[Any], now: float) -> None:
        epoch, number, key = self.group.number()
        head = envelope.header(Kind.GROUP, epoch, number)
        sealed = head + key.seal(number, head, datagram.data)
        self._signer.add(epoch, number, head, datagram.data, now)
        self._waiting.append(multicast(sealed, sealed, datagram.destination))
        self._group = datagram.destination
        self.stats.sealed += 1
        if self._signer.full:
            self._flush_block()

    def _flush_block(self) -> None:
        """Sign the block being filled and queue it, then the packets it covers."""
        if not self._signer.pending:
            return
        block = self._signer.sign()
        self._store.add(block)
        self.stats.blocks_signed += 1
        self.stats.block_packets += block.size
        epoch, number, key = self.group.number()
        head = envelope.header(Kind.BLOCK, epoch, number)
        sealed = head + key.seal(number, head, block.encode())
        self._out.append(multicast(sealed, sealed, self._group))
        self._out.extend(self._waiting)
        self._waiting = []

    # --- the group key and the layer's messages ------------------------------------------------

    def _run_schedule(self, now: float) -> None:
        grant = self.group.announce(now)
        if grant is not None:
            self._send_to_all(control.key_update((grant,)))
        if self.group.switch_due(now):
            self._flush_block()  # a block covers packets of one epoch
            self.group.switch(now)

    def _send_to_all(self, message: bytes) -> None:
        for session in self._by_id.values():
            sealed = session.seal(Kind.CONTROL, message)
            self._out.append(unicast(sealed, sealed, session.peer))
        self.stats.key_updates_sent += len(self._by_id)

    def _on_control(self, session: UnicastSession, message: bytes, now: float) -> None:
        try:
            kind, body = control.parse(message)
            if kind is control.ControlType.KEY_REQUEST:
                self._answer_key_request(session, control.parse_epoch(body), now)
            elif kind is control.ControlType.SIGNATURE_REQUEST:
                self._answer_signature_request(session, *control.parse_epoch_number(body), now)
            else:
                raise ValueError("a source takes key and signature requests only")
        except ValueError:
            self.stats.malformed += 1

    def _may_answer(self, session: UnicastSession, topic: object, now: float) -> bool:
        """At most one answer per topic per ``reply_interval``: a request cannot make the source flood."""
        replied = session.replied
        last = replied.get(topic)
        if last is not None and now - last < self._reply_interval:
            return False
        replied.pop(topic, None)
        replied[topic] = now
        if len(replied) > MAX_REPLIED:
            del replied[next(iter(replied))]
        return True

    def _answer_key_request(self, session: UnicastSession, epoch: int, now: float) -> None:
        grants: tuple[GroupGrant, ...] = self.group.grants()
        if epoch not in {g.epoch for g in grants} or not self._may_answer(session, "key", now):
            return
        sealed = session.seal(Kind.CONTROL, control.key_update(grants))
        self._out.append(unicast(sealed, sealed, session.peer))
        self.stats.key_updates_sent += 1

    def _answer_signature_request(self, session: UnicastSession, epoch: int, number: int, now: float) -> None:
        block = self._store.find(epoch, number)
        if block is None or not self._may_answer(session, (block.epoch, block.first), now):
            return
        sealed = session.seal(Kind.CONTROL, control.signature(block.encode()))
        self._out.append(unicast(sealed, sealed, session.peer))
        self.stats.signatures_resent += 1
