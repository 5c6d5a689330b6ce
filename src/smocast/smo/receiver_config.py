"""Frozen settings of a TCP-SMO receiver, and the sizes both ends share.

:mod:`smocast.smo.config` re-exports them beside the channel's settings; the receive path
imports them from here, so a receiver never loads the source's policies.
"""

from __future__ import annotations

from dataclasses import dataclass

from smocast.core.acking import DEFAULT_ACK_DELAY
from smocast.core.errors import ConfigError

DEFAULT_MSS = 1400  # payload bytes; 1400 + 16 data header + 28 UDP/IP fits a 1500-byte MTU with room
MIB = 1 << 20
DEFAULT_SILENT_HEARTBEATS = (
    8  # a receiver gives up a source silent for this many heartbeat intervals (bursty loss can take four)
)


@dataclass(frozen=True, slots=True)
class ReceiverConfig:
    """Settings of a :class:`~smocast.smo.receiver.Receiver`.

    ``receive_buffer`` bounds the bytes held out of order plus those delivered but not yet
    taken by the application; the advertised window is what remains of it.
    ``resume_from`` asks the source to start this receiver at that stream offset.

    Real-time mode (TCP-RTM): with ``realtime``, a hole no longer blocks the stream for
    ever. :meth:`Receiver.skip_hole` skips it at once (the application wants data now), and
    with ``playout_delay`` the receiver skips it by itself when the data after it is due
    for playout: ``playout_delay`` seconds after it would have arrived on the fastest path
    seen so far. With ``framing`` the stream carries length-prefixed messages
    (``Channel.send_message``) and the receiver reports whole messages; a skip always lands
    on a message start.

    A dead source: the source multicasts a heartbeat when it has sent nothing for a while,
    and announces how often in its SYN-ACK. When nothing at all is heard from it for
    ``silent_heartbeats`` of those intervals (at least a second), the receiver gives up with
    ``ConnectionReset`` (code ``SOURCE_SILENT``) and tells the source with an RST, so the
    application can reconnect elsewhere with ``resume_from``. ``source_timeout``, when set,
    is the silence allowed instead, in seconds; with neither (or a source that sends no
    heartbeat) the receiver waits for ever.
    """

    channel_id: int = 1
    receive_buffer: int = 4 * MIB
    ack_delay: float = DEFAULT_ACK_DELAY
    connect_timeout: float = 10.0
    syn_interval: float = 0.5
    max_early_segments: int = 256
    resume_from: int | None = None
    realtime: bool = False
    playout_delay: float | None = None
    framing: bool = False
    source_timeout: float | None = None
    silent_heartbeats: int | None = DEFAULT_SILENT_HEARTBEATS

    def __post_init__(self) -> None:
        if self.source_timeout is not None and self.source_timeout <= 0:
            raise ConfigError(f"source_timeout must be positive, got {self.source_timeout}")
        if self.silent_heartbeats is not None and self.silent_heartbeats < 2:
            raise ConfigError(f"silent_heartbeats must be at least 2, got {self.silent_heartbeats}")
        if self.playout_delay is not None and (not self.realtime or self.playout_delay < 0):
            raise ConfigError("playout_delay needs realtime mode and must be >= 0")
        if self.receive_buffer < 4096:
            raise ConfigError(f"receive_buffer must be at least 4096 bytes, got {self.receive_buffer}")
        if self.connect_timeout <= 0 or self.syn_interval <= 0:
            raise ConfigError("connect_timeout and syn_interval must be positive")
