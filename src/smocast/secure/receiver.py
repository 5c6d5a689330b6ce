"""The protection layer at a receiver: wraps a core endpoint, opens what arrives, seals what it sends.

:class:`ProtectedReceiver` follows the :class:`~smocast.core.datagram.Endpoint` contract
around a receiver core, which sees plaintext packets only:

* a unicast datagram from the source opens under the session's key and goes to the core; a
  CONTROL one is the layer's (a group key update, a block the receiver asked for);
* a group datagram opens under its epoch's group key, and goes to the core only when a block signed by the source
  lists its hash: an insider who holds the group key cannot forge one (the core learns it came through the group:
  :mod:`smocast.secure.handoff`). A packet whose block has not arrived waits (:mod:`smocast.secure.hold`); a packet of
  an epoch whose key is missing makes the receiver ask the source for it;
* whatever fails is dropped and counted (:class:`~smocast.secure.stats.ProtectionStats`)
  and changes nothing else: no core state, no replay window;
* what the core sends goes to the source sealed under the session's key. A receiver core
  that multicasts (the NAK classes) is not supported: the group key's packet numbers
  belong to the source alone.
Install the session's keys (from the key exchange) with :meth:`ProtectedReceiver.install`;
until then nothing but the handshake's packets (``clear``) passes either way."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from smocast.core.datagram import Address, Datagram, Endpoint, unicast
from smocast.core.errors import LocalProtocolError
from smocast.secure import control, envelope
from smocast.secure.blocks import BlockVerifier, SignedBlock, Verdict
from smocast.secure.envelope import HEADER_SIZE, KEY_AND_NUMBER, MARKER, OVERHEAD, Kind
from smocast.secure.errors import HandshakeError, UntrustedSourceError
from smocast.secure.group import EpochKey, GroupKeyRing
from smocast.secure.handoff import CoreInput
from smocast.secure.handshake import ReceiverExchange, hello_datagram, parse_handshake
from smocast.secure.hold import HeldPackets, HoldPolicy
from smocast.secure.identity import PublicIdentity
from smocast.secure.keyexchange import SessionKeys
from smocast.secure.sessions import UnicastSession
from smocast.secure.stats import ProtectionStats

if TYPE_CHECKING:
    from smocast.secure.source import ClearPolicy

E = TypeVar("E")
_GROUP = int(Kind.GROUP)


class ProtectedReceiver(Generic[E]):
    """A receiver endpoint whose every packet is protected; the wrapped ``inner`` core sees plaintext."""

    def __init__(
        self,
        inner: Endpoint[Any, E],
        source: Address,
        *,
        hold: HoldPolicy | None = None,
        clear: ClearPolicy | None = None,
        key_request_interval: float = 0.05,
        exchange: ReceiverExchange | None = None,
        failure: Callable[[str, float], E] | None = None,
    ) -> None:
        """With ``exchange``, the keys come from the handshake: the layer adds the hello to the
        SYN that echoes a cookie and finishes the exchange with the source's HANDSHAKE
        (``clear`` defaults to the exchange's wire). A source this receiver does not trust ends
        it: ``failure(message, now)`` makes the event the application gets, and nothing more
        passes either way (:attr:`failed` holds the message)."""
        self.inner = inner
        self.source = source
        self.exchange = exchange
        self._failure = failure
        self._failure_event: E | None = None
        self.failed: str | None = None
        if clear is None and exchange is not None:
            clear = exchange.wire.clear
        self._clear = clear
        self._key_request_interval = key_request_interval
        self._next_key_request = float("-inf")
        self.session: UnicastSession | None = None
        self.ring = GroupKeyRing()
        self.verifier: BlockVerifier | None = None
        self.held = HeldPackets(hold or HoldPolicy())
        self._out: list[Datagram[bytes]] = []
        self._released: list[tuple[bytes, Address]] | None = None  # during a batch: what goes to the core
        self._alone: list[int] = []  # during a batch: which of those came to this receiver alone
        self._core = CoreInput(inner)
        self.stats = ProtectionStats()

    def install(self, keys: SessionKeys) -> None:
        """Protect the traffic with the source under ``keys`` (from the key exchange)."""
        self.session = UnicastSession.at_receiver(keys, self.source)
        for grant in keys.grants:
            self.ring.add(grant)
        self.verifier = BlockVerifier(keys.source)

    @property
    def source_identity(self) -> PublicIdentity | None:
        """The source key the session was made with (None before :meth:`install`)."""
        return self.verifier.source if self.verifier is not None else None

    def receive_datagram(self, data: bytes, source: Address, now: float) -> None:
        """Open a datagram and hand it to the core (or the layer); else count the drop."""
        parsed = envelope.parse(data)
        if parsed is None:
            self.stats.malformed += 1
            return
        kind, key_id, number = parsed
        if self.failed is not None:
            return
        if kind is Kind.GROUP:
            self._receive_group(key_id, number, data, source, now)
        elif kind is Kind.UNICAST or kind is Kind.CONTROL:
            self._receive_unicast(kind, key_id, number, data, source, now)
        elif kind is Kind.BLOCK:
            self._receive_block(key_id, number, data, now)
        elif kind is Kind.HANDSHAKE:
            self._receive_handshake(key_id, number, data, source, now)
        elif self.session is None and self._clear is not None and self._clear(data[HEADER_SIZE:]):
            self._deliver(data[HEADER_SIZE:], source, now)
        else:
            self.stats.cleartext += 1

    def receive_packet(self, packet: bytes, source: Address, now: float) -> None:
        """The simulator's shortcut: a protected datagram is its own packet."""
        self.receive_datagram(packet, source, now)

    def receive_datagrams(
        self,
        batch: Sequence[tuple[bytes | memoryview, Address]],
        now: float,
        *,
        via_group: bool = False,
        arrival: float | None = None,
    ) -> None:
        """A batch, each ``(data, source)`` in arrival order: :meth:`receive_datagram` for each, but
        what the batch releases reaches the core in one ``receive_datagrams`` call, in order, with
        ``arrival`` (the kernel's arrival time of the batch, for the core's one-way delay). ``data``
        may be a view of the runtime's buffer, valid during the call only: a group datagram opens
        from it; only what outlives the call is copied. ``via_group`` is the driver's contract; the
        layer decides by the datagram's kind, as one at a time."""
        released: list[tuple[bytes, Address]] = []
        self._released, self._alone = released, []
        try:
            for data, source in batch:
                if len(data) >= OVERHEAD and data[0] == MARKER and data[1] == _GROUP and self.failed is None:
                    epoch, number = KEY_AND_NUMBER.unpack_from(data, 2)
                    self._receive_group(epoch, number, data, source, now)
                else:
                    self.receive_datagram(data if isinstance(data, bytes) else bytes(data), source, now)
        finally:
            self._released = None
        if released:
            self._core.batch(released, self._alone, now, arrival)

    def _deliver(self, plaintext: bytes, source: Address, now: float, *, group: bool = False) -> None:
        """Hand an opened (and, from the ``group``, verified) packet to the core, or to the batch's list."""
        released = self._released
        if released is None:
            self._core.one(plaintext, source, now, group=group)
            return
        if not group:
            self._alone.append(len(released))
        released.append((plaintext, source))

    def _receive_unicast(self, kind: Kind, key_id: int, number: int, data: bytes, source: Address, now: float) -> None:
        session = self.session
        if session is None or key_id != session.session_id:
            self.stats.unknown_session += 1
            return
        if source != session.peer:
            self.stats.wrong_address += 1
            return
        if not session.fresh(number):
            self.stats.replayed += 1
            return
        plaintext = session.open(number, data)
        if plaintext is None:
            self.stats.forged += 1
        elif kind is Kind.UNICAST:
            self.stats.opened += 1
            self._deliver(plaintext, source, now)
        else:
            self._on_control(plaintext, now)

    def _receive_handshake(self, key_id: int, number: int, data: bytes, source: Address, now: float) -> None:
        """The source's reply with the sealed SYN-ACK: finish the exchange, install its keys, open the packet."""
        parsed = parse_handshake(data)
        if parsed is None or self.exchange is None:
            self.stats.malformed += 1
            return
        aad, reply, ciphertext = parsed
        if source != self.source:
            self.stats.wrong_address += 1
            return
        if self.session is None:
            try:
                keys = self.exchange.finish(reply)
            except HandshakeError:
                self.stats.forged += 1  # anyone can send one from the source's address: keep waiting
                return
            except UntrustedSourceError as error:
                self._fail(str(error), now)
                return
            self.install(keys)
        session = self.session
        assert session is not None
        if key_id != session.session_id:
            self.stats.unknown_session += 1
            return
        plaintext = session.open_with(number, aad, ciphertext)
        if plaintext is None:
            self.stats.forged += 1
            return
        self.stats.opened += 1
        self._deliver(plaintext, source, now)

    def _fail(self, message: str, now: float) -> None:
        self.failed = message
        self.stats.untrusted += 1
        if self._failure is not None:
            self._failure_event = self._failure(message, now)

    def _open_group(self, epoch: int, number: int, data: bytes, now: float) -> tuple[EpochKey, bytes] | None:
        key = self.ring.get(epoch)
        if key is None or not key.replay.fresh(number):
            self._count_unopened(epoch, key, now)
            return None
        plaintext = key.key.open(number, data[:HEADER_SIZE], data[HEADER_SIZE:])
        if plaintext is None:
            self.stats.forged += 1
            return None
        return key, plaintext

    def _count_unopened(self, epoch: int, key: EpochKey | None, now: float) -> None:
        """A group datagram not opened: no key for its epoch (ask for a newer one), or a replay."""
        if key is not None:
            self.stats.replayed += 1
            return
        self.stats.no_key += 1
        if epoch > self.ring.newest:
            self._ask_for_key(epoch, now)

    def _receive_group(self, epoch: int, number: int, data: bytes | memoryview, source: Address, now: float) -> None:
        """Open, check against the signed blocks, then deliver, hold or drop (the per-packet hot path)."""
        key = self.ring.get(epoch)
        if key is None or not key.replay.fresh(number):
            self._count_unopened(epoch, key, now)
            return
        head = bytes(data[:HEADER_SIZE])  # a view's bytes must not outlive the call
        plaintext = key.key.open(number, head, data[HEADER_SIZE:])
        if plaintext is None:
            self.stats.forged += 1
            return
        assert self.verifier is not None  # a ring holds keys only after install()
        verdict = self.verifier.check(epoch, number, head, plaintext)
        if verdict is Verdict.VERIFIED:
            key.replay.mark(number)
            self.stats.opened += 1
            released = self._released
            if released is not None:
                released.append((plaintext, source))
            else:
                self._core.one(plaintext, source, now, group=True)
        elif verdict is Verdict.FORGED:
            self.stats.insider_forged += 1
        elif self.held.add(epoch, number, head, plaintext, source, now):
            self.stats.held += 1
        else:
            self.stats.unverified += 1

    def _receive_block(self, epoch: int, number: int, data: bytes, now: float) -> None:
        opened = self._open_group(epoch, number, data, now)
        if opened is None:
            return
        key, plaintext = opened
        try:
            block = SignedBlock.decode(plaintext)
        except ValueError:
            self.stats.malformed += 1
            return
        if block.epoch != epoch:
            self.stats.malformed += 1
            return
        if self._accept_block(block, now):
            key.replay.mark(number)

    def _accept_block(self, block: SignedBlock, now: float) -> bool:
        """Verify a block and release the held packets it covers; False if its signature fails."""
        assert self.verifier is not None
        verified = self.verifier.accept(block)
        if verified is False:
            self.stats.bad_signature += 1
            return False
        if verified:
            self.stats.blocks_verified += 1
            self._release(block, now)
        return True

    def _release(self, block: SignedBlock, now: float) -> None:
        if not len(self.held):
            return
        assert self.verifier is not None
        for number in range(block.first, block.first + block.size):
            waiting = self.held.pop(block.epoch, number)
            if waiting is None:
                continue
            key = self.ring.get(block.epoch)
            verdict = self.verifier.check(block.epoch, number, waiting.header, waiting.plaintext)
            if verdict is Verdict.FORGED:
                self.stats.insider_forged += 1
            elif verdict is Verdict.UNKNOWN or key is None:
                self.stats.unverified += 1
            elif not key.replay.fresh(number):
                self.stats.replayed += 1
            else:
                key.replay.mark(number)
                self.stats.opened += 1
                self._deliver(waiting.plaintext, waiting.source, now, group=True)

    def _on_control(self, message: bytes, now: float) -> None:
        try:
            kind, body = control.parse(message)
            if kind is control.ControlType.KEY_UPDATE:
                for grant in control.parse_grants(body):
                    self.ring.add(grant)
            elif kind is control.ControlType.SIGNATURE:
                self._accept_block(SignedBlock.decode(body), now)
            else:
                raise ValueError("a receiver takes key updates and signatures only")
        except ValueError:
            self.stats.malformed += 1

    def _send(self, message: bytes) -> None:
        assert self.session is not None
        sealed = self.session.seal(Kind.CONTROL, message)
        self._out.append(unicast(sealed, sealed, self.session.peer))

    def _ask_for_key(self, epoch: int, now: float) -> None:
        if self.session is None or now < self._next_key_request:
            return
        self._next_key_request = now + self._key_request_interval
        self._send(control.key_request(epoch))
        self.stats.key_requests_sent += 1

    def datagrams_to_send(self, now: float) -> list[Datagram[bytes]]:
        """The core's datagrams sealed for the source, and the layer's own requests."""
        for datagram in self.inner.datagrams_to_send(now):
            if datagram.multicast:
                raise LocalProtocolError("a protected receiver sends to its source only, never to the group")
            if self.failed is not None:
                continue
            if self.session is not None:
                sealed = self.session.seal(Kind.UNICAST, datagram.data)
            elif self._clear is not None and self._clear(datagram.data):
                sealed = self._clear_datagram(datagram.data)
            else:
                self.stats.no_session_out += 1
                continue
            self.stats.sealed += 1
            self._out.append(unicast(sealed, sealed, datagram.destination))
        out, self._out = self._out, []
        return out

    def _clear_datagram(self, packet: bytes) -> bytes:
        """A handshake packet in the clear; the SYN that echoes a cookie carries the hello."""
        exchange = self.exchange
        context = exchange.wire.hello_context(packet) if exchange is not None else None
        if exchange is None or context is None:
            return envelope.clear(packet)
        return hello_datagram(packet, exchange.hello_for(context))

    def next_deadline(self) -> float | None:
        """The earlier of the core's deadline and the next round of held packets."""
        inner = self.inner.next_deadline()
        held = self.held.next_round
        if held is None:
            return inner
        return held if inner is None or held < inner else inner

    def handle_timer(self, now: float) -> None:
        """Run the core's due timers; drop held packets that waited too long, ask for missing blocks."""
        inner = self.inner.next_deadline()
        if inner is not None and inner <= now:
            self.inner.handle_timer(now)
        held = self.held.next_round
        if held is None or now < held:
            return
        expired, asks = self.held.due(now)
        self.stats.unverified += expired
        if self.session is None:
            return
        for epoch, number in asks:
            self._send(control.signature_request(epoch, number))
            self.stats.signature_requests_sent += 1

    def next_event(self) -> E | None:
        """The layer's failure (an untrusted source) first, then the core's next event for the application."""
        failure = self._failure_event
        if failure is not None:
            self._failure_event = None
            return failure
        return self.inner.next_event()
