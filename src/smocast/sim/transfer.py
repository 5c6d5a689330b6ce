"""A simulated TCP-SMO file transfer: one source, N receivers, every byte checked by SHA-256.

``run_transfer`` builds the network of a :class:`TransferSpec`, runs it to completion (or its
time limit) and returns a :class:`TransferResult` whose ``as_json`` is what
``smocast sim transfer --json`` prints. Same spec, same result, except ``wall_time_s``.
"""

from __future__ import annotations

import hashlib
import random
import time
from dataclasses import dataclass, field, replace
from typing import Any

from smocast.core.acking import AckFrequency
from smocast.core.datagram import Address
from smocast.secure.envelope import OVERHEAD
from smocast.secure.identity import Identity
from smocast.secure.keyexchange import Trust
from smocast.secure.source import ProtectedSource
from smocast.secure.tcpsmo import protect_channel, protect_receiver
from smocast.sim.crypto_cost import CryptoCosts
from smocast.sim.digest import SharedDigest
from smocast.sim.host import CpuModel, Host
from smocast.sim.kernel import Simulator, relaxed_gc
from smocast.sim.topology import GROUP_ADDRESS, SOURCE_ADDRESS, PathSpec, StarTopology
from smocast.smo import events as ev
from smocast.smo.channel import Channel
from smocast.smo.config import DEFAULT_MSS, ChannelConfig, DropRules, ReceiverConfig
from smocast.smo.policies import CwndPolicy, WindowPolicy
from smocast.smo.receiver import Receiver

SOURCE_CHUNK_INTERVAL = 0.01  # a rate-limited source application writes about every 10 ms


@dataclass(frozen=True, slots=True)
class TransferSpec:
    """One simulated transfer. ``size`` bytes of seeded random data go to ``receivers``.

    ``stall`` receivers stop responding (hang) once they received ``stall_at`` of the file.
    ``late_joiners`` connect at ``late_join_at`` seconds (needs ``continuous``).
    ``source_rate`` (bytes/s) makes the source application write at that pace instead of
    all at once; the links, and so the ACK path, keep their own rate.
    ``congestion`` is the controller (``fixed`` keeps the window at ``max_window``, as the
    TCP-SMO prototype without congestion control did); ``max_window`` (bytes) is the send
    window, the socket send buffer of a kernel TCP. ``secure`` runs every endpoint behind the
    protection layer, its keys exchanged in the handshake (seeded: the same seed gives the
    same datagrams); ``crypto`` then charges each host the layer's CPU per datagram and per
    block (:class:`~smocast.sim.crypto_cost.CryptoCosts`; None: the layer costs no time).
    ``mss`` defaults to 1400, less the layer's 34 bytes when secure.
    """

    receivers: int = 100
    size: int = 4 << 20
    path: PathSpec = field(default_factory=PathSpec)
    policy: str = "slowest"
    cwnd_policy: str = "min"
    ack_every: int | None = None
    source_cpu_per_packet: float | None = None
    source_cpu_queue: int = 1000
    seed: int = 1
    continuous: bool = False
    stall: int = 0
    stall_at: float = 0.125
    late_joiners: int = 0
    late_join_at: float = 1.0
    source_rate: float | None = None
    progress_timeout: float = 10.0
    min_rate_fraction: float | None = DropRules().min_rate_fraction
    time_limit: float = 3600.0
    mss: int | None = None
    congestion: str = "newreno"
    max_window: int | None = None
    max_rate: float | None = None  # the source's pacing ceiling, bits/s (ChannelConfig.max_rate)
    secure: bool = False
    crypto: CryptoCosts | None = None

    @property
    def segment_size(self) -> int:
        if self.mss is not None:
            return self.mss
        return DEFAULT_MSS - OVERHEAD if self.secure else DEFAULT_MSS

    def channel_config(self) -> ChannelConfig:
        config = ChannelConfig(
            mss=self.segment_size,
            congestion_control=self.congestion,
            admission="continuous" if self.continuous else "wait",
            min_receivers=0 if self.continuous else self.receivers,
            window_policy=WindowPolicy.parse(self.policy),
            cwnd_policy=CwndPolicy.parse(self.cwnd_policy),
            ack_frequency=AckFrequency(fixed=self.ack_every),
            drop_rules=DropRules(progress_timeout=self.progress_timeout, min_rate_fraction=self.min_rate_fraction),
            max_rate=self.max_rate,
        )
        return config if self.max_window is None else replace(config, max_window=self.max_window)


@dataclass(slots=True)
class ReceiverOutcome:
    """What one receiver got."""

    index: int
    address: Address
    start: int | None = None
    received: int = 0
    completed_at: float | None = None
    quarter_at: float | None = None  # when it had received a quarter of the file
    three_quarters_at: float | None = None
    dropped: str | None = None
    identical: bool | None = None
    digest: int = 0  # a state of the run's SharedDigest


@dataclass(slots=True)
class TransferResult:
    spec: TransferSpec
    outcomes: list[ReceiverOutcome]
    sim_time: float
    wall_time: float
    channel: Channel
    source_digest: str
    deliveries: int
    source_egress_bytes: int
    source_cpu_drops: int
    drop_events: list[ev.ReceiverDropped]
    protection: dict[str, Any] | None = None
    congestion: dict[str, int] | None = None  # loss episodes and window cuts, summed over the receivers

    @property
    def completed(self) -> int:
        return sum(1 for o in self.outcomes if o.completed_at is not None)

    @property
    def dropped(self) -> int:
        """Receivers that did not complete because the source dropped them or they were reset."""
        by_source = {e.address for e in self.drop_events if e.reason is not ev.DropReason.REFUSED}
        return sum(
            1 for o in self.outcomes if o.completed_at is None and (o.dropped is not None or o.address in by_source)
        )

    @property
    def steady_goodput(self) -> float:
        """Bits/s over the middle half of the file, from the last receiver to have a quarter of it
        to the last to have three quarters: the first window (sent before any ACK) and the last
        round trip are left out, so a short run gives the rate a long one would. 0 if undefined."""
        return middle_half_rate(self.spec.size, [(o.quarter_at, o.three_quarters_at) for o in self.outcomes])

    @property
    def all_identical(self) -> bool:
        done = [o for o in self.outcomes if o.completed_at is not None]
        return bool(done) and all(o.identical for o in done)

    def as_json(self) -> dict[str, Any]:
        spec, stats = self.spec, self.channel.stats
        finish = max((o.completed_at for o in self.outcomes if o.completed_at is not None), default=None)
        return {
            "receivers": spec.receivers + spec.late_joiners,
            "completed": self.completed,
            "dropped": self.dropped,
            "all_identical": self.all_identical,
            "bytes": spec.size,
            "sim_time_s": round(self.sim_time, 6),
            "goodput_bps": round(spec.size * 8 / finish, 1) if finish else 0.0,
            "steady_goodput_bps": round(self.steady_goodput, 1),
            "segments": {
                "original": stats.original_segments,
                "repair_unicast": stats.repair_unicast,
                "repair_multicast": stats.repair_multicast,
            },
            "acks_processed": stats.acks_processed,
            "acks_per_s": round(stats.acks_processed / finish, 1) if finish else 0.0,
            "source_egress_bytes": self.source_egress_bytes,
            "source_cpu_drops": self.source_cpu_drops,
            "deliveries": self.deliveries,
            "congestion": self.congestion,
            "drop_reasons": sorted({e.reason.value for e in self.drop_events}),
            "policy": spec.policy,
            "cwnd_policy": spec.cwnd_policy,
            "loss": spec.path.loss,
            "ack_loss": spec.path.ack_loss,
            "lossy_receivers": spec.path.lossy_receivers,
            "jitter_s": spec.path.jitter,
            "lane": {"share": spec.path.lane, "delay_s": spec.path.lane_delay},
            "send_rate_bps": spec.source_rate * 8 if spec.source_rate else None,
            "ack_every": spec.ack_every,
            "seed": spec.seed,
            "secure": spec.secure,
            "crypto_costs": spec.crypto.as_json() if spec.crypto is not None else None,
            "protection": self.protection,
            "wall_time_s": round(self.wall_time, 3),
        }


class _Run:
    """The wiring of one transfer: hosts, applications and the stop condition."""

    def __init__(self, spec: TransferSpec) -> None:
        self.spec = spec
        self.rng = random.Random(spec.seed)
        self.data = random.Random(spec.seed ^ 0x5EED).randbytes(spec.size)
        self.sim = Simulator()
        self.topology = StarTopology(self.sim, spec.path, self.rng)
        self.channel = Channel(GROUP_ADDRESS, spec.channel_config(), random.Random(self.rng.getrandbits(64)))
        cpu = CpuModel(spec.source_cpu_per_packet, spec.source_cpu_queue) if spec.source_cpu_per_packet else None
        self.layer: ProtectedSource[ev.SourceEvent] | None = None
        endpoint: Any = self.channel
        if spec.secure:
            self.identity = Identity.generate(self.rng.randbytes)
            endpoint = self.layer = protect_channel(self.channel, self.identity, self.rng.randbytes)
            if spec.crypto is not None:
                cpu = spec.crypto.at_source()
        self.source = self.topology.attach_source(endpoint, self._on_source_event, cpu)
        self.outcomes: list[ReceiverOutcome] = []
        self.hosts: list[Host] = []
        self.drops: list[ev.ReceiverDropped] = []
        self.congestion = {"loss_episodes": 0, "window_cuts": 0}
        self.finished = False
        self.written = 0
        self.digests = SharedDigest()
        self._expected: dict[int, str] = {}
        total = spec.receivers + spec.late_joiners
        for index in range(total):
            self._add_receiver(index, total)

    def _add_receiver(self, index: int, total: int) -> None:
        receiver = Receiver(SOURCE_ADDRESS, ReceiverConfig(), random.Random(self.rng.getrandbits(64)))
        endpoint: Any = receiver
        cpu = None
        if self.layer is not None:
            trust = Trust(frozenset({self.identity.public.digest}))
            endpoint = protect_receiver(receiver, SOURCE_ADDRESS, self.rng.randbytes, trust)
            cpu = self.spec.crypto.at_receiver() if self.spec.crypto is not None else None
        host = self.topology.add_receiver(index, total, endpoint, self._on_receiver_event, cpu=cpu)
        outcome = host.context = ReceiverOutcome(index, host.address)
        self.outcomes.append(outcome)
        self.hosts.append(host)
        at = self.spec.late_join_at if index >= self.spec.receivers else 0.0
        self.sim.schedule(at, self._connect, host)

    def _connect(self, host: Host) -> None:
        self.topology.network.join(host)
        receiver = _core(host)
        receiver.connect(self.sim.now)
        host.pump()

    def start_source(self) -> None:
        if self.spec.source_rate is None:
            self.channel.write(self.data)
            self.channel.close()
            self.written = len(self.data)
        else:
            self.sim.schedule(0.0, self._write_chunk)
        self.source.pump()

    def _write_chunk(self, _: object) -> None:
        """Write the next whole segments of the file, and schedule the next write at the send rate."""
        rate = self.spec.source_rate
        assert rate is not None
        mss = self.spec.segment_size
        chunk = max(mss, int(rate * SOURCE_CHUNK_INTERVAL) // mss * mss)  # whole segments, none runt
        piece = self.data[self.written : self.written + chunk]
        self.channel.write(piece)
        self.written += len(piece)
        if self.written >= len(self.data):
            self.channel.close()
        else:
            self.sim.schedule(self.sim.now + chunk / rate, self._write_chunk)
        self.source.pump()

    def _on_source_event(self, host: Host, event: object, now: float) -> None:
        if isinstance(event, ev.ChannelFinished):
            self.finished = True
        elif isinstance(event, ev.ReceiverDropped):
            self.drops.append(event)
        elif isinstance(event, ev.ReceiverCompleted) and event.info is not None:
            self.congestion["loss_episodes"] += event.info.loss_episodes
            self.congestion["window_cuts"] += event.info.window_cuts

    def _on_receiver_event(self, host: Host, event: object, now: float) -> None:
        outcome: ReceiverOutcome = host.context
        if isinstance(event, ev.DataReceived):
            _core(host).consumed(len(event.data))  # the application takes it at once
            outcome.digest = self.digests.advance(outcome.digest, event.data)
            outcome.received += len(event.data)
            if outcome.quarter_at is None and 4 * outcome.received >= self.spec.size:
                outcome.quarter_at = now
            if outcome.three_quarters_at is None and 4 * outcome.received >= 3 * self.spec.size:
                outcome.three_quarters_at = now
            if outcome.index < self.spec.stall and outcome.received >= self.spec.stall_at * self.spec.size:
                host.frozen = True
        elif isinstance(event, ev.Connected):
            outcome.start = event.start
        elif isinstance(event, ev.StreamEnded):
            outcome.completed_at = now
            start = outcome.start or 0
            outcome.identical = self.digests.hexdigest(outcome.digest) == self._expected_digest(start)
        elif isinstance(event, ev.ConnectionReset | ev.ConnectFailed):
            outcome.dropped = event.reason

    def _expected_digest(self, start: int) -> str:
        cached = self._expected.get(start)
        if cached is None:
            cached = self._expected[start] = hashlib.sha256(self.data[start:]).hexdigest()
        return cached

    def run(self) -> TransferResult:
        started = time.perf_counter()
        with relaxed_gc():
            self.start_source()
            self.sim.run(until=self.spec.time_limit, stop=lambda: self.finished)
        wall = time.perf_counter() - started
        counters = self.topology.network.counters
        return TransferResult(
            self.spec,
            self.outcomes,
            self.sim.now,
            wall,
            self.channel,
            hashlib.sha256(self.data).hexdigest(),
            counters.deliveries,
            counters.source_egress_bytes,
            self.source.cpu_drops,
            self.drops,
            self._protection(),
            self.congestion,
        )

    def _protection(self) -> dict[str, Any] | None:
        """The layer's counters: the source's, and every receiver's summed."""
        if self.layer is None:
            return None
        totals: dict[str, int] = {}
        for host in self.hosts:
            endpoint: Any = host.endpoint
            for name, value in endpoint.stats.as_json().items():
                totals[name] = totals.get(name, 0) + value
        return {"source": self.layer.stats.as_json(), "receivers": totals}


def _core(host: Host) -> Receiver:
    """The receiver core of ``host`` (behind the layer in the secure mode)."""
    endpoint: Any = host.endpoint
    core = endpoint.inner if not isinstance(endpoint, Receiver) else endpoint
    assert isinstance(core, Receiver)
    return core


def middle_half_rate(size: int, marks: list[tuple[float | None, float | None]]) -> float:
    """Bits/s of the middle half of ``size`` bytes, given each receiver's (quarter, three quarters) times."""
    quarters = [q for q, t in marks if q is not None and t is not None]
    threes = [t for q, t in marks if q is not None and t is not None]
    if not quarters or max(threes) <= max(quarters):
        return 0.0
    return (size * 3 // 4 - size // 4) * 8 / (max(threes) - max(quarters))


def run_transfer(spec: TransferSpec) -> TransferResult:
    """Run one simulated transfer to completion or to ``spec.time_limit``."""
    return _Run(spec).run()
