"""The source side of the public API: :class:`AsyncChannel`, a TCP-SMO channel on real sockets.

It wraps one sans-IO :class:`~smocast.smo.channel.Channel` in a
:class:`~smocast.aio.driver.Driver` and adds what an application needs around it:
backpressure (``send`` waits while too much is unsent), waiting for admission and for
completion, an async iterator of membership events, and accounting that outlives each
receiver (the sans-IO channel forgets a receiver once it completes or leaves;
:mod:`smocast.aio.records` keeps the records).

Open it with :func:`smocast.open_channel`; the caller must then ``send`` and finally close,
best by leaving ``async with``, which waits until every receiver completed or was dropped.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, assert_never

from smocast.aio.driver import Driver, Signal
from smocast.aio.errors import NetworkError
from smocast.aio.netaddr import canonical, family_of, format_address, is_unspecified
from smocast.aio.records import ChannelSummary, ReceiverBook, ReceiverRecord, summarise
from smocast.aio.sockets import resolve, source_socket
from smocast.core.datagram import Address, Endpoint
from smocast.core.errors import LocalProtocolError
from smocast.smo import events as ev
from smocast.smo.channel import Channel, ChannelStats, History
from smocast.smo.config import ChannelConfig
from smocast.smo.events import ReceiverInfo
from smocast.smo.framing import frame

if TYPE_CHECKING:
    from smocast.aio.source_security import SourceSecurity
    from smocast.secure.identity import Identity
    from smocast.secure.source import ProtectedSource
    from smocast.secure.stats import ProtectionStats

SourceEvent = ev.SourceEvent
__all__ = ["AsyncChannel", "ChannelSummary", "ReceiverRecord", "SourceEvent"]  # the records live in aio/records.py


class AsyncChannel:
    """The source of a TCP-SMO channel (S, G) on a UDP socket. Create it with ``open_channel``."""

    def __init__(
        self,
        group: Address,
        *,
        bind: Address,
        interface: str | None,
        ttl: int,
        config: ChannelConfig,
        max_unsent: int | None = None,
        rng: random.Random | None = None,
        history: History | None = None,
        on_pump: Callable[[], None] | None = None,
        security: SourceSecurity | None = None,
    ) -> None:
        """``history(offset, length)`` serves receivers that resume below the send buffer (a relay's
        :class:`~smocast.smo.relay.StreamHistory`, a file); ``on_pump`` is called after every pump
        (a relay passes its downstream backlog up from there). ``security`` protects every packet
        (None: the insecure mode); its key is loaded, or created, when the channel opens."""
        self.group = group
        self.config = config
        self._bind = bind
        self._interface = interface
        self._ttl = ttl
        self._channel = Channel(group, config, rng or random.SystemRandom(), history=history)  # cookie secrets
        self._on_pump = on_pump
        self._security = security
        self._layer: ProtectedSource[SourceEvent] | None = None
        self.fingerprint: str | None = None  # the key receivers must pin (secure mode)
        self.key_created: Path | None = None  # where a key was created on first use, to tell the user
        self._driver: Driver | None = None
        self._high_water = max_unsent or 2 * config.max_window
        self._low_water = self._high_water // 2
        self._state = Signal()  # membership, admission, completion, errors
        self._room = Signal()  # the unsent bytes fell to the low-water mark
        self._log: list[SourceEvent] = []
        self._book = ReceiverBook()  # every receiver's record, also once the channel forgot it
        self._error: NetworkError | None = None
        self._closing = False
        self._done = False
        self.address: Address = bind
        self.opened_at = 0.0  # loop time; the times below are seconds since then
        self.started_at: float | None = None
        self.finished_at: float | None = None

    # --- opening ---------------------------------------------------------------------------

    async def _open(self) -> AsyncChannel:
        bind = self._bind if is_unspecified(self._bind[0]) else await resolve(*self._bind, family_of(self.group[0]))
        sock = source_socket(
            bind, self.group, self._interface, self._ttl, probe_mtu=self.config.pmtu_ceiling is not None
        )
        self.address = canonical(sock.getsockname())
        self._driver = Driver(
            self._protected(asyncio.get_running_loop().time()),
            sock,
            [sock],
            on_event=self._on_event,
            on_error=self._on_error,
            peer="receivers",
            unicast_errors_fatal=False,
            after_pump=self._after_pump,
            on_unreachable=self._channel.unreachable,
        )
        self.opened_at = self._book.opened_at = self._driver.now
        self._driver.pump()
        return self

    def _protected(self, now: float) -> Endpoint[Any, SourceEvent]:
        """The endpoint the driver runs: the channel, behind the protection layer in the secure mode."""
        security = self._security
        if security is None:
            return self._channel
        from smocast.aio.source_security import source_layer  # noqa: PLC0415  (the insecure mode loads no cryptography)

        self._layer, key = source_layer(self._channel, security, now)
        self.fingerprint = key.identity.public.fingerprint
        self.key_created = key.path if key.created else None
        return self._layer

    @property
    def protection(self) -> ProtectionStats | None:
        """What the protection layer sealed, opened and dropped (None in the insecure mode)."""
        return self._layer.stats if self._layer is not None else None

    @property
    def secure(self) -> bool:
        return self._security is not None

    @property
    def identity(self) -> Identity | None:
        """The key the source proves (None in the insecure mode): it signs what travels outside
        the channel, such as announcements (:mod:`smocast.secure.signed`)."""
        return self._layer.identity if self._layer is not None else None

    async def __aenter__(self) -> AsyncChannel:
        return self if self._driver is not None else await self._open()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is not None:
            self.abort()
            return
        try:
            self.close()
            await self.wait_closed()
        except BaseException:
            self.abort()
            raise

    # --- sending ---------------------------------------------------------------------------

    def write(self, data: bytes | bytearray | memoryview, *, message_start: bool = False) -> None:
        """Queue ``data`` without waiting; follow with ``await drain()`` (or use ``send``)."""
        driver = self._live_driver()
        if self._closing:
            raise LocalProtocolError("write() after close()")
        self._channel.write(data if isinstance(data, bytes) else bytes(data), message_start=message_start)
        driver.pump()

    async def drain(self) -> None:
        """Wait until the unsent bytes are below the limit (backpressure); raise if the channel failed."""
        while self._channel.pending_bytes > self._high_water:
            self._live_driver()
            await self._room.wait()
        self._raise_if_failed()

    async def send(self, data: bytes | bytearray | memoryview, *, message_start: bool = False) -> None:
        """Queue ``data`` for every receiver, then wait for room. ``message_start`` begins a message."""
        self.write(data, message_start=message_start)
        await self.drain()

    async def send_message(self, message: bytes | bytearray | memoryview) -> None:
        """Queue one whole message (for receivers with ``framing=True``), then wait for room.

        Each receiver gets it whole or, in real-time mode, a gap notice in its place."""
        self.write(frame(message), message_start=True)
        await self.drain()

    # --- waiting ---------------------------------------------------------------------------

    async def wait_started(self) -> None:
        """Wait until admission is satisfied (``min_receivers`` joined) and data flows."""
        while not self._channel.started:
            self._live_driver()
            await self._state.wait()

    def close(self) -> None:
        """No more data: each receiver gets FIN once it has everything. Then ``await wait_closed()``."""
        if self._closing:
            return
        self._closing = True
        self._channel.close()
        if self._driver is not None:
            self._driver.pump()

    async def wait_closed(self) -> ChannelSummary:
        """Wait until every receiver completed or was dropped; close the socket; return the summary."""
        try:
            while not self._channel.finished:
                self._live_driver()
                await self._state.wait()
        finally:
            if self._channel.finished:
                self._shutdown()
        return self.summary()

    def abort(self, detail: str = "the source closed the channel") -> None:
        """Drop every receiver now (they get RST) and close the socket."""
        driver = self._driver
        if driver is not None and not driver.closed:
            now = driver.now
            for info in self._channel.receivers():
                self._channel.drop(info.receiver, now, detail)
            driver.pump()
        self._shutdown()

    # --- what the application can read ---------------------------------------------------------

    @property
    def started(self) -> bool:
        return self._channel.started

    @property
    def finished(self) -> bool:
        return self._channel.finished

    @property
    def stats(self) -> ChannelStats:
        return self._channel.stats

    @property
    def endpoint(self) -> Channel:
        """The sans-IO channel underneath, for runtime glue such as a relay: whoever writes to it
        directly must then call :meth:`pump`."""
        return self._channel

    def pump(self) -> None:
        """Send what the endpoint has queued (after writing to :attr:`endpoint` directly)."""
        if self._driver is not None:
            self._driver.pump()

    @property
    def unsent_bytes(self) -> int:
        return self._channel.pending_bytes

    @property
    def bytes_sent(self) -> int:
        """Stream bytes sent at least once (``snd_nxt``)."""
        return self._channel.snd_nxt

    def receivers(self) -> list[ReceiverInfo]:
        """The live receivers' accounting, now: who, since when, bytes acked, RTT, cwnd."""
        return self._channel.receivers()

    def records(self) -> list[ReceiverRecord]:
        """Every receiver that ever joined or was refused, with its outcome (O(receivers))."""
        return self._book.records(self._channel.receivers())

    async def events(self) -> AsyncIterator[SourceEvent]:
        """Every event since the channel opened, then new ones as they come; ends when the channel does.

        Events: ReceiverJoined, TransferStarted, ReceiverCompleted, ReceiverDropped (with its
        reason), ReceiverLeft, SessionData (a receiver's message up, see
        :meth:`session_messages`), ChannelFinished (all in :mod:`smocast.smo.events`).
        """
        index = 0
        while True:
            while index < len(self._log):
                index += 1
                yield self._log[index - 1]
            if self._done:
                self._raise_if_failed()
                return
            await self._state.wait()

    async def session_messages(self) -> AsyncIterator[ev.SessionData]:
        """What receivers sent up their connections (session relay), in arrival order, from the
        start; ends when the channel does. Each has ``receiver`` (its id), ``address`` and ``data``.

        To repeat a message to the whole channel, ``await send(...)`` it into the stream.
        """
        async for event in self.events():
            if isinstance(event, ev.SessionData):
                yield event

    def path_mtu(self) -> dict[str, Any]:
        """Path MTU discovery as a report says it: on or off, the ceiling, the channel's segment
        size (now, and the largest it cut), and each receiver's confirmed size (IP MTU terms too)."""
        probing = self._channel.probing
        overhead = probing.overhead
        return {
            "enabled": probing.enabled,
            "ceiling_mtu": self.config.pmtu_ceiling,
            "overhead_bytes": overhead,
            "base_segment": self.config.mss,
            "segment_size": probing.segment_size,
            "largest_segment": probing.largest_segment,
            "probes_sent": probing.probes_sent,
            "probe_acks": probing.probe_acks,
            "receivers": [
                {"receiver": index, "address": format_address(address), "plpmtu": size, "mtu": size + overhead}
                for index, address, size in probing.sizes()
            ],
        }

    def summary(self) -> ChannelSummary:
        return summarise(self.records(), self._channel, self.started_at)

    # --- driver callbacks ----------------------------------------------------------------------

    def _on_event(self, event: SourceEvent) -> None:
        self._log.append(event)
        match event:
            case ev.ReceiverJoined():
                self._book.joined(event)
            case ev.ReceiverCompleted() | ev.ReceiverDropped() | ev.ReceiverLeft():
                self._book.gone(event)
            case ev.TransferStarted(_, at):
                self.started_at = at - self.opened_at
            case ev.ChannelFinished(_, _, at):
                self.finished_at = at - self.opened_at
            case ev.SessionData():
                pass
            case _:
                assert_never(event)
        self._state.notify()

    def _after_pump(self) -> None:
        if self._room.waiting and self._channel.pending_bytes <= self._low_water:
            self._room.notify()
        if self._on_pump is not None:
            self._on_pump()

    def _on_error(self, error: NetworkError) -> None:
        self._error = error
        self._shutdown()

    # --- internals ---------------------------------------------------------------------------

    def _live_driver(self) -> Driver:
        self._raise_if_failed()
        if self._driver is None:
            raise LocalProtocolError("the channel is not open: use 'async with open_channel(...)' or await it")
        if self._driver.closed:
            raise LocalProtocolError("the channel is closed")
        return self._driver

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error

    def _shutdown(self) -> None:
        if self._driver is not None:
            self.records()  # the live receivers' last accounting, before the channel goes
            self._driver.close()
        self._done = True
        self._state.notify()
        self._room.notify()
