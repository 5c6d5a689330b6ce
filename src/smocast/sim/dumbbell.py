"""A network where several sources share one bottleneck link toward their receivers.

Forward path (any source to its receivers)::

    bottleneck (shared: rate, drop-tail queue) -> receiver's own path (one-way delay)

A multicast datagram crosses the bottleneck once and then reaches every member of its group,
so a drop at the bottleneck is lost to all of them (as at a shared tail circuit). Reverse
path: a receiver's packets reach its source after the receiver's one-way delay, without
queueing (the bottleneck is one-way, as a congested downstream link is). The sources send at
``sim.now`` in event order, so the bottleneck sees them in arrival order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from smocast.core.datagram import Address, Datagram
from smocast.sim.host import Host
from smocast.sim.kernel import Simulator
from smocast.sim.link import Link
from smocast.sim.network import Network


@dataclass(slots=True)
class _Receiver:
    host: Host
    delay: float


@dataclass(slots=True)
class FlowCounters:
    """What one source put through the bottleneck, and what it lost there."""

    sent_bytes: int = 0
    dropped: int = 0
    receivers: list[Address] = field(default_factory=list)


class Dumbbell(Network):
    """Sources on one side of ``bottleneck``, receivers (each with its own delay) on the other."""

    def __init__(self, sim: Simulator, bottleneck: Link) -> None:
        super().__init__(sim, ("0.0.0.0", 0))
        self.bottleneck = bottleneck
        self._sources: dict[Address, Host] = {}
        self._receivers: dict[Address, _Receiver] = {}
        self._members: dict[Address, list[_Receiver]] = {}
        self.flows: dict[Address, FlowCounters] = {}

    def add_source(self, host: Host) -> None:
        self._sources[host.address] = host
        self.flows[host.address] = FlowCounters()

    def add_receiver(self, host: Host, delay: float, source: Address, group: Address) -> None:
        """Attach ``host`` behind the bottleneck, ``delay`` seconds from it, in ``group`` of ``source``."""
        receiver = _Receiver(host, delay)
        self._receivers[host.address] = receiver
        self._members.setdefault(group, []).append(receiver)
        self.flows[source].receivers.append(host.address)

    def send(self, datagram: Datagram[Any], sender: Host, now: float) -> None:
        if sender.address in self._sources:
            self._forward(datagram, sender, now)
        else:
            self._reverse(datagram, sender, now)

    def _forward(self, datagram: Datagram[Any], sender: Host, now: float) -> None:
        size = len(datagram.data)
        flow = self.flows[sender.address]
        flow.sent_bytes += size
        through = self.bottleneck.transmit(size, now)
        if through is None:
            flow.dropped += 1
            return
        if datagram.multicast:
            targets = self._members.get(datagram.destination, [])
        else:
            target = self._receivers.get(datagram.destination)
            targets = [target] if target is not None else []
        batches: dict[float, list[Host]] = {}
        for receiver in targets:
            batches.setdefault(through + receiver.delay, []).append(receiver.host)
        for at, hosts in batches.items():
            self.counters.deliveries += len(hosts)
            self.sim.schedule(at, self._arrive, (datagram, sender.address, hosts))

    def _reverse(self, datagram: Datagram[Any], sender: Host, now: float) -> None:
        receiver = self._receivers.get(sender.address)
        source = self._sources.get(datagram.destination)
        if receiver is None or source is None:
            return
        self.counters.reverse_packets += 1
        self.sim.schedule(now + receiver.delay, self._arrive, (datagram, sender.address, [source]))
