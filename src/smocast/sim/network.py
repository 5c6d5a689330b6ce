"""A source, receiver hosts and the multicast tree between them.

Forward path (source to receivers)::

    source uplink -> subtree link (shared by a group of receivers) -> receiver downlink

A multicast packet crosses the source uplink once and each subtree link once; loss on a
subtree link is therefore correlated across its receivers. Arrivals at the receivers are
batched into one kernel event per distinct arrival time, and every receiver gets the same
decoded packet object: the fan-out neither copies nor decodes per receiver.

Reverse path (receivers to source, or to another receiver)::

    receiver uplink -> destination's downlink (the source's is shared by all receivers)

The uplink is computed when the packet is sent; the destination's downlink when the packet
reaches it (a second event), so that a link shared by receivers at unequal delays serves
their packets in arrival order: a near receiver's ACK never waits behind a far one's that
is still on its way. (The forward path can be computed at send time: everything on it
enters through the source's uplink, in one order.)

A receiver may also multicast (a NAK in the NAK-avoidance classes): it reaches every other
member and the source through their downlinks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from smocast.core.datagram import Address, Datagram
from smocast.sim.host import Host
from smocast.sim.kernel import Simulator
from smocast.sim.link import Link


@dataclass(slots=True)
class Attachment:
    """How one host hangs off the network."""

    host: Host
    downlink: Link  # toward the host
    uplink: Link  # from the host
    subtree: int = 0
    member: bool = False  # joined the multicast group


@dataclass(slots=True)
class TrafficCounters:
    multicast_packets: int = 0
    unicast_packets: int = 0
    source_egress_bytes: int = 0
    deliveries: int = 0
    reverse_packets: int = 0


@dataclass(slots=True)
class _Subtree:
    link: Link
    members: list[Attachment] = field(default_factory=list)


class Network:
    """One source and many receivers; ``send`` routes a datagram and schedules its arrivals."""

    def __init__(self, sim: Simulator, group: Address) -> None:
        self.sim = sim
        self.group = group
        self._source: Attachment | None = None
        self._hosts: dict[Address, Attachment] = {}
        self._subtrees: dict[int, _Subtree] = {}
        self.counters = TrafficCounters()

    def attach_source(self, host: Host, downlink: Link, uplink: Link) -> None:
        self._source = Attachment(host, downlink, uplink)
        self._hosts[host.address] = self._source

    def add_subtree(self, index: int, link: Link) -> None:
        """Declare the shared link in front of subtree ``index`` (default: a perfect one)."""
        self._subtrees[index] = _Subtree(link)

    def attach(self, host: Host, downlink: Link, uplink: Link, subtree: int = 0) -> Attachment:
        if subtree not in self._subtrees:
            raise KeyError(f"subtree {subtree} was not declared")
        attachment = Attachment(host, downlink, uplink, subtree)
        self._hosts[host.address] = attachment
        return attachment

    def attachments(self) -> list[Attachment]:
        """Every attached host (the source first, if attached) with its links."""
        return list(self._hosts.values())

    def join(self, host: Host) -> None:
        """The host joins the multicast group (as IGMP would make the tree reach it)."""
        attachment = self._hosts[host.address]
        if not attachment.member:
            attachment.member = True
            self._subtrees[attachment.subtree].members.append(attachment)

    def leave(self, host: Host) -> None:
        attachment = self._hosts[host.address]
        if attachment.member:
            attachment.member = False
            self._subtrees[attachment.subtree].members.remove(attachment)

    def send(self, datagram: Datagram[Any], sender: Host, now: float) -> None:
        """Route ``datagram`` from ``sender`` and schedule its arrival(s)."""
        source = self._source
        if source is not None and sender is source.host:
            self._send_forward(datagram, source, now)
        else:
            self._send_reverse(datagram, sender, now)

    def _send_forward(self, datagram: Datagram[Any], source: Attachment, now: float) -> None:
        size = len(datagram.data)
        counters = self.counters
        counters.source_egress_bytes += size
        at_core = source.uplink.transmit(size, now)
        if datagram.multicast:
            counters.multicast_packets += 1
            if at_core is not None:
                self._fan_out(datagram, source.host.address, at_core)
            return
        counters.unicast_packets += 1
        target = self._hosts.get(datagram.destination)
        if target is None or at_core is None:
            return
        at_subtree = self._subtrees[target.subtree].link.transmit(size, at_core)
        if at_subtree is None:
            return
        arrival = target.downlink.transmit(size, at_subtree)
        if arrival is not None:
            counters.deliveries += 1
            self.sim.schedule(arrival, self._arrive, (datagram, source.host.address, [target.host]))

    def _fan_out(self, datagram: Datagram[Any], origin: Address, at_core: float) -> None:
        size = len(datagram.data)
        batches: dict[float, list[Host]] = {}
        for subtree in self._subtrees.values():
            if not subtree.members:
                continue
            at_subtree = subtree.link.transmit(size, at_core)
            if at_subtree is None:
                continue
            for member in subtree.members:
                arrival = member.downlink.transmit(size, at_subtree)
                if arrival is not None:
                    batch = batches.get(arrival)
                    if batch is None:
                        batches[arrival] = [member.host]
                    else:
                        batch.append(member.host)
        schedule = self.sim.schedule
        for arrival, hosts in batches.items():
            self.counters.deliveries += len(hosts)
            schedule(arrival, self._arrive, (datagram, origin, hosts))

    def _send_reverse(self, datagram: Datagram[Any], sender: Host, now: float) -> None:
        attachment = self._hosts.get(sender.address)
        if attachment is None:
            return
        self.counters.reverse_packets += 1
        arrival = attachment.uplink.transmit(len(datagram.data), now)
        if arrival is not None:
            # The far end's link is charged when the packet gets there, not now: links shared by
            # many senders at unequal delays (the source's) serve packets in arrival order.
            self.sim.schedule(arrival, self._at_far_link, (datagram, sender.address))

    def _at_far_link(self, item: tuple[Datagram[Any], Address]) -> None:
        """A packet from a receiver reached the far end of its uplink; cross the destination's link."""
        datagram, origin = item
        if datagram.multicast:
            self._fan_out_from_receiver(datagram, origin)
            return
        target = self._hosts.get(datagram.destination)
        if target is None:
            return
        arrival = target.downlink.transmit(len(datagram.data), self.sim.now)
        if arrival is not None:
            self.sim.schedule(arrival, self._arrive, (datagram, origin, [target.host]))

    def _fan_out_from_receiver(self, datagram: Datagram[Any], origin: Address) -> None:
        """A receiver multicast to the group (a NAK, say): every other member, and the source."""
        size = len(datagram.data)
        now = self.sim.now
        batches: dict[float, list[Host]] = {}
        targets = [m for sub in self._subtrees.values() for m in sub.members if m.host.address != origin]
        if self._source is not None:
            targets.append(self._source)
        for member in targets:
            arrival = member.downlink.transmit(size, now)
            if arrival is not None:
                batches.setdefault(arrival, []).append(member.host)
        for arrival, hosts in batches.items():
            self.counters.deliveries += len(hosts)
            self.sim.schedule(arrival, self._arrive, (datagram, origin, hosts))

    @staticmethod
    def _arrive(item: tuple[Datagram[Any], Address, list[Host]]) -> None:
        datagram, origin, hosts = item
        packet, data, via_group = datagram.packet, datagram.data, datagram.multicast
        for host in hosts:
            host.deliver(packet, data, origin, via_group)
