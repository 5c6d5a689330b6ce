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

Its parts: :class:`~smocast.aio.inbox.Inbox` holds what waits to be read (and reopens the
window as it is read), :class:`~smocast.aio.uplink.UpLink` sends messages up, and
:class:`~smocast.aio.protection.ReceiverProtection` is the secure mode.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
from collections.abc import AsyncIterator
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, assert_never

from smocast.aio.driver import Batch, Driver, Signal
from smocast.aio.errors import NetworkError, connect_failed_error, reset_error
from smocast.aio.inbox import Inbox
from smocast.aio.leaving import leave_reason
from smocast.aio.netaddr import family_of, format_address
from smocast.aio.protection import ReceiverProtection
from smocast.aio.sockets import ReceiverSockets, receiver_sockets, resolve
from smocast.aio.uplink import UpLink
from smocast.core.datagram import Address
from smocast.core.errors import LocalProtocolError
from smocast.smo import events as ev
from smocast.smo.events import ReceiverEvent
from smocast.smo.receiver import Receiver, ReceiverStats
from smocast.smo.receiver_config import ReceiverConfig
from smocast.wire import ResetCode

if TYPE_CHECKING:
    from smocast.aio.security import ReceiverSecurity
    from smocast.secure.receiver import ProtectedReceiver
    from smocast.secure.stats import ProtectionStats

DEFAULT_READ = 1 << 16
DEFAULT_LINGER = 0.5  # seconds to stay after the end, to re-ACK a FIN whose ACK was lost (RTO minimum 0.2 s)
JOIN_SETTLE = 0.02
"""Seconds from the group join to the first SYN: the kernel sends the join's IGMP/MLD report up to
two clock ticks later, and a snooping switch forwards the group only from then on (a quicker
handshake lost the source's whole first flight: a loss probe's wait and a halved window)."""
Message = ev.MessageReceived
"""A whole message (framing mode): ``offset`` in the stream and ``data``."""
Gap = ev.Skipped
"""A gap notice (real-time mode): stream bytes ``[start, end)`` were given up ``at`` (loop time)."""


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
        self._protection = ReceiverProtection(security)
        self.config = config
        self._source = source
        self._interface = interface
        self._linger = linger
        self._rng = rng or random.SystemRandom()  # the connection id must not be guessable
        self._receiver: Receiver | None = None
        self._driver: Driver | None = None
        self.sockets: ReceiverSockets | None = None
        self._inbox = Inbox(config)  # what was delivered and not read yet
        self._up = UpLink(self._raise_if_failed)  # session relay: messages up to the source
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
        endpoint = self._protection.wrap(self._receiver, self.server, format_address(name))  # it may refuse
        self.sockets = socks = receiver_sockets(
            self.server, self.group, self._source or self.server[0], self._interface
        )
        try:
            await asyncio.sleep(JOIN_SETTLE)  # the join reaches the network before the data can start
        except BaseException:
            socks.unicast.close()
            socks.group.close()
            raise
        skips_on_read = self.config.realtime and self.config.playout_delay is None
        self._driver = Driver(
            endpoint,
            socks.unicast,
            [socks.group, socks.unicast],
            on_event=self._on_event,
            on_error=self._on_error,
            peer=f"the source at {format_address(name)}",
            unicast_errors_fatal=True,
            after_pump=self._inbox.skip_if_reader_waits if skips_on_read else None,
            group=(socks.group, self._from_group),
            group_batch=self._from_group_batch,
            group_arrival=self._from_group_batch,
        )
        self._inbox.attach(self._receiver, self._driver)
        self._up.attach(self._receiver, self._driver)
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

    @property
    def source_fingerprint(self) -> str | None:
        """The key the source proved in the handshake (None in the insecure mode, or before it)."""
        return self._protection.source_fingerprint

    @property
    def protection(self) -> ProtectionStats | None:
        """What the protection layer opened and dropped (None in the insecure mode)."""
        return self._protection.stats

    @property
    def secure(self) -> bool:
        return self._protection.security is not None

    @property
    def remembered(self) -> Path | None:
        """The known-sources file a first use appended the source to (None: nothing was added)."""
        return self._protection.remembered

    @property
    def _layer(self) -> ProtectedReceiver[ReceiverEvent] | None:
        """The protection layer that datagrams go through (None in the insecure mode)."""
        return self._protection.layer

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

    async def read(self, n: int = DEFAULT_READ, *, at_least: int = 1) -> bytes:
        """Up to ``n`` bytes of the stream, ``b""`` at its end; waits for ``min(n, at_least)`` (at most a
        quarter of the receive buffer; fewer at the end). A bulk reader wakes once per chunk that way.

        Raises :class:`ResetError` if the source dropped this receiver and
        :class:`NetworkError` on a socket failure (after the bytes that arrived before it).
        """
        if n <= 0:
            raise ValueError(f"read size must be positive, got {n}")
        if self.config.framing:
            raise LocalProtocolError("this stream carries messages (framing=True): use messages() or read_message()")
        inbox, want = self._inbox, self._inbox.bounded_want(min(n, at_least))
        while inbox.buffered < want and self._error is None and not (self._eof or self._closed):
            await inbox.wait(self._state, want)
        if not inbox.has_bytes:
            self._raise_if_failed()
            return b""
        return inbox.take(n)

    async def read_message(self) -> Message | Gap | None:
        """The next whole message or gap notice, in stream order; ``None`` at the end of the stream.

        Needs ``framing=True``. Raises :class:`ResetError` if the source dropped this receiver
        (after the messages that arrived before) and :class:`NetworkError` on a socket failure.
        """
        if not self.config.framing:
            raise LocalProtocolError("read_message() needs framing=True (a stream of messages)")
        while not self._inbox.has_items:
            self._raise_if_failed()
            if self._eof or self._closed:
                return None
            await self._inbox.wait(self._state)
        return self._inbox.pop_item()

    async def messages(self) -> AsyncIterator[Message | Gap]:
        """``async for item in rx.messages()``: each :data:`Message` or :data:`Gap` until the end."""
        while (item := await self.read_message()) is not None:
            yield item

    async def readexactly(self, n: int) -> bytes:
        """Exactly ``n`` bytes; ``asyncio.IncompleteReadError`` if the stream ends first."""
        data = bytearray()
        while len(data) < n:
            chunk = await self.read(n - len(data), at_least=n - len(data))
            if not chunk:
                raise asyncio.IncompleteReadError(bytes(data), n)
            data += chunk
        return bytes(data)

    def __aiter__(self) -> AsyncReceiver:
        return self

    async def __anext__(self) -> bytes:
        chunk = await self.read()
        if not chunk:
            raise StopAsyncIteration
        return chunk

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
        await self._up.send(bytes(message))

    @property
    def up_pending(self) -> int:
        """Bytes sent up (framing included) that the source has not acknowledged yet."""
        return self._up.pending

    async def flush_up(self) -> None:
        """Wait until the source acknowledged everything sent up (polled: the ACK is no event)."""
        await self._up.flush()

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
                    self._inbox.add_bytes(data)
                    self._arrived(len(data))
                if self._inbox.short_of_want:
                    return  # the reader waits for a whole chunk: no wake-up yet
            case ev.MessageReceived():
                self._inbox.add_item(event)
                self._arrived(len(event.data))
            case ev.Skipped():
                self.last_gap = event
                if self.config.framing:
                    self._inbox.add_item(event)
            case ev.Connected(start, at):
                self.start, self.connected_at = start, at
                self._protection.remember_source(self.server)
            case ev.StreamEnded(_, at):
                self._eof, self.ended_at = True, at
            case ev.ConnectionReset(reason, _, code):
                self._error = reset_error(reason, code, joined=self.start is not None)
            case ev.ConnectFailed(reason, _):
                self._error = connect_failed_error(reason, secure_unanswered=self._protection.unanswered)
            case _:
                assert_never(event)
        self._state.notify()

    def _arrived(self, nbytes: int) -> None:
        """``nbytes`` are buffered for the reader (they count against the window until read)."""
        self.received += nbytes
        if self.first_data_at is None:
            self.first_data_at = self._driver.now if self._driver is not None else 0.0

    def _from_group(self, data: bytes, source: Address, now: float) -> None:
        """A datagram read on the group's socket: the endpoint takes only data from there
        (in the secure mode, only what opens under the group key and the source signed)."""
        if self._layer is not None:
            self._layer.receive_datagram(data, source, now)
        elif self._receiver is not None:
            self._receiver.receive_datagram(data, source, now, via_group=True)

    def _from_group_batch(self, batch: Batch, now: float, *, arrival: float | None = None) -> None:
        """A batch read on the group's socket (views of the driver's buffer, valid during the call),
        with the kernel's arrival time where the socket gives one (for the ACKs' one-way delay).
        In the secure mode the whole batch goes through the protection layer, which hands the
        receiver what opened under the group key and the source signed, in one call."""
        if self._layer is not None:
            self._layer.receive_datagrams(batch, now, via_group=True, arrival=arrival)
        elif self._receiver is not None:
            self._receiver.receive_datagrams(batch, now, via_group=True, arrival=arrival)

    def _on_error(self, error: NetworkError) -> None:
        if self._error is None:
            self._error = error
        self.close()

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error
