"""A simulated host: drives one sans-IO endpoint with the same pump as the asyncio runtime.

Input arrives from the network; after each input the host drains the endpoint's events
(to the application callback) and datagrams (to the network) and re-arms its one timer.
An optional CPU model makes input processing take time on a bounded queue, so a host can
be overloaded the way the TCP-SMO paper's server was at 1500 receivers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from smocast.core.datagram import Address, Endpoint
from smocast.sim.kernel import Simulator

if TYPE_CHECKING:
    from smocast.sim.network import Network

EventHandler = Callable[["Host", object, float], None]


@dataclass(frozen=True, slots=True)
class CpuModel:
    """Each received packet costs ``per_packet`` seconds; at most ``queue`` wait, the rest drop."""

    per_packet: float
    queue: int = 1000


class Host:
    """One endpoint at one address in the simulated network."""

    __slots__ = (
        "_busy_until",
        "_cpu",
        "_datagrams",
        "_deadline",
        "_events",
        "_network",
        "_on_event",
        "_receive_packet",
        "_timer_at",
        "address",
        "after_input",
        "context",
        "cpu_drops",
        "endpoint",
        "frozen",
        "received",
        "sim",
        "waiting",
    )

    def __init__(
        self,
        sim: Simulator,
        network: Network,
        address: Address,
        endpoint: Endpoint[Any, Any],
        on_event: EventHandler | None = None,
        cpu: CpuModel | None = None,
    ) -> None:
        self.sim = sim
        self._network = network
        self.address = address
        self.endpoint = endpoint
        self._on_event = on_event
        self._receive_packet: Callable[[Any, Address, float], None] | None = getattr(endpoint, "receive_packet", None)
        self._datagrams = endpoint.datagrams_to_send  # bound once: a large run calls them millions of times
        self._events = endpoint.next_event
        self._deadline = endpoint.next_deadline
        self._cpu = cpu
        self._busy_until = 0.0
        self.waiting = 0
        self.cpu_drops = 0
        self._timer_at: float | None = None
        self.frozen = False  # a frozen host ignores all input and sends nothing (a hung peer)
        self.received = 0
        self.context: Any = None  # for the application's own bookkeeping
        self.after_input: Callable[[Host], None] | None = None  # runs after each input is handled

    def deliver(self, packet: Any, data: bytes, source: Address) -> None:
        """A datagram arrived now; process it at once, or after the CPU model's queue."""
        if self.frozen:
            return
        cpu = self._cpu
        if cpu is None:
            receive = self._receive_packet
            self.received += 1
            if packet is not None and receive is not None:
                receive(packet, source, self.sim.now)
            else:
                self.endpoint.receive_datagram(data, source, self.sim.now)
            self.pump()
            if self.after_input is not None:
                self.after_input(self)
            return
        if self.waiting >= cpu.queue:
            self.cpu_drops += 1
            return
        now = self.sim.now
        done = max(now, self._busy_until) + cpu.per_packet
        self._busy_until = done
        self.waiting += 1
        self.sim.schedule(done, self._process_queued, (packet, data, source))

    def _process_queued(self, item: tuple[Any, bytes, Address]) -> None:
        self.waiting -= 1
        if not self.frozen:
            self._process(*item)

    def _process(self, packet: Any, data: bytes, source: Address) -> None:
        now = self.sim.now
        self.received += 1
        if packet is not None and self._receive_packet is not None:
            self._receive_packet(packet, source, now)
        else:
            self.endpoint.receive_datagram(data, source, now)
        self.pump()
        if self.after_input is not None:
            self.after_input(self)

    def pump(self) -> None:
        """Send what the endpoint wants sent, hand its events to the application, re-arm the timer.

        An application that reacts to an event by giving this same endpoint more to send has
        it sent at the next pump; the simulated applications give work to other endpoints.
        """
        if self.frozen:
            return
        now = self.sim.now
        datagrams = self._datagrams(now)
        if datagrams:
            send = self._network.send
            for datagram in datagrams:
                send(datagram, self, now)
        next_event = self._events
        event = next_event()
        if event is not None:
            handler = self._on_event
            while event is not None:
                if handler is not None:
                    handler(self, event, now)
                event = next_event()
        deadline = self._deadline()
        if deadline is not None and (self._timer_at is None or deadline < self._timer_at):
            self._timer_at = deadline
            self.sim.schedule(deadline, self._on_timer, deadline)

    def _on_timer(self, at: float) -> None:
        if self._timer_at == at:
            self._timer_at = None
        if self.frozen:
            return
        deadline = self.endpoint.next_deadline()
        if deadline is None:
            return
        if deadline > self.sim.now:  # moved later since this wake-up was scheduled
            if self._timer_at is None or deadline < self._timer_at:
                self._timer_at = deadline
                self.sim.schedule(deadline, self._on_timer, deadline)
            return
        self.endpoint.handle_timer(self.sim.now)
        self.pump()
