"""The receiver side of the public API: :class:`AsyncReceiver`, one TCP-SMO receiver on real sockets.

It resolves the source's name (the endpoint compares packet sources with the source's
address), joins the group, runs the handshake, and hands the in-order stream to the
application through ``read``, ``readexactly`` or ``async for``.

Flow control reaches the source: bytes count against the advertised window until the
application reads them (the endpoint's :meth:`~smocast.smo.receiver.Receiver.consumed`), so a
slow reader closes the window, and a window update goes out when it has caught up. Memory
is bounded by ``receive_buffer``.

Open it with :func:`smocast.connect`; the caller must read until the end (or leave early:
closing sends RST, and the source removes this receiver while the others go on).

Real-time mode (TCP-RTM): with ``realtime=True`` a hole that cannot be repaired in time is
skipped. With ``framing=True`` the application reads :meth:`AsyncReceiver.messages`: whole
messages (:data:`Message`) or gap notices (:data:`Gap`), never half a message. Without
framing, ``read`` returns the data after a hole and ``stats.skips``/``stats.skipped_bytes``
count what was given up. Without ``playout_delay`` a read that would wait skips at once;
with it, the receiver skips a hole when the data after it is due.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
from collections import deque
from collections.abc import AsyncIterator
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, assert_never

from smocast.aio.driver import Batch, Driver, Signal
from smocast.aio.errors import ConnectFailedError, NetworkError, ResetError
from smocast.aio.leaving import leave_reason
from smocast.aio.netaddr import family_of, format_address
from smocast.aio.sockets import ReceiverSockets, receiver_sockets, resolve
from smocast.core.datagram import Address, Endpoint
from smocast.core.errors import LocalProtocolError
from smocast.smo import events as ev
from smocast.smo.config import ReceiverConfig
from smocast.smo.events import ReceiverEvent
from smocast.smo.receiver import Receiver, ReceiverState, ReceiverStats
from smocast.wire import ResetCode

if TYPE_CHECKING:
    from smocast.aio.security import ReceiverSecurity
    from smocast.secure.receiver import ProtectedReceiver
    from smocast.secure.stats import ProtectionStats

DEFAULT_READ = 1 << 16
DEFAULT_LINGER = 0.5  # seconds to stay after the end, to re-ACK a FIN whose ACK was lost (RTO minimum 0.2 s)
Message = ev.MessageReceived
"""A whole message (framing mode): ``offset`` in the stream and ``data``."""
Gap = ev.Skipped
"""A gap notice (real-time mode): stream bytes ``[start, end)`` were given up ``at`` (loop time)."""
UP_POLL = 0.01  # seconds between checks while messages sent up wait for room or for their ACK


class AsyncReceiver:
    """A receiver of the channel (S, G) whose source listens at ``server``. Create it with ``connect``."""

    def __init__(
        self,
        server: Address,
        group: Address,
        *,
        source: str | None,
        interface: str | None,
        config: ReceiverConfig,
        linger: float = DEFAULT_LINGER,
        idle_timeout: float | None = None,
        rng: random.Random | None = None,
        security: ReceiverSecurity | None = None,
    ) -> None:
        """``security`` says which source keys to accept (None: the insecure mode). ``idle_timeout``,
        when given, is the silence allowed to the source in seconds (the endpoint's
        ``source_timeout``; 0: wait for ever); by default the endpoint gives up after a few of
        the source's heartbeats (``ReceiverConfig.silent_heartbeats``)."""
        self.server = server
        self.group = group
        if idle_timeout is not None and config.source_timeout is None:
            silence = {"source_timeout": idle_timeout} if idle_timeout > 0 else {"silent_heartbeats": None}
            config = dataclasses.replace(config, **silence)
        self._security = security
        self._layer: ProtectedReceiver[ReceiverEvent] | None = None
        self.remembered: Path | None = None  # the known-sources file a first use appended the source to
        self.config = config
        self._source = source
        self._interface = interface
        self._linger = linger
        self._rng = rng or random.SystemRandom()  # the connection id must not be guessable
        self._receiver: Receiver | None = None
        self._driver: Driver | None = None
        self.sockets: ReceiverSockets | None = None
        self._chunks: deque[bytes] = deque()
        self._head = 0  # bytes of the first chunk already read
        self._items: deque[Message | Gap] = deque()  # framing mode: messages and gap notices, in stream order
        self._reader_waiting = False
        self._eof = False
        self._closed = False
        self._error: NetworkError | None = None
        self._state = Signal()
        self.start: int | None = None  # the stream offset this receiver starts at (0 unless it joined late)
        self.received = 0  # stream bytes delivered in order
        self.connected_at: float | None = None  # loop times
        self.first_data_at: float | None = None
        self.ended_at: float | None = None
        self.last_gap: Gap | None = None  # real-time mode: the latest range given up

    # --- opening ---------------------------------------------------------------------------

    async def _open(self) -> AsyncReceiver:
        name = self.server
        self.server = await resolve(*name, family_of(self.group[0]))
        self._receiver = Receiver(self.server, self.config, self._rng)
        endpoint = self._protected(self._receiver, format_address(name))  # before any socket: it may refuse
        self.sockets = socks = receiver_sockets(
            self.server, self.group, self._source or self.server[0], self._interface
        )
        skips_on_read = self.config.realtime and self.config.playout_delay is None
        self._driver = Driver(
            endpoint,
            socks.unicast,
            [socks.group, socks.unicast],
            on_event=self._on_event,
            on_error=self._on_error,
            peer=f"the source at {format_address(name)}",
            unicast_errors_fatal=True,
            after_pump=self._after_pump if skips_on_read else None,
            group=(socks.group, self._from_group),
            group_batch=self._from_group_batch,
        )
        self._receiver.connect(self._driver.now)
        self._driver.pump()
        try:
            while self.start is None:
                self._raise_if_failed()
                await self._state.wait()
        except BaseException as exc:
            self.close(*leave_reason(exc))
            raise
        return self

    def _protected(self, receiver: Receiver, name: str) -> Endpoint[Any, ReceiverEvent]:
        """The endpoint the driver runs: the receiver, behind the protection layer in the secure mode.

        Raises ConfigError when no key is pinned for the source (and first use is not allowed).
        """
        security = self._security
        if security is None:
            return receiver
        from smocast.aio.security import receiver_layer  # noqa: PLC0415  (no cryptography unless secure)

        self._layer = receiver_layer(receiver, self.server, security, name)
        return self._layer

    @property
    def source_fingerprint(self) -> str | None:
        """The key the source proved in the handshake (None in the insecure mode, or before it)."""
        source = self._layer.source_identity if self._layer is not None else None
        return source.fingerprint if source is not None else None

    @property
    def protection(self) -> ProtectionStats | None:
        """What the protection layer opened and dropped (None in the insecure mode)."""
        return self._layer.stats if self._layer is not None else None

    @property
    def secure(self) -> bool:
        return self._security is not None

    async def __aenter__(self) -> AsyncReceiver:
        return self if self._driver is not None else await self._open()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Leave: after the whole stream, linger; on an exception, tell the source why
        (:func:`~smocast.aio.leaving.leave_reason`: disk full, interrupted...)."""
        if exc is None:
            await self.aclose()
        else:
            self.close(*leave_reason(exc))

    # --- reading ---------------------------------------------------------------------------

    async def read(self, n: int = DEFAULT_READ) -> bytes:
        """Up to ``n`` bytes of the stream, waiting for at least one; ``b""`` at its end.

        Raises :class:`ResetError` if the source dropped this receiver and
        :class:`NetworkError` on a socket failure (after the bytes that arrived before it).
        """
        if n <= 0:
            raise ValueError(f"read size must be positive, got {n}")
        if self.config.framing:
            raise LocalProtocolError("this stream carries messages (framing=True): use messages() or read_message()")
        while not self._chunks:
            self._raise_if_failed()
            if self._eof or self._closed:
                return b""
            await self._wait_for_data()
        return self._take(n)

    async def read_message(self) -> Message | Gap | None:
        """The next whole message or gap notice, in stream order; ``None`` at the end of the stream.

        Needs ``framing=True``. Raises :class:`ResetError` if the source dropped this receiver
        (after the messages that arrived before) and :class:`NetworkError` on a socket failure.
        """
        if not self.config.framing:
            raise LocalProtocolError("read_message() needs framing=True (a stream of messages)")
        while not self._items:
            self._raise_if_failed()
            if self._eof or self._closed:
                return None
            await self._wait_for_data()
        item = self._items.popleft()
        if isinstance(item, ev.MessageReceived):
            self._consumed(len(item.data))
        return item

    async def messages(self) -> AsyncIterator[Message | Gap]:
        """``async for item in rx.messages()``: each :data:`Message` or :data:`Gap` until the end."""
        while (item := await self.read_message()) is not None:
            yield item

    async def _wait_for_data(self) -> None:
        self._reader_waiting = True
        try:
            if not self._skip_if_reader_waits():
                await self._state.wait()
        finally:
            self._reader_waiting = False

    async def readexactly(self, n: int) -> bytes:
        """Exactly ``n`` bytes; ``asyncio.IncompleteReadError`` if the stream ends first."""
        parts: list[bytes] = []
        missing = n
        while missing:
            chunk = await self.read(missing)
            if not chunk:
                raise asyncio.IncompleteReadError(b"".join(parts), n)
            parts.append(chunk)
            missing -= len(chunk)
        return b"".join(parts)

    def __aiter__(self) -> AsyncReceiver:
        return self

    async def __anext__(self) -> bytes:
        chunk = await self.read()
        if not chunk:
            raise StopAsyncIteration
        return chunk

    def _take(self, n: int) -> bytes:
        """Up to ``n`` bytes, at least one: from the first chunk without copying the rest of it (a
        batch delivers a run of segments as one chunk, which may be large), or whole chunks joined
        while they fit."""
        chunks, head = self._chunks, self._head
        first = chunks[0]
        left = len(first) - head
        if left >= n:
            data = first if head == 0 and left == n else first[head : head + n]
            if left > n:
                self._head = head + n
            else:
                chunks.popleft()
                self._head = 0
        else:
            parts, size = [first[head:] if head else first], left
            chunks.popleft()
            self._head = 0
            while chunks and size + len(chunks[0]) <= n:
                parts.append(chunks.popleft())
                size += len(parts[-1])
            data = b"".join(parts)
        self._consumed(len(data))
        return data

    def _consumed(self, nbytes: int) -> None:
        """The application took ``nbytes``: the window reopens; a window update goes out when due."""
        receiver, driver = self._receiver, self._driver
        if receiver is None or driver is None or driver.closed:
            return
        receiver.consumed(nbytes)
        if receiver.ack_pending:
            driver.pump()

    # --- state -----------------------------------------------------------------------------

    @property
    def finished(self) -> bool:
        """The source closed the stream and every byte of it arrived."""
        return self._eof

    @property
    def stats(self) -> ReceiverStats:
        """Counters of the endpoint: segments, duplicates, repairs, ACKs sent."""
        if self._receiver is None:
            raise LocalProtocolError("not connected")
        return self._receiver.stats

    @property
    def local_address(self) -> Address:
        """This receiver's unicast address, as the source sees it in its accounting."""
        if self.sockets is None:
            raise LocalProtocolError("not connected")
        return self.sockets.local

    # --- session relay: talking back to the source -----------------------------------------------

    async def send_up(self, message: bytes | bytearray | memoryview) -> None:
        """Send ``message`` up this receiver's own connection to the source (session relay).

        The source application gets it whole with this receiver's identity
        (``AsyncChannel.session_messages()``) and may repeat it to the channel. Lost pieces are
        sent again. Waits while 1 MiB is already queued; then ``await flush_up()`` to know it
        arrived. Raises :class:`ResetError`/:class:`NetworkError` once the connection is gone.
        """
        data = bytes(message)
        while True:
            receiver, driver = self._live_endpoint()
            if receiver.send_up(data, driver.now):
                driver.pump()
                return
            await asyncio.sleep(UP_POLL)

    @property
    def up_pending(self) -> int:
        """Bytes sent up (framing included) that the source has not acknowledged yet."""
        return self._receiver.up_pending if self._receiver is not None else 0

    async def flush_up(self) -> None:
        """Wait until the source acknowledged everything sent up (polled: the ACK is no event)."""
        while self.up_pending:
            self._live_endpoint()
            await asyncio.sleep(UP_POLL)

    def _live_endpoint(self) -> tuple[Receiver, Driver]:
        self._raise_if_failed()
        receiver, driver = self._receiver, self._driver
        if receiver is None or driver is None:
            raise LocalProtocolError("not connected")
        if driver.closed or receiver.state is not ReceiverState.ESTABLISHED:
            raise LocalProtocolError(f"cannot talk to the source: the connection is {receiver.state.value}")
        return receiver, driver

    def close(self, code: ResetCode = ResetCode.CLOSED, reason: str = "") -> None:
        """Leave the channel now; sockets close. Unless the stream had ended, the source gets an
        RST that says why: ``code`` and ``reason`` (e.g. ``DISK_FULL`` and the error message;
        :func:`~smocast.aio.leaving.leave_reason` turns an exception into both)."""
        if self._closed:
            return
        self._closed = True
        if self._receiver is not None and self._driver is not None and not self._driver.closed:
            self._receiver.close(self._driver.now, code, reason)
            self._driver.close()
        self._state.notify()

    async def aclose(self, *, linger: bool = True) -> None:
        """Close; after a complete stream first accept its end (see :meth:`hold_end`) and stay
        ``linger`` seconds to answer a repeated FIN."""
        try:
            if self._eof and not self._closed:
                self._accept_end()
                if linger and self._linger > 0:
                    await asyncio.sleep(self._linger)
        finally:
            self.close()

    def hold_end(self) -> None:
        """Check the whole stream before the source counts it received (a file's hash): its end
        is acknowledged only when this receiver closes without an error, so a failure found at
        the very end (``close`` with a reason, or an exception out of ``async with``) still
        reaches the source. Close soon after the end: the source waits for the answer at most
        its progress timeout."""
        if self._receiver is None:
            raise LocalProtocolError("not connected")
        self._receiver.hold_end()

    def _accept_end(self) -> None:
        receiver, driver = self._receiver, self._driver
        if receiver is not None and driver is not None and not driver.closed:
            receiver.accept_end(driver.now)
            driver.pump()

    # --- driver callbacks ----------------------------------------------------------------------

    def _on_event(self, event: ReceiverEvent) -> None:
        match event:
            case ev.DataReceived(_, data):
                if data:
                    self._chunks.append(data)
                    self._arrived(len(data))
            case ev.MessageReceived():
                self._items.append(event)
                self._arrived(len(event.data))
            case ev.Skipped():
                self.last_gap = event
                if self.config.framing:
                    self._items.append(event)
            case ev.Connected(start, at):
                self.start, self.connected_at = start, at
                self._remember_source()
            case ev.StreamEnded(_, at):
                self._eof, self.ended_at = True, at
            case ev.ConnectionReset(reason, _, code):
                self._error = _reset_error(reason, code, joined=self.start is not None)
            case ev.ConnectFailed(reason, _):
                hint = (
                    " (a source in the insecure mode answers no secure receiver: pass --insecure to both, or neither)"
                )
                waited = self._layer is not None and self._layer.session is None and "no answer" in reason
                self._error = ConnectFailedError(reason + hint if waited else reason)
            case _:
                assert_never(event)
        self._state.notify()

    def _arrived(self, nbytes: int) -> None:
        """``nbytes`` are buffered for the reader (they count against the window until read)."""
        self.received += nbytes
        if self.first_data_at is None:
            self.first_data_at = self._now()

    def _remember_source(self) -> None:
        """Trust on first use: the source's key goes into the known-sources file once it is proved."""
        layer, security = self._layer, self._security
        if layer is None or security is None or layer.source_identity is None:
            return
        from smocast.aio.security import remember_source  # noqa: PLC0415

        self.remembered = remember_source(security, self.server, layer.source_identity)

    def _from_group(self, data: bytes, source: Address, now: float) -> None:
        """A datagram read on the group's socket: the endpoint takes only data from there
        (in the secure mode, only what opens under the group key and the source signed)."""
        if self._layer is not None:
            self._layer.receive_datagram(data, source, now)
        elif self._receiver is not None:
            self._receiver.receive_datagram(data, source, now, via_group=True)

    def _from_group_batch(self, batch: Batch, now: float) -> None:
        """A batch read on the group's socket (views of the driver's buffer, valid during the call).

        In the secure mode the whole batch goes through the protection layer, which hands the
        receiver what opened under the group key and the source signed, in one call."""
        if self._layer is not None:
            self._layer.receive_datagrams(batch, now, via_group=True)
        elif self._receiver is not None:
            self._receiver.receive_datagrams(batch, now, via_group=True)

    def _after_pump(self) -> None:
        self._skip_if_reader_waits()

    def _skip_if_reader_waits(self) -> bool:
        """TCP-RTM read (no playout delay): the application waits and later data is held, so
        skip the hole; True when something was skipped (and the data after it delivered)."""
        receiver, driver = self._receiver, self._driver
        if (
            not self._reader_waiting
            or receiver is None
            or driver is None
            or driver.closed
            or receiver.state is not ReceiverState.ESTABLISHED
            or not self.config.realtime
            or self.config.playout_delay is not None
            or not receiver.skip_hole(driver.now)
        ):
            return False
        driver.pump()
        return True

    def _on_error(self, error: NetworkError) -> None:
        if self._error is None:
            self._error = error
        self.close()

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error

    def _now(self) -> float:
        return self._driver.now if self._driver is not None else 0.0


def _reset_error(reason: str, code: ResetCode, *, joined: bool) -> NetworkError:
    """The error a reset raises: a silent source is a network failure; the rest are the source's decision."""
    if code is ResetCode.SOURCE_SILENT:
        return NetworkError(f"{reason}; is it still running, and does its group reach this host?")
    verb = "dropped this receiver" if joined else "refused the connection"
    return ResetError(f"the source {verb} ({reason})")
