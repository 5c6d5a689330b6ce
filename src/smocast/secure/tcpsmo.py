"""The protection layer fitted to TCP-SMO: its handshake's packets, its events, and ready-made wrappers.

:func:`protect_channel` and :func:`protect_receiver` are what the runtime and the simulator
call to run a channel or a receiver in the secure mode: the key exchange rides on the
cookie handshake (:mod:`smocast.secure.handshake`), and every packet after it is sealed.

* The source's channel gets the layer's gate (``Channel.set_admission_gate``): a SYN with a
  valid cookie is admitted only with a hello the key exchange accepts.
* A receiver that the channel removes loses its session: a receiver dropped or that left
  also moves the group to a key it never gets; one that completed keeps nothing either,
  without a rekey (it had every byte already).
* A receiver whose source proves a key it does not trust gets a
  :class:`~smocast.smo.events.ConnectFailed` event that names both fingerprints.
* A secure channel's segments are :data:`~smocast.secure.envelope.OVERHEAD` bytes smaller
  (:data:`SECURE_MSS`), so a sealed datagram is as large as a plain one.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any

from smocast.core.datagram import Address
from smocast.secure.envelope import OVERHEAD
from smocast.secure.handshake import ReceiverExchange
from smocast.secure.receiver import ProtectedReceiver
from smocast.smo import events as ev
from smocast.smo.receiver_config import DEFAULT_MSS
from smocast.wire import NO_COOKIE, DecodeError, PacketType, decode
from smocast.wire.build import rst

if TYPE_CHECKING:
    from smocast.secure.allowlist import AllowList
    from smocast.secure.hold import HoldPolicy
    from smocast.secure.identity import Identity
    from smocast.secure.keyexchange import Trust
    from smocast.secure.primitives import RandomBytes
    from smocast.secure.rotation import RotationPolicy
    from smocast.secure.signing import BlockPolicy
    from smocast.secure.source import ProtectedSource
    from smocast.smo.channel import Channel
    from smocast.smo.receiver import Receiver

SECURE_MSS = DEFAULT_MSS - OVERHEAD
"""The default segment size of a secure channel: a sealed datagram is as large as a plain one."""

PLAIN_REFUSAL = "this source is secure: connect without --insecure"
"""The reason a secure source gives a receiver in the insecure mode (an RST, smaller than twice its SYN)."""
_CLEAR_TYPES = frozenset({PacketType.SYN, PacketType.RETRY, PacketType.RST})
_CONTEXT = struct.Struct("!4sIQ")
_CONTEXT_LABEL = b"tsmo"


class SmoWire:
    """TCP-SMO's handshake, as the layer must know it: SYN, RETRY and RST may travel in the
    clear before keys exist; the SYN echoing a cookie carries the hello; the SYN-ACK the reply."""

    def __init__(self, channel_id: int) -> None:
        self.channel_id = channel_id

    def clear(self, packet: bytes) -> bool:
        try:
            return decode(packet).type in _CLEAR_TYPES
        except DecodeError:
            return False

    def hello_context(self, packet: bytes) -> bytes | None:
        try:
            decoded = decode(packet)
        except DecodeError:
            return None
        if decoded.type is not PacketType.SYN or decoded.payload == NO_COOKIE:
            return None
        return self.context(decoded.connection, decoded.payload)

    def is_reply(self, packet: bytes) -> bool:
        try:
            return decode(packet).type is PacketType.SYN_ACK
        except DecodeError:
            return False

    def plain_refusal(self, data: bytes) -> bytes | None:
        try:
            packet = decode(data)
        except DecodeError:
            return None
        if packet.type is not PacketType.SYN or packet.channel != self.channel_id:
            return None
        return rst(channel=self.channel_id, connection=packet.connection, reason=PLAIN_REFUSAL)[0]

    def context(self, connection: int, cookie: bytes) -> bytes:
        """The channel id, the receiver's connection id and the cookie (which binds its address)."""
        return _CONTEXT.pack(_CONTEXT_LABEL, self.channel_id, connection) + cookie


def departure(event: Any) -> tuple[Address, bool] | None:
    """The receiver a channel event removes, and whether the group key must move on."""
    if isinstance(event, ev.ReceiverCompleted):
        return event.address, False
    if isinstance(event, ev.ReceiverDropped | ev.ReceiverLeft):
        return event.address, True
    return None


def protect_channel(
    channel: Channel,
    identity: Identity,
    randbytes: RandomBytes,
    *,
    allow: AllowList | None = None,
    blocks: BlockPolicy | None = None,
    rotation: RotationPolicy | None = None,
    now: float = 0.0,
) -> ProtectedSource[ev.SourceEvent]:
    """``channel`` behind the layer, its handshake carrying the key exchange; drive the result.

    ``allow`` admits only receivers that prove a listed key; ``blocks`` is the signing policy
    (default :data:`~smocast.secure.signing.FILE_BLOCKS`). ``randbytes`` must be the OS's
    on a real network (``keyfiles.system_random``), a seeded one in a simulation.
    """
    from smocast.secure.exchange_source import SourceExchange  # noqa: PLC0415  (a receiver loads no source side)
    from smocast.secure.signing import FILE_BLOCKS  # noqa: PLC0415
    from smocast.secure.source import ProtectedSource  # noqa: PLC0415

    exchange = SourceExchange(identity, randbytes, SmoWire(channel.config.channel_id), allow=allow)
    layer: ProtectedSource[ev.SourceEvent] = ProtectedSource(
        channel,
        identity,
        randbytes,
        blocks=FILE_BLOCKS if blocks is None else blocks,
        rotation=rotation,
        now=now,
        exchange=exchange,
        departure=departure,
    )
    channel.set_admission_gate(layer.admit)
    return layer


def _connect_failed(message: str, now: float) -> ev.ReceiverEvent:
    return ev.ConnectFailed(message, now)


def protect_receiver(
    receiver: Receiver,
    source: Address,
    randbytes: RandomBytes,
    trust: Trust,
    *,
    identity: Identity | None = None,
    hold: HoldPolicy | None = None,
) -> ProtectedReceiver[ev.ReceiverEvent]:
    """``receiver`` behind the layer: it proves ``identity`` (when a source asks for one) and accepts
    only a source key ``trust`` names; drive the result, and call ``receiver.connect`` as usual."""
    exchange = ReceiverExchange(randbytes, trust, SmoWire(receiver.config.channel_id), identity)
    return ProtectedReceiver(receiver, source, hold=hold, exchange=exchange, failure=_connect_failed)
