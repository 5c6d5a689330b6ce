"""Building the simulated network for a run: one source, N receivers, links and loss."""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import partial

from smocast.core.datagram import Address
from smocast.sim.host import CpuModel, EventHandler, Host
from smocast.sim.kernel import Simulator
from smocast.sim.link import Link
from smocast.sim.loss import LossModel, NoLoss, make_loss
from smocast.sim.network import Network
from smocast.smo.receiver import Receiver

SOURCE_ADDRESS: Address = ("10.0.0.1", 5000)
GROUP_ADDRESS: Address = ("232.1.1.1", 5000)
DEFAULT_QUEUE_BYTES = 512 * 1024


@dataclass(frozen=True, slots=True)
class PathSpec:
    """The links of one run. Rates in bit/s (None: unlimited), delays in seconds one-way.

    ``delay`` is each receiver's one-way delay; with ``delay_max`` set, the receivers'
    delays are spread evenly from ``delay`` to ``delay_max``. ``loss`` is on the data path
    (each receiver's downlink, independent per receiver), ``ack_loss`` on each receiver's
    uplink. ``shared_loss`` is on each subtree link in front of ``subtree_size``
    receivers: a packet lost there is lost to all of them (correlated loss).
    ``burst`` makes the loss bursty (Gilbert-Elliott, mean burst length in packets); its chain
    also takes a step per ``burst_slot`` seconds of idle time (about the packet spacing).
    ``lossy_receivers`` K limits ``loss`` to K receivers spread evenly over the indices (so
    over the delays too); the others lose nothing on their downlinks. ``jitter`` delays each
    packet on a receiver's downlink by a further amount drawn uniformly from ``[0, jitter)``,
    so data sent closer together than that may arrive out of order (the ACKs are not delayed).
    ``lane`` is the share of data packets on a receiver's downlink that take a lane
    ``lane_delay`` slower (later data overtakes them by that long).
    """

    rate: float | None = 100e6
    delay: float = 0.005
    delay_max: float | None = None
    loss: float = 0.0
    ack_loss: float = 0.0
    burst: float | None = None
    shared_loss: float = 0.0
    subtree_size: int = 0
    queue_bytes: int = DEFAULT_QUEUE_BYTES
    lossy_receivers: int | None = None
    burst_slot: float = 0.001
    jitter: float = 0.0
    lane: float = 0.0
    lane_delay: float = 0.0

    def receiver_delay(self, index: int, count: int) -> float:
        if self.delay_max is None or count <= 1:
            return self.delay
        return self.delay + (self.delay_max - self.delay) * index / (count - 1)

    def is_lossy(self, index: int, count: int) -> bool:
        """Whether receiver ``index`` of ``count`` suffers ``loss`` (all do, unless ``lossy_receivers``)."""
        k = self.lossy_receivers
        if k is None:
            return True
        return (index + 1) * k // count != index * k // count


def receiver_address(index: int) -> Address:
    """A unique synthetic address for receiver ``index`` (0-based)."""
    return (f"10.{1 + (index >> 16) & 0xFF}.{(index >> 8) & 0xFF}.{index & 0xFF}", 40000)


class StarTopology:
    """A network with its source attached; add receivers with :meth:`add_receiver`."""

    def __init__(self, sim: Simulator, path: PathSpec, rng: random.Random) -> None:
        self.sim = sim
        self.path = path
        self.rng = rng
        self.network = Network(sim, GROUP_ADDRESS)
        self._subtree_links: dict[int, Link] = {}

    def attach_source(
        self,
        endpoint: object,
        on_event: EventHandler | None = None,
        cpu: CpuModel | None = None,
        address: Address = SOURCE_ADDRESS,
    ) -> Host:
        p = self.path
        host = Host(self.sim, self.network, address, endpoint, on_event, cpu)  # type: ignore[arg-type]
        self.network.attach_source(
            host,
            downlink=Link(p.rate, 0.0, self.rng, queue_bytes=p.queue_bytes * 4),
            uplink=Link(p.rate, 0.0, self.rng, queue_bytes=p.queue_bytes),
        )
        return host

    def add_receiver(
        self,
        index: int,
        count: int,
        endpoint: object,
        on_event: EventHandler | None = None,
        address: Address | None = None,
        cpu: CpuModel | None = None,
    ) -> Host:
        """Attach receiver ``index`` of ``count``; it is not yet in the group (call ``join``).
        ``cpu`` makes its input (and output, if the model says so) take time."""
        p = self.path
        subtree = index // p.subtree_size if p.subtree_size > 0 else 0
        if subtree not in self._subtree_links:
            link = Link(None, 0.0, self.rng, loss=make_loss(p.shared_loss, p.burst, p.burst_slot))
            self._subtree_links[subtree] = link
            self.network.add_subtree(subtree, link)
        delay = p.receiver_delay(index, count)
        host = Host(self.sim, self.network, address or receiver_address(index), endpoint, on_event, cpu)  # type: ignore[arg-type]
        if isinstance(endpoint, Receiver):
            host.group_input = partial(endpoint.receive_packet, via_group=True)
        self.network.attach(
            host,
            downlink=Link(
                p.rate,
                delay,
                self.rng,
                self._downlink_loss(index, count),
                p.queue_bytes,
                p.jitter,
                (p.lane, p.lane_delay),
            ),
            uplink=Link(
                p.rate, delay, self.rng, loss=make_loss(p.ack_loss, p.burst, p.burst_slot), queue_bytes=p.queue_bytes
            ),
            subtree=subtree,
        )
        return host

    def _downlink_loss(self, index: int, count: int) -> LossModel:
        p = self.path
        return make_loss(p.loss, p.burst, p.burst_slot) if p.is_lossy(index, count) else NoLoss()
