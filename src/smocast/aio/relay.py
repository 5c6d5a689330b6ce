"""A relay server on real sockets: the receiver of an upstream channel and the source of a downstream one.

The sans-IO :class:`~smocast.smo.relay.RelayNode` joins the two endpoints; this module runs
each on its own sockets and :class:`~smocast.aio.driver.Driver`, as the simulator's hierarchy
(:mod:`smocast.sim.relay`) runs them on simulated hosts:

* every upstream event goes to ``RelayNode.on_upstream_event``, which writes each payload
  object as it is into the downstream channel (no copy per hop) and into the
  :class:`~smocast.smo.relay.StreamHistory`; the downstream is then pumped once per batch;
* after every downstream pump ``RelayNode.sync()`` passes the downstream backlog up as flow
  control, and the upstream is pumped when it wants to ACK (the window opened again);
* the two drivers never pump each other from inside a pump: the other side is scheduled
  with ``call_soon``, so a batch of upstream datagrams costs one downstream pump.

A relay's upstream may itself be a relay, so hierarchies have any depth. Messages that
downstream receivers send up (session relay) are sent on up the relay's own connection,
so they reach the root (as coming from this relay). If the upstream is lost before the
stream ended, the relay resets its receivers, so that they fail over at once.

Open it with :func:`open_relay`; the caller must then ``await wait_closed()`` (or leave
``async with``), which returns once every downstream receiver completed or was dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from dataclasses import dataclass
from functools import partial
from types import TracebackType
from typing import TYPE_CHECKING, Any, Unpack

from smocast.aio.api import ENVELOPE_OVERHEAD, PACING_BURST_SEGMENTS, Opening, receiver_security, source_security
from smocast.aio.channel import AsyncChannel, ChannelSummary
from smocast.aio.driver import Driver, Signal
from smocast.aio.errors import ConnectFailedError, NetworkError
from smocast.aio.netaddr import family_of, format_address
from smocast.aio.options import AddressLike, ChannelOptions, channel_config, parse_address
from smocast.aio.sockets import check_group, receiver_sockets, resolve
from smocast.core.datagram import Address
from smocast.core.errors import LocalProtocolError
from smocast.smo import events as ev
from smocast.smo.config import DEFAULT_MSS, ChannelConfig, ReceiverConfig
from smocast.smo.events import ReceiverEvent
from smocast.smo.receiver import Receiver, ReceiverState
from smocast.smo.relay import RelayNode, StreamHistory

if TYPE_CHECKING:
    from smocast.aio.security import ReceiverSecurity
    from smocast.aio.source_security import SourceSecurity
    from smocast.secure.receiver import ProtectedReceiver

DEFAULT_HISTORY = 64 << 20
"""Bytes of the stream a relay keeps for receivers that fail over to it: three times the
20 MiB file of ``smocast demo``. Beyond it the oldest bytes go, and a resume below them is refused."""
DEFAULT_SOURCE_TIMEOUT = 5.0  # seconds of silence from the upstream (it heartbeats every second) before giving up


@dataclass(frozen=True, slots=True)
class RelayReport:
    """What a relay forwarded, what it kept, and how its downstream channel ended."""

    upstream: Address
    upstream_group: Address
    group: Address
    address: Address
    forwarded: int
    upstream_ended: bool
    history_kept: int
    history_start: int
    history_limit: int | None
    messages_up: int
    summary: ChannelSummary

    def as_json(self) -> dict[str, Any]:
        s = self.summary
        return {
            "upstream": _text(self.upstream),
            "upstream_group": _text(self.upstream_group),
            "address": _text(self.address),
            "group": _text(self.group),
            "bytes_forwarded": self.forwarded,
            "upstream_ended": self.upstream_ended,
            "history": {"limit": self.history_limit, "kept": self.history_kept, "start": self.history_start},
            "session_messages_up": self.messages_up,
            "receivers": s.receivers,
            "completed": s.completed,
            "dropped": s.dropped,
            "left": s.left,
            "refused": s.refused,
            "bytes": s.bytes,
            "wall_time_s": round(s.wall_time_s, 6) if s.wall_time_s is not None else None,
            "goodput_bps": round(s.goodput_bps, 1),
            "segments": {
                "original": s.stats.original_segments,
                "repair_unicast": s.stats.repair_unicast,
                "repair_multicast": s.stats.repair_multicast,
            },
            "acks_processed": s.stats.acks_processed,
            "per_receiver": [r.as_json() for r in s.records],
        }


class AsyncRelay:
    """A relay server (paper section V.D). Create it with :func:`open_relay`."""

    def __init__(
        self,
        upstream: Address,
        upstream_group: Address,
        group: Address,
        *,
        bind: Address,
        interface: str | None,
        ttl: int,
        channel_config: ChannelConfig,
        history: StreamHistory,
        upstream_source: str | None,
        upstream_interface: str | None,
        receiver_config: ReceiverConfig,
        rng: random.Random | None = None,
        security: SourceSecurity | None = None,
        upstream_security: ReceiverSecurity | None = None,
    ) -> None:
        """``security`` protects the downstream channel with the relay's own key; ``upstream_security``
        says which key the upstream must prove (None: that side is insecure)."""
        self.upstream = upstream
        self._upstream_security = upstream_security
        self._upstream_layer: ProtectedReceiver[ReceiverEvent] | None = None
        self.upstream_group = upstream_group
        self.history = history
        self.channel = AsyncChannel(
            group,
            bind=bind,
            interface=interface,
            ttl=ttl,
            config=channel_config,
            rng=rng,
            history=history,
            on_pump=self._sync,
            security=security,
        )
        self._source = upstream_source
        self._interface = upstream_interface
        self._config = receiver_config
        self._rng = rng or random.SystemRandom()  # the upstream connection id must not be guessable
        self._node: RelayNode | None = None
        self._up: Driver | None = None
        self._state = Signal()
        self._error: NetworkError | None = None
        self._connected = False
        self._down_due = False
        self._up_due = False
        self._forwarder: asyncio.Task[None] | None = None
        self.messages_up = 0

    # --- opening and closing ---------------------------------------------------------------------

    async def _open(self) -> AsyncRelay:
        await self.channel._open()
        try:
            await self._connect_upstream()
        except BaseException:
            self.abort()
            raise
        self._forwarder = asyncio.create_task(self._forward_up())
        return self

    async def _connect_upstream(self) -> None:
        name = self.upstream
        server = await resolve(*name, family_of(self.upstream_group[0]))
        socks = receiver_sockets(server, self.upstream_group, self._source or server[0], self._interface)
        receiver = Receiver(server, self._config, self._rng)
        group_input = partial(receiver.receive_datagram, via_group=True)
        endpoint: Any = receiver
        if self._upstream_security is not None:
            from smocast.aio.security import receiver_layer  # noqa: PLC0415  (no cryptography unless secure)

            endpoint = self._upstream_layer = receiver_layer(receiver, server, self._upstream_security, _text(name))
            group_input = endpoint.receive_datagram
        self._node = RelayNode(receiver, self.channel.endpoint, self.history)
        self._up = Driver(
            endpoint,
            socks.unicast,
            [socks.group, socks.unicast],
            on_event=self._on_upstream_event,
            on_error=self._on_upstream_error,
            peer=f"the upstream at {format_address(name)}",
            unicast_errors_fatal=True,
            group=(socks.group, group_input),
            group_batch=partial(endpoint.receive_datagrams, via_group=True),
        )
        receiver.connect(self._up.now)
        self._up.pump()
        while not self._connected:
            self._raise_if_failed()
            await self._state.wait()

    async def __aenter__(self) -> AsyncRelay:
        return self if self._up is not None else await self._open()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is not None:
            self.abort()
            return
        try:
            await self.wait_closed()
        except BaseException:
            self.abort()
            raise

    async def wait_closed(self) -> RelayReport:
        """Wait until the upstream stream ended and every downstream receiver completed or was
        dropped; then leave the upstream and return the report. Raises :class:`NetworkError` when
        the upstream was lost first (the downstream receivers were reset to fail over)."""
        try:
            await self.channel.wait_closed()
        except LocalProtocolError:
            self._raise_if_failed()
            raise
        finally:
            self._close_upstream()
        self._raise_if_failed()
        return self.report()

    def abort(self, detail: str = "the relay stopped") -> None:
        """Reset every downstream receiver (they fail over) and leave the upstream, now."""
        self.channel.abort(detail)
        self._close_upstream()

    def report(self) -> RelayReport:
        node = self._node
        return RelayReport(
            self.upstream,
            self.upstream_group,
            self.channel.group,
            self.channel.address,
            node.forwarded if node is not None else 0,
            node is not None and node.ended,
            self.history.kept,
            self.history.start,
            self.history.limit,
            self.messages_up,
            self.channel.summary(),
        )

    @property
    def upstream_ended(self) -> bool:
        return self._node is not None and self._node.ended

    # --- the upstream ------------------------------------------------------------------------------

    def _on_upstream_event(self, event: ReceiverEvent) -> None:
        node = self._node
        assert node is not None and self._up is not None
        node.on_upstream_event(event, self._up.now)
        if isinstance(event, ev.DataReceived | ev.MessageReceived):
            node.sync()  # the ACK this pump sends must already count these bytes as held downstream
            self._schedule_down()
        elif isinstance(event, ev.Connected):
            self._connected = True
        elif isinstance(event, ev.StreamEnded):
            self.channel.close()
        elif isinstance(event, ev.ConnectFailed):
            self._lose_upstream(ConnectFailedError(f"the upstream did not accept the relay: {event.reason}"))
        elif isinstance(event, ev.ConnectionReset):
            self._lose_upstream(NetworkError(f"lost the upstream: {event.reason}"))
        self._state.notify()

    def _on_upstream_error(self, error: NetworkError) -> None:
        if self.upstream_ended:
            return  # the whole stream is here: the upstream may go (the root exits once relays complete)
        self._lose_upstream(error)

    def _lose_upstream(self, error: NetworkError) -> None:
        """The stream cannot be completed: reset the receivers so that they fail over at once."""
        if self._error is None:
            self._error = error
        asyncio.get_running_loop().call_soon(self.abort, f"the relay lost its upstream ({error})")
        self._state.notify()

    def _close_upstream(self) -> None:
        if self._forwarder is not None:
            self._forwarder.cancel()
            self._forwarder = None
        driver, node = self._up, self._node
        if driver is not None and node is not None and not driver.closed:
            node.upstream.close(driver.now)
            driver.close()

    # --- joining the two pumps -------------------------------------------------------------------

    def _schedule_down(self) -> None:
        if not self._down_due:
            self._down_due = True
            asyncio.get_running_loop().call_soon(self._pump_down)

    def _pump_down(self) -> None:
        self._down_due = False
        self.channel.pump()

    def _sync(self) -> None:
        """After each downstream pump: pass the backlog up; pump the upstream if it must ACK now."""
        node, driver = self._node, self._up
        if node is not None and driver is not None and not driver.closed and node.sync():
            self._schedule_up()

    def _schedule_up(self) -> None:
        if not self._up_due:
            self._up_due = True
            asyncio.get_running_loop().call_soon(self._pump_up)

    def _pump_up(self) -> None:
        self._up_due = False
        if self._up is not None:
            self._up.pump()

    async def _forward_up(self) -> None:
        """Session relay through the hierarchy: what receivers send up goes on up to the root."""
        with contextlib.suppress(NetworkError):
            async for message in self.channel.session_messages():
                node, driver = self._node, self._up
                if node is None or driver is None or driver.closed:
                    return
                if node.upstream.state is ReceiverState.ESTABLISHED and node.upstream.send_up(message.data, driver.now):
                    self.messages_up += 1
                    self._schedule_up()

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error


def open_relay(
    upstream: AddressLike,
    upstream_group: AddressLike,
    group: AddressLike,
    bind: AddressLike | None = None,
    *,
    upstream_source: str | None = None,
    upstream_interface: str | None = None,
    interface: str | None = None,
    ttl: int = 1,
    history: int | None = DEFAULT_HISTORY,
    source_timeout: float = DEFAULT_SOURCE_TIMEOUT,
    connect_timeout: float = 10.0,
    rng: random.Random | None = None,
    secure: bool = True,
    security: SourceSecurity | None = None,
    upstream_security: ReceiverSecurity | None = None,
    **options: Unpack[ChannelOptions],
) -> Opening[AsyncRelay]:
    """Open a relay: a channel multicasting to ``group`` from ``bind`` (default
    ``0.0.0.0:<group port>``), fed by a receiver of the channel at ``upstream`` on ``upstream_group``.

    ``history`` bounds the stream bytes kept for receivers that fail over here (None: all).
    ``source_timeout`` gives the upstream up after that much silence. Every channel keyword of
    :func:`~smocast.aio.open_channel` applies to the downstream channel (``min_receivers``,
    ``policy``, ``progress_timeout``...). The caller must then ``await wait_closed()`` or use
    ``async with``. Both sides are secure unless ``secure=False``: the relay pins its upstream's
    key (``upstream_security``, default: this user's known sources) and proves its own key
    downstream (``security``, default: this user's key), which its receivers pin. Raises
    :class:`NetworkError`/:class:`ConnectFailedError` or ``ConfigError``.
    """
    up = parse_address(upstream, "upstream")
    up_group = parse_address(upstream_group, "upstream group")
    down_group = parse_address(group, "group")
    check_group(up_group)
    check_group(down_group)
    bind_address = parse_address(bind, "bind") if bind is not None else ("0.0.0.0", down_group[1])
    options.setdefault("pacing_burst_segments", PACING_BURST_SEGMENTS)
    down_security = source_security(secure, security)
    up_security = receiver_security(secure, upstream_security)
    if down_security is not None:
        options.setdefault("mss", DEFAULT_MSS - ENVELOPE_OVERHEAD)
    relay = AsyncRelay(
        up,
        up_group,
        down_group,
        bind=bind_address,
        interface=interface,
        ttl=ttl,
        channel_config=channel_config(None, **options),
        history=StreamHistory(history),
        upstream_source=upstream_source,
        upstream_interface=upstream_interface,
        receiver_config=ReceiverConfig(source_timeout=source_timeout, connect_timeout=connect_timeout),
        rng=rng,
        security=down_security,
        upstream_security=up_security,
    )
    return Opening(relay._open)


def _text(address: Address) -> str:
    return format_address(address)
