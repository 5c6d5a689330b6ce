"""A simulated live stream with TCP-SMO and real-time receivers (TCP-RTM), against plain UDP.

The source sends one message of ``size`` bytes every ``1/rate`` seconds. Each receiver runs
in real-time mode with message framing and a playout delay, so a message is either handed
to the application by its playout deadline or given up (skipped). The same run also
counts what plain UDP multicast would have delivered: only the original transmissions that
got through. ``run_stream`` returns the figures of the paper's Figure 7.
"""

from __future__ import annotations

import itertools
import random
import statistics
import struct
import time
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np

from smocast.core.acking import AckFrequency
from smocast.sim.host import Host
from smocast.sim.kernel import Simulator, relaxed_gc
from smocast.sim.topology import GROUP_ADDRESS, SOURCE_ADDRESS, PathSpec, StarTopology
from smocast.smo import events as ev
from smocast.smo.channel import Channel
from smocast.smo.config import ChannelConfig, DropRules, ReceiverConfig
from smocast.smo.framing import LENGTH_SIZE
from smocast.smo.policies import WindowPolicy
from smocast.smo.receiver import Receiver

_STAMP = struct.Struct("!Id")  # message index, send time
ON_TIME_SLACK = 0.001  # a message handed over within 1 ms of its deadline is on time
JITTER_GAIN = 1 / 16  # RFC 3550 (A.8) interarrival jitter


@dataclass(frozen=True, slots=True)
class StreamSpec:
    """One simulated stream. ``playout_delay`` is the constant part of each receiver's delay;
    each receiver adds ``playout_rtts`` of its own round-trip times.

    ``late_joiners`` more receivers connect at ``late_join_at`` seconds; they start at the
    current sequence (continuous admission) and must pick up at the next whole message.

    ``repair_multicast_fraction`` is the source's multicast-repair threshold (a segment goes
    out again by multicast once that share of receivers reported it lost; 1.0 repairs by
    unicast only). ``congestion`` defaults to ``fixed``: the source sends at the media rate, as the TCP-SMO
    prototype of the paper did (it had no congestion control); with ``newreno`` the
    slowest paths hold the stream back, and it falls behind the media clock.
    """

    receivers: int = 100
    packets: int = 5000
    rate: float = 50.0
    size: int = 1448
    path: PathSpec = field(default_factory=lambda: PathSpec(rate=100e6, delay=0.02, delay_max=0.1))
    playout_delay: float = 0.1
    playout_rtts: float = 3.0
    policy: str | None = None  # default: buffer of two seconds of media
    congestion: str = "fixed"
    late_joiners: int = 0
    late_join_at: float = 5.0
    seed: int = 1
    time_limit: float | None = None
    repair_multicast_fraction: float = 0.05  # 1.0: every repair by unicast (unless all miss it)

    @property
    def window_policy(self) -> WindowPolicy:
        if self.policy is not None:
            return WindowPolicy.parse(self.policy)
        return WindowPolicy("buffer", buffer_bytes=max(64 * self.size, int(2 * self.rate * self.size)))

    def one_way(self, index: int) -> float:
        return self.path.receiver_delay(index, self.receivers + self.late_joiners)

    def playout_for(self, index: int) -> float:
        return self.playout_rtts * 2 * self.one_way(index) + self.playout_delay


@dataclass(slots=True)
class _Viewer:
    """One receiver's application: when each message arrived."""

    index: int
    playout: float
    one_way: float
    late: bool = False
    arrivals: dict[int, float] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    jitter: float = 0.0
    last_transit: float | None = None
    skipped_bytes: int = 0
    reset: str | None = None
    ended: bool = False


@dataclass(slots=True)
class StreamResult:
    spec: StreamSpec
    viewers: list[_Viewer]
    receivers: list[Receiver]
    channel: Channel
    downlink_sent: int
    downlink_lost: int
    source_egress_bytes: int
    sim_time: float
    wall_time: float

    def as_json(self) -> dict[str, Any]:
        spec = self.spec
        steady = [(v, r) for v, r in zip(self.viewers, self.receivers, strict=True) if not v.late]
        perceived = [1 - self._on_time(v) / spec.packets for v, _ in steady]
        udp = [max(0.0, 1 - (r.stats.segments - r.stats.repairs) / spec.packets) for _, r in steady]
        latencies = np.array([x for v in self.viewers for x in v.latencies]) * 1e3
        pct = np.percentile(latencies, [50, 90, 99, 100]) if latencies.size else [0.0] * 4
        return {
            "receivers": spec.receivers,
            "packets": spec.packets,
            "rate_pps": spec.rate,
            "size": spec.size,
            "loss": spec.path.loss,
            "perceived_loss": round(statistics.fmean(perceived), 6),
            "network_loss": round(self.downlink_lost / self.downlink_sent, 6) if self.downlink_sent else 0.0,
            "udp_perceived_loss": round(statistics.fmean(udp), 6),
            "skipped_bytes": sum(v.skipped_bytes for v in self.viewers),
            "latency_ms": {
                "p50": round(float(pct[0]), 3),
                "p90": round(float(pct[1]), 3),
                "p99": round(float(pct[2]), 3),
                "max": round(float(pct[3]), 3),
            },
            "jitter_ms": round(statistics.fmean(v.jitter for v in self.viewers) * 1e3, 3),
            "playout_delay_s": {
                "min": round(min(v.playout for v in self.viewers), 4),
                "max": round(max(v.playout for v in self.viewers), 4),
            },
            "resets": sum(1 for v in self.viewers if v.reset is not None),
            "late_joiners": [self._late_report(v) for v in self.viewers if v.late],
            "repairs": {"unicast": self.channel.stats.repair_unicast, "multicast": self.channel.stats.repair_multicast},
            "repair_multicast_fraction": spec.repair_multicast_fraction,
            "source_egress_bytes": self.source_egress_bytes,
            "policy": str(spec.window_policy),
            "seed": spec.seed,
            "sim_time_s": round(self.sim_time, 3),
            "wall_time_s": round(self.wall_time, 3),
        }

    def _late_report(self, viewer: _Viewer) -> dict[str, Any]:
        first = min(viewer.arrivals, default=self.spec.packets)
        expected = self.spec.packets - first
        got = list(viewer.arrivals)  # in the order the application received them
        return {
            "first_message": first,
            "messages": len(got),
            "perceived_loss": round(1 - self._on_time(viewer) / expected, 6) if expected else 0.0,
            "in_order": all(b > a for a, b in itertools.pairwise(got)),
        }

    def _on_time(self, viewer: _Viewer) -> int:
        return sum(1 for lat in viewer.latencies if lat <= viewer.one_way + viewer.playout + ON_TIME_SLACK)


class _Run:
    def __init__(self, spec: StreamSpec) -> None:
        self.spec = spec
        self.rng = random.Random(spec.seed)
        self.sim = Simulator()
        self.topology = StarTopology(self.sim, spec.path, self.rng)
        config = ChannelConfig(
            mss=max(spec.size, 536),
            admission="continuous" if spec.late_joiners else "wait",
            min_receivers=spec.receivers,
            window_policy=spec.window_policy,
            ack_frequency=AckFrequency(),
            congestion_control=spec.congestion,
            repair_multicast_fraction=spec.repair_multicast_fraction,
            drop_rules=DropRules(progress_timeout=30.0),
        )
        self.channel = Channel(GROUP_ADDRESS, config, random.Random(self.rng.getrandbits(64)))
        self.source = self.topology.attach_source(self.channel, self._on_source_event)
        self.viewers: list[_Viewer] = []
        self.receivers: list[Receiver] = []
        self.sent = 0
        self.joined = 0
        self.started = False
        self.finished = False
        for index in range(spec.receivers + spec.late_joiners):
            self._add_receiver(index)

    def _add_receiver(self, index: int) -> None:
        spec = self.spec
        late = index >= spec.receivers
        playout = spec.playout_for(index)
        config = ReceiverConfig(realtime=True, framing=True, playout_delay=playout)
        receiver = Receiver(SOURCE_ADDRESS, config, random.Random(self.rng.getrandbits(64)))
        host = self.topology.add_receiver(index, spec.receivers + spec.late_joiners, receiver, self._on_viewer_event)
        host.context = _Viewer(index, playout, spec.one_way(index), late)
        self.viewers.append(host.context)
        self.receivers.append(receiver)
        self.sim.schedule(spec.late_join_at if late else 0.0, self._connect, host)

    def _connect(self, host: Host) -> None:
        self.topology.network.join(host)
        receiver = host.endpoint
        assert isinstance(receiver, Receiver)
        receiver.connect(self.sim.now)
        host.pump()

    def _on_source_event(self, host: Host, event: object, now: float) -> None:
        if isinstance(event, ev.ReceiverJoined):
            self.joined += 1
            if self.joined == self.spec.receivers and not self.started:
                self.started = True  # everyone from the start is in: the stream begins
                self.sim.schedule(now, self._send_next)
        elif isinstance(event, ev.ChannelFinished):
            self.finished = True

    def _send_next(self, _: object) -> None:
        body = _STAMP.pack(self.sent, self.sim.now).ljust(self.spec.size - LENGTH_SIZE, b"\0")
        self.channel.send_message(body)
        self.sent += 1
        if self.sent >= self.spec.packets:
            self.channel.close()
        else:
            self.sim.schedule(self.sim.now + 1 / self.spec.rate, self._send_next)
        self.source.pump()

    def _on_viewer_event(self, host: Host, event: object, now: float) -> None:
        viewer: _Viewer = host.context
        if isinstance(event, ev.MessageReceived):
            cast(Receiver, host.endpoint).consumed(len(event.data))  # the application takes it at once
            index, sent_at = _STAMP.unpack_from(event.data)
            if index in viewer.arrivals:
                return
            viewer.arrivals[index] = now
            transit = now - sent_at
            viewer.latencies.append(transit)
            if viewer.last_transit is not None:
                viewer.jitter += (abs(transit - viewer.last_transit) - viewer.jitter) * JITTER_GAIN
            viewer.last_transit = transit
        elif isinstance(event, ev.Skipped):
            viewer.skipped_bytes += event.end - event.start
        elif isinstance(event, ev.StreamEnded):
            viewer.ended = True
        elif isinstance(event, ev.ConnectionReset | ev.ConnectFailed):
            viewer.reset = event.reason

    def run(self) -> StreamResult:
        spec = self.spec
        limit = spec.time_limit or (spec.packets / spec.rate + 60.0)
        started = time.perf_counter()
        with relaxed_gc():
            self.sim.run(until=limit, stop=lambda: self.finished)
        wall = time.perf_counter() - started
        links = [a.downlink for a in self.topology.network.attachments() if a.host is not self.source]
        return StreamResult(
            spec,
            self.viewers,
            self.receivers,
            self.channel,
            sum(link.sent_packets for link in links),
            sum(link.drops_loss for link in links),
            self.topology.network.counters.source_egress_bytes,
            self.sim.now,
            wall,
        )


def run_stream(spec: StreamSpec) -> StreamResult:
    """Run one simulated live stream to its end (or its time limit)."""
    return _Run(spec).run()
