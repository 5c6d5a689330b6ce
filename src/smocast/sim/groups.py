"""A network with many multicast groups and loss by packet kind, for the protocol classes.

:class:`~smocast.sim.network.Network` has one group and puts loss on links. The classes need
more: a tree's local groups (a leader multicasting to its B children only, children multicasting
NAKs to their siblings), a ring's token multicast that reaches the source too, and loss that
can follow the analytic model's assumptions exactly: data lost independently with probability
p at each receiver, control packets (ACKs, NAKs, tokens, session messages, polls) never lost.

Every host has one one-way delay, used on both its up and down path; a datagram from a to b
arrives after ``delay(a) + delay(b)``; there is no bandwidth limit, as in the model. A datagram
sent to a group reaches every member except its sender. Arrivals at the same instant share one
kernel event, and every receiver gets the same decoded packet object (no copies, no decoding).

Loss (:class:`LossSpec`): a data packet (``packet.is_data``) is lost at each destination with
probability ``data``; a control packet with probability ``control``. With ``correlation`` c > 0,
a share of the data loss moves onto shared links in front of ``subtree`` consecutive receivers:
a packet from the source crosses each such link once and is lost there with probability c·p,
for all the receivers behind it, and then independently at each receiver, so that the loss
each receiver sees is still p. Packets from receivers (local repairs) see the per-receiver part only.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from smocast.core.datagram import Address, Datagram
from smocast.core.errors import ConfigError
from smocast.sim.host import Host
from smocast.sim.kernel import Simulator
from smocast.sim.network import Network


@dataclass(frozen=True, slots=True)
class LossSpec:
    """Loss by packet kind; see the module docstring."""

    data: float = 0.0
    control: float = 0.0
    correlation: float = 0.0
    subtree: int = 10

    def __post_init__(self) -> None:
        for name in ("data", "control"):
            value = getattr(self, name)
            if not 0.0 <= value < 1.0:
                raise ConfigError(f"{name} loss must be in [0, 1), got {value}")
        if not 0.0 <= self.correlation <= 1.0:
            raise ConfigError(f"correlation must be in [0, 1], got {self.correlation}")
        if self.subtree < 1:
            raise ConfigError(f"subtree must be >= 1, got {self.subtree}")

    @property
    def shared(self) -> float:
        """Loss on a shared subtree link."""
        return self.correlation * self.data

    @property
    def individual(self) -> float:
        """Loss on a receiver's own link, so that 1 − (1 − shared)(1 − individual) = data."""
        return 1.0 - (1.0 - self.data) / (1.0 - self.shared)


class _Node:
    __slots__ = ("delay", "host", "is_source", "subtree")

    def __init__(self, host: Host, delay: float, subtree: int, is_source: bool) -> None:
        self.host = host
        self.delay = delay
        self.subtree = subtree
        self.is_source = is_source


@dataclass(slots=True)
class GroupCounters:
    sent_multicast: int = 0
    sent_unicast: int = 0
    deliveries: int = 0
    lost_data: int = 0
    lost_control: int = 0


class GroupNetwork(Network):
    """Hosts with delays, any number of groups, and :class:`LossSpec` loss."""

    def __init__(self, sim: Simulator, group: Address, rng: random.Random, loss: LossSpec) -> None:
        super().__init__(sim, group)
        self._rng = rng
        self.loss = loss
        self._nodes: dict[Address, _Node] = {}
        self._members: dict[Address, list[_Node]] = {}
        self._batches: dict[float, list[tuple[Host, Any, bytes, Address]]] = {}
        self.group_counters = GroupCounters()
        self.scripted: set[tuple[Address, int]] = set()
        """(destination, seq): lose the first transmission of data packet seq there, whatever else."""

    def add_host(self, host: Host, delay: float, subtree: int = 0, is_source: bool = False) -> None:
        """Attach ``host`` with one-way ``delay``; receivers sit behind shared link ``subtree``."""
        if host.address in self._nodes:
            raise ConfigError(f"{host.address} is attached twice")
        self._nodes[host.address] = _Node(host, delay, subtree, is_source)

    def join_group(self, host: Host, group: Address) -> None:
        node = self._nodes[host.address]
        members = self._members.setdefault(group, [])
        if node not in members:
            members.append(node)

    def members(self, group: Address) -> list[Host]:
        return [n.host for n in self._members.get(group, [])]

    def send(self, datagram: Datagram[Any], sender: Host, now: float) -> None:
        """Route ``datagram`` from ``sender``: to each member of its group, or to one host."""
        origin = self._nodes.get(sender.address)
        if origin is None:
            return
        counters = self.group_counters
        targets: list[_Node]
        if datagram.multicast:
            counters.sent_multicast += 1
            targets = self._members.get(datagram.destination, [])
        else:
            counters.sent_unicast += 1
            target = self._nodes.get(datagram.destination)
            targets = [target] if target is not None else []
        packet = datagram.packet
        if packet is None or packet.is_data:
            arrived = self._data_survivors(targets, origin)
            if self.scripted and packet is not None and packet.round == 1:
                arrived = [n for n in arrived if (n.host.address, packet.seq) not in self.scripted]
        else:
            arrived = self._control_survivors(targets, origin)
        if not arrived:
            return
        start, data, address = now + origin.delay, datagram.data, sender.address
        first = arrived[0]
        if len(arrived) == 1:
            self._schedule_many(start + first.delay, [(first.host, packet, data, address)])
            return
        delay = first.delay
        for node in arrived:
            if node.delay != delay:  # receivers at different distances: one batch per arrival time
                for each in arrived:
                    self._schedule_many(start + each.delay, [(each.host, packet, data, address)])
                return
        self._schedule_many(start + delay, [(node.host, packet, data, address) for node in arrived])

    def _data_survivors(self, targets: list[_Node], origin: _Node) -> list[_Node]:
        loss, rng, counters = self.loss, self._rng, self.group_counters
        individual = loss.individual if origin.is_source and loss.correlation > 0 else loss.data
        shared_p = loss.shared if origin.is_source else 0.0
        down: dict[int, bool] = {}
        survivors = []
        for node in targets:
            if node is origin:
                continue
            if shared_p > 0.0:
                cut = down.get(node.subtree)
                if cut is None:
                    cut = down[node.subtree] = rng.random() < shared_p
                if cut:
                    counters.lost_data += 1
                    continue
            if individual > 0.0 and rng.random() < individual:
                counters.lost_data += 1
                continue
            survivors.append(node)
        return survivors

    def _control_survivors(self, targets: list[_Node], origin: _Node) -> list[_Node]:
        p, rng = self.loss.control, self._rng
        if p <= 0.0 and len(targets) == 1:
            return [] if targets[0] is origin else targets
        survivors = []
        for node in targets:
            if node is origin:
                continue
            if p > 0.0 and rng.random() < p:
                self.group_counters.lost_control += 1
                continue
            survivors.append(node)
        return survivors

    def _schedule_many(self, at: float, items: list[tuple[Host, Any, bytes, Address]]) -> None:
        batch = self._batches.get(at)
        if batch is None:
            self._batches[at] = items
            self.sim.schedule(at, self._arrive_batch, at)
        else:
            batch.extend(items)

    def _arrive_batch(self, at: float) -> None:
        batch = self._batches.pop(at)
        self.group_counters.deliveries += len(batch)
        for host, packet, data, origin in batch:
            host.deliver(packet, data, origin)
