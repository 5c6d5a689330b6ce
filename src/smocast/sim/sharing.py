"""TCP-SMO sharing a bottleneck with TCP flows: each flow's rate over time, and Jain's index.

One TCP-SMO channel to ``receivers`` receivers and ``tcp_flows`` TCP flows share a drop-tail
bottleneck (:class:`~smocast.sim.dumbbell.Dumbbell`); every receiver sits behind it, as at a
campus tail circuit. A TCP flow is a TCP-SMO channel with a single receiver: the paper's premise
is that TCP-SMO is N TCP connections, so with one receiver it is one (NewReno, SACK, the same
timers). Every source always has data to send. The result gives each flow's delivered rate per
``interval`` (the TCP-SMO channel's is the mean over its receivers) and Jain's fairness index
of those rates, ``(Σx)² / (n·Σx²)``: 1 when all flows get the same share, 1/n when one takes all.
"""

from __future__ import annotations

import random
import statistics
from dataclasses import dataclass, field
from typing import Any, cast

from smocast.core.datagram import Address
from smocast.sim.dumbbell import Dumbbell
from smocast.sim.host import Host
from smocast.sim.kernel import Simulator, relaxed_gc
from smocast.sim.link import Link
from smocast.smo import events as ev
from smocast.smo.channel import Channel
from smocast.smo.config import ChannelConfig, ReceiverConfig
from smocast.smo.policies import CwndPolicy
from smocast.smo.receiver import Receiver

TOP_UP = 256 * 1024  # each source application keeps at least this much queued
TOP_UP_INTERVAL = 0.01
SMOCAST = "smocast"


@dataclass(frozen=True, slots=True)
class SharingSpec:
    """One run: ``receivers`` TCP-SMO receivers and ``tcp_flows`` TCP flows on one bottleneck."""

    receivers: int = 10
    tcp_flows: int = 1
    cwnd_policy: str = "min"
    bottleneck_bps: float = 10e6
    queue_bytes: int = 64 * 1024
    delay: float = 0.01  # one way, every receiver: a 20 ms round trip plus queueing
    duration: float = 30.0
    interval: float = 1.0
    warmup: float = 5.0
    mss: int = 1400
    seed: int = 1

    def flow_names(self) -> list[str]:
        return [SMOCAST] + [f"tcp{k + 1}" for k in range(self.tcp_flows)]


def jain(rates: list[float]) -> float:
    """Jain's fairness index of ``rates``: 1 when equal, 1/n when one flow has everything."""
    total = sum(rates)
    squares = sum(x * x for x in rates)
    return total * total / (len(rates) * squares) if squares else 1.0


@dataclass(slots=True)
class _Flow:
    name: str
    channel: Channel
    source: Host
    delivered: list[list[int]] = field(default_factory=list)  # per receiver, bytes per interval


class _Run:
    def __init__(self, spec: SharingSpec) -> None:
        CwndPolicy.parse(spec.cwnd_policy)
        self.spec = spec
        self.rng = random.Random(spec.seed)
        self.sim = Simulator()
        bottleneck = Link(
            spec.bottleneck_bps, 0.0, random.Random(self.rng.getrandbits(64)), queue_bytes=spec.queue_bytes
        )
        self.net = Dumbbell(self.sim, bottleneck)
        self.bins = int(spec.duration / spec.interval) + 1
        self.flows = [self._flow(i, name) for i, name in enumerate(spec.flow_names())]

    def _flow(self, index: int, name: str) -> _Flow:
        spec = self.spec
        count = spec.receivers if name == SMOCAST else 1
        group: Address = (f"232.9.0.{index + 1}", 5000)
        source_address: Address = (f"10.9.0.{index + 1}", 5000)
        config = ChannelConfig(
            mss=spec.mss,
            min_receivers=count,
            cwnd_policy=CwndPolicy.parse(spec.cwnd_policy if name == SMOCAST else "min"),
        )
        channel = Channel(group, config, random.Random(self.rng.getrandbits(64)))
        source = Host(self.sim, self.net, source_address, channel)
        self.net.add_source(source)
        flow = _Flow(name, channel, source)
        for r in range(count):
            receiver = Receiver(source_address, ReceiverConfig(), random.Random(self.rng.getrandbits(64)))
            host = Host(self.sim, self.net, (f"10.{10 + index}.{r >> 8}.{r & 0xFF}", 40000), receiver, self._on_data)
            host.context = (flow, len(flow.delivered))
            flow.delivered.append([0] * self.bins)
            self.net.add_receiver(host, spec.delay, source_address, group)
            self.sim.schedule(0.0, self._connect, host)
        self.sim.schedule(0.0, self._top_up, flow)
        return flow

    def _connect(self, host: Host) -> None:
        receiver = host.endpoint
        assert isinstance(receiver, Receiver)
        receiver.connect(self.sim.now)
        host.pump()

    def _top_up(self, flow: _Flow) -> None:
        if flow.channel.pending_bytes < TOP_UP:
            flow.channel.write(bytes(TOP_UP))
            flow.source.pump()
        self.sim.schedule(self.sim.now + TOP_UP_INTERVAL, self._top_up, flow)

    def _on_data(self, host: Host, event: object, now: float) -> None:
        if isinstance(event, ev.DataReceived):
            cast(Receiver, host.endpoint).consumed(len(event.data))  # the application takes it at once
            flow, index = host.context
            flow.delivered[index][min(self.bins - 1, int(now / self.spec.interval))] += len(event.data)

    def run(self) -> SharingResult:
        with relaxed_gc():
            self.sim.run(until=self.spec.duration)
        return SharingResult(self.spec, self.flows, self.net)


@dataclass
class SharingResult:
    spec: SharingSpec
    flows: list[_Flow]
    network: Dumbbell

    def rates(self) -> dict[str, list[float]]:
        """Bits/s per flow per whole interval (the TCP-SMO channel's: the mean over its receivers)."""
        spec = self.spec
        whole = int(spec.duration / spec.interval)
        return {
            flow.name: [
                statistics.fmean(receiver[i] for receiver in flow.delivered) * 8 / spec.interval for i in range(whole)
            ]
            for flow in self.flows
        }

    def as_json(self) -> dict[str, Any]:
        spec = self.spec
        rates = self.rates()
        names = list(rates)
        times = [round((i + 1) * spec.interval, 3) for i in range(len(rates[names[0]]))]
        index = [jain([rates[n][i] for n in names]) for i in range(len(times))]
        steady = [i for i, t in enumerate(times) if t > spec.warmup]
        fair = spec.bottleneck_bps / len(names)
        mean_rate = {n: statistics.fmean(rates[n][i] for i in steady) for n in names}
        return {
            "receivers": spec.receivers,
            "tcp_flows": spec.tcp_flows,
            "cwnd_policy": spec.cwnd_policy,
            "bottleneck_bps": spec.bottleneck_bps,
            "fair_share_bps": fair,
            "times_s": times,
            "rates_bps": {n: [round(x, 1) for x in rates[n]] for n in names},
            "jain": [round(x, 4) for x in index],
            "steady": {
                "from_s": spec.warmup,
                "jain_mean": round(statistics.fmean(index[i] for i in steady), 4),
                "share_of_fair": {n: round(mean_rate[n] / fair, 3) for n in names},
                "utilisation": round(sum(mean_rate.values()) / spec.bottleneck_bps, 3),
            },
            "bottleneck_drops": {flow.name: self.network.flows[flow.source.address].dropped for flow in self.flows},
            "seed": spec.seed,
        }


def run_sharing(spec: SharingSpec) -> SharingResult:
    """Run the shared bottleneck for ``spec.duration`` simulated seconds."""
    return _Run(spec).run()
