"""Frozen settings of a TCP-SMO channel (the source) and of a receiver.

The receiver's (:class:`ReceiverConfig`, and the sizes both sides share) live in
:mod:`smocast.smo.receiver_config`, so a receiver loads neither the channel's settings nor its
policies and congestion controllers; they are importable from here as well.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from smocast.core.acking import AckFrequency
from smocast.core.congestion import controller_factory
from smocast.core.errors import ConfigError
from smocast.core.rtt import RtoSettings
from smocast.smo.policies import CwndPolicy, RttPolicy, WindowPolicy
from smocast.smo.receiver_config import DEFAULT_MSS, DEFAULT_SILENT_HEARTBEATS, MIB, ReceiverConfig

IPV4_UDP_OVERHEAD = 28
"""Bytes of an IPv4 and a UDP header (IPv6 and UDP: 48)."""

__all__ = ["DEFAULT_MSS", "DEFAULT_SILENT_HEARTBEATS", "MIB", "ChannelConfig", "DropRules", "ReceiverConfig"]


@dataclass(frozen=True, slots=True)
class DropRules:
    """When the source dis-associates (RSTs and removes) a receiver. ``None`` turns a rule off.

    * ``rtt_factor``: its SRTT exceeds ``rtt_factor`` times the median SRTT of the others,
      and exceeds ``rtt_floor`` seconds (so LAN jitter never triggers it).
    * ``cwnd_floor``: its cwnd stays below this many bytes for ``cwnd_floor_time`` seconds.
    * ``progress_timeout``: it has data outstanding and neither acknowledges anything new nor
      answers a retransmission probe for this long (retransmission back-off stops at an
      eighth of it, so a lossy receiver is probed at least eight times first).
    * ``min_rate_fraction``: over each ``progress_timeout``, it acknowledged less than this
      fraction of the channel's rate (the median receiver's), counting only the time it had
      data outstanding: it is too slow. Under ``slowest`` it is dropped (``too-slow``);
      under ``quorum`` and ``buffer`` it stops pacing the channel. Needs ``progress_timeout``.
    * ``handshake_timeout``: it sent a SYN but never completed the handshake.
    """

    rtt_factor: float | None = 10.0
    rtt_floor: float = 0.25
    cwnd_floor: int | None = None
    cwnd_floor_time: float = 5.0
    progress_timeout: float | None = 10.0
    min_rate_fraction: float | None = 0.05
    handshake_timeout: float = 10.0

    def __post_init__(self) -> None:
        if self.rtt_factor is not None and self.rtt_factor <= 1:
            raise ConfigError(f"rtt_factor must exceed 1, got {self.rtt_factor}")
        if self.progress_timeout is not None and self.progress_timeout <= 0:
            raise ConfigError(f"progress_timeout must be positive, got {self.progress_timeout}")
        if self.min_rate_fraction is not None and not 0 < self.min_rate_fraction < 1:
            raise ConfigError(f"min_rate_fraction must be in (0, 1), got {self.min_rate_fraction}")


@dataclass(frozen=True, slots=True)
class ChannelConfig:
    """Everything a :class:`~smocast.smo.channel.Channel` needs besides its addresses.

    ``admission``: ``wait`` holds all data until ``min_receivers`` have joined (reliable
    file mode; later joiners are refused, except a receiver resuming at an offset);
    ``continuous`` sends at once and a late joiner starts at the current sequence.

    ``keepalive``: after this long without multicasting anything, the source multicasts an
    empty DATA packet at its current sequence: receivers learn it is alive, and one that
    lost the tail of the data learns so and reports it.

    ``congestion_control``: each receiver's controller, by its registered name:
    ``newreno`` (the default; the channel follows the smallest window, strictly TCP-fair),
    ``lossfilter`` (NewReno that halves only for losses that come with RTT growth: a lossy
    but uncongested LAN keeps its rate; see docs/design.md for where it stays TCP-fair),
    or ``fixed`` (a constant ``max_window``, no congestion control).

    ``pmtu_ceiling``: path MTU discovery (:mod:`smocast.smo.pmtu`): the largest IP MTU to probe
    each receiver's path for (the runtime gives the interface's); None: no probing, every
    segment is ``mss``. ``pmtu_overhead`` is what a smocast packet carries below it on the wire
    (IP and UDP headers, and the secure layer's envelope): a probe of IP size ``m`` is a smocast
    packet of ``m - pmtu_overhead`` bytes.

    ``max_rate``: a ceiling, in bits per second, on what the source sends (datagram payloads,
    smocast header included): new data is paced under it, and each repair, sent at once, counts
    against it, so new data waits for the repairs. The catch-up of a receiver that resumes or
    joins late does not count. Congestion control still decides below it; ``None`` leaves the
    rate to congestion control alone, and repairs then do not slow new data.

    Session relay (receivers' messages up their connections): a message longer than
    ``session_message_limit`` bytes gets its receiver dropped (``message-too-large``); all
    receivers' up-streams together hold at most ``session_limit`` bytes at the source (what
    waits out of order and the messages being assembled), and a segment beyond it is
    refused until there is room.
    """

    channel_id: int = 1
    mss: int = DEFAULT_MSS
    admission: Literal["wait", "continuous"] = "wait"
    min_receivers: int = 1
    window_policy: WindowPolicy = field(default_factory=WindowPolicy)
    cwnd_policy: CwndPolicy = field(default_factory=CwndPolicy)
    rtt_policy: RttPolicy = field(default_factory=RttPolicy)
    repair_multicast_fraction: float = 0.05
    drop_rules: DropRules = field(default_factory=DropRules)
    congestion_control: str = "newreno"
    max_window: int = 4 * MIB
    retain_limit: int = 64 * MIB
    rto: RtoSettings = field(default_factory=RtoSettings)
    ack_frequency: AckFrequency = field(default_factory=AckFrequency)
    pacing: bool = True
    pacing_burst_segments: int = 10
    sweep_interval: float = 0.2
    keepalive: float | None = 1.0
    max_rate: float | None = None
    session_message_limit: int = MIB
    session_limit: int = 8 * MIB
    pmtu_ceiling: int | None = None
    pmtu_overhead: int = IPV4_UDP_OVERHEAD

    def __post_init__(self) -> None:
        if self.max_rate is not None and not self.max_rate > 0:
            raise ConfigError(f"max_rate must be a positive rate in bits per second, got {self.max_rate}")
        if not 64 <= self.mss <= 65000:
            raise ConfigError(f"mss must be in 64..65000 bytes, got {self.mss}")
        if self.admission not in ("wait", "continuous"):
            raise ConfigError(f"admission must be 'wait' or 'continuous', got {self.admission!r}")
        if self.min_receivers < 0:
            raise ConfigError(f"min_receivers must be >= 0, got {self.min_receivers}")
        if not 0 < self.repair_multicast_fraction <= 1:
            raise ConfigError(f"repair_multicast_fraction must be in (0, 1], got {self.repair_multicast_fraction}")
        controller_factory(self.congestion_control)  # an unknown name fails here, before any receiver joins
        if self.max_window < 2 * self.mss or self.retain_limit < self.max_window:
            raise ConfigError("need max_window >= 2 * mss and retain_limit >= max_window")
        if not 0 < self.session_message_limit <= self.session_limit:
            raise ConfigError("need 0 < session_message_limit <= session_limit")
        if self.pmtu_ceiling is not None and not 0 < self.pmtu_ceiling <= 65535:
            raise ConfigError(f"pmtu_ceiling must be an IP MTU in 1..65535, got {self.pmtu_ceiling}")
        if not 0 <= self.pmtu_overhead < 1024:
            raise ConfigError(f"pmtu_overhead must be in 0..1023 bytes, got {self.pmtu_overhead}")
        if not 0 <= self.channel_id < 1 << 32:
            raise ConfigError(f"channel_id must fit 32 bits, got {self.channel_id}")
