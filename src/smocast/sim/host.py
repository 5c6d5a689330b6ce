"""A simulated host: drives one sans-IO endpoint with the one pump (:class:`smocast.core.pump.Pump`).

Input arrives from the network; after each input the host runs the pump (send what the
endpoint wants sent, hand its events to the application callback, learn the next deadline)
and re-arms its one timer. An optional CPU model makes input processing take time on a
bounded queue, so a host can be overloaded the way the TCP-SMO paper's server was at 1500
receivers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol

from smocast.core.datagram import Address, Datagram, Endpoint
from smocast.core.pump import Pump
from smocast.sim.kernel import Simulator


class Medium(Protocol):
    """What a host sends through: the simulated network (:class:`~smocast.sim.network.Network`)."""

    def send(self, datagram: Datagram[Any], sender: Host, now: float) -> None:
        """Carry ``datagram`` from ``sender``, sent at ``now``."""
        ...


EventHandler = Callable[["Host", Any, float], None]
"""``handler(host, event, now)``: the simulated application's reaction to one event."""


@dataclass(frozen=True, slots=True)
class CpuModel:
    """Each received packet costs ``per_packet`` seconds; at most ``queue`` wait, the rest drop.

    ``receive_cost(data)``, when given, is the cost of each received datagram instead, and
    ``send_cost(data)`` makes each sent datagram leave only after that much CPU time (on the
    same CPU as the input): the secure mode's cost model (:mod:`smocast.sim.crypto_cost`).
    """

    per_packet: float
    queue: int = 1000
    receive_cost: Callable[[bytes], float] | None = None
    send_cost: Callable[[bytes], float] | None = None


def _ignore(event: object, now: float) -> None:
    """The application of a host that was given no event handler."""


class Host:
    """One endpoint at one address in the simulated network."""

    __slots__ = (
        "_busy_until",
        "_cpu",
        "_network",
        "_pump",
        "_timer_at",
        "address",
        "after_input",
        "context",
        "cpu_drops",
        "endpoint",
        "frozen",
        "group_input",
        "received",
        "sim",
        "waiting",
    )

    def __init__(
        self,
        sim: Simulator,
        network: Medium,
        address: Address,
        endpoint: Endpoint[Any, Any],
        on_event: EventHandler | None = None,
        cpu: CpuModel | None = None,
    ) -> None:
        self.sim = sim
        self._network = network
        self.address = address
        self.endpoint = endpoint
        self._pump = Pump(endpoint, self._transmit, partial(on_event, self) if on_event is not None else _ignore)
        self._cpu = cpu
        self._busy_until = 0.0
        self.waiting = 0
        self.cpu_drops = 0
        self._timer_at: float | None = None
        self.frozen = False  # a frozen host ignores all input and sends nothing (a hung peer)
        self.received = 0
        self.context: Any = None  # for the application's own bookkeeping
        self.after_input: Callable[[Host], None] | None = None  # runs after each input is handled
        # takes the packets that arrived through the group, when the endpoint must know (an RST
        # from there is never honoured): ``Receiver.receive_packet(..., via_group=True)``
        self.group_input: Callable[[Any, Address, float], None] | None = None

    def deliver(self, packet: Any, data: bytes, source: Address, via_group: bool = False) -> None:
        """A datagram arrived now (``via_group``: through the group); process it at once, or
        after the CPU model's queue."""
        if self.frozen:
            return
        cpu = self._cpu
        if cpu is None:
            self._process(packet, data, source, via_group)
            return
        if self.waiting >= cpu.queue:
            self.cpu_drops += 1
            return
        cost = cpu.per_packet if cpu.receive_cost is None else cpu.receive_cost(data or packet)
        done = max(self.sim.now, self._busy_until) + cost
        self._busy_until = done
        self.waiting += 1
        self.sim.schedule(done, self._process_queued, (packet, data, source, via_group))

    def _process_queued(self, item: tuple[Any, bytes, Address, bool]) -> None:
        self.waiting -= 1
        if not self.frozen:
            self._process(*item)

    def _process(self, packet: Any, data: bytes, source: Address, via_group: bool = False) -> None:
        """Feed one datagram: the sender's decoded packet when it has one (no decoding per
        receiver), else the bytes; then run the pump."""
        self.received += 1
        if via_group and packet is not None and self.group_input is not None:
            self.group_input(packet, source, self.sim.now)
        elif packet is not None:
            self.endpoint.receive_packet(packet, source, self.sim.now)
        else:
            self.endpoint.receive_datagram(data, source, self.sim.now)
        self.pump()
        if self.after_input is not None:
            self.after_input(self)

    def pump(self) -> None:
        """Run the pump now and re-arm the one timer.

        An application that reacts to an event by giving this same endpoint more to send has
        it sent at the next pump; call :meth:`pump` again (or schedule it) to send it now.
        """
        if self.frozen:
            return
        deadline = self._pump.run(self.sim.now)
        if deadline is not None and (self._timer_at is None or deadline < self._timer_at):
            self._timer_at = deadline
            self.sim.schedule(deadline, self._on_timer, deadline)

    def _transmit(self, datagrams: list[Datagram[Any]]) -> None:
        send, now = self._network.send, self.sim.now
        cpu = self._cpu
        if cpu is not None and cpu.send_cost is not None:
            self._transmit_after_cpu(datagrams, cpu.send_cost)
            return
        for datagram in datagrams:
            send(datagram, self, now)

    def _transmit_after_cpu(self, datagrams: list[Datagram[Any]], cost: Callable[[bytes], float]) -> None:
        """Each datagram leaves once the CPU has made it (sealed, signed), in order."""
        busy = max(self.sim.now, self._busy_until)
        for datagram in datagrams:
            busy += cost(datagram.data)
            self.sim.schedule(busy, self._send_later, datagram)
        self._busy_until = busy

    def _send_later(self, datagram: Datagram[Any]) -> None:
        if not self.frozen:
            self._network.send(datagram, self, self.sim.now)

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
