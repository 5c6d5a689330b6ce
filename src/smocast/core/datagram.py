"""Addresses, outgoing datagrams and the typed sans-IO endpoint contract.

Every protocol endpoint (the TCP-SMO channel and receiver, the six protocol classes) is an
:class:`Endpoint` of its own packet type ``P`` and event type ``E``. A runtime drives any of
them with the one pump of :mod:`smocast.core.pump`.
"""

from __future__ import annotations

from typing import Generic, NamedTuple, Protocol, TypeVar

Address = tuple[str, int]
"""A transport address: (host, port). The simulator uses the same shape with synthetic hosts."""

P = TypeVar("P")
"""A protocol's decoded packet type."""
E_co = TypeVar("E_co", covariant=True)


class Datagram(NamedTuple, Generic[P]):
    """One datagram an endpoint wants sent: build it with :func:`unicast` or :func:`multicast`.

    ``multicast`` is true when ``destination`` is a group. ``packet`` is the decoded form the
    endpoint built before encoding ``data``: the simulator hands that same object to every
    receiving endpoint's ``receive_packet``, so a fan-out to a thousand receivers neither
    copies nor decodes. Runtimes on real sockets send ``data`` and ignore ``packet``.
    """

    data: bytes
    destination: Address
    multicast: bool
    packet: P


def unicast(data: bytes, packet: P, to: Address) -> Datagram[P]:
    """A datagram for one peer: ``data`` is the encoding of ``packet``."""
    return Datagram(data, to, False, packet)


def multicast(data: bytes, packet: P, group: Address) -> Datagram[P]:
    """A datagram for every member of ``group``: ``data`` is the encoding of ``packet``."""
    return Datagram(data, group, True, packet)


class Endpoint(Protocol[P, E_co]):
    """The sans-IO contract every protocol endpoint follows.

    A driver feeds input with ``receive_datagram`` (real sockets), ``receive_packet`` (the
    simulator, with the sender's already decoded packet) or ``handle_timer``; then runs the
    pump (:class:`smocast.core.pump.Pump`): send ``datagrams_to_send``, hand each
    ``next_event`` to the application, re-arm its one timer at ``next_deadline``.

    One extension, for endpoints that must know the path a datagram took: the TCP-SMO
    receiver's ``receive_datagram`` and ``receive_packet`` take a keyword ``via_group``
    (True for what arrived through the group), and a runtime passes it for the datagrams of
    the group's socket (``aio.driver.Driver``'s ``group`` input, ``sim.host.Host.group_input``);
    such a receiver honours no RST or FIN from the group.
    """

    def receive_datagram(self, data: bytes, source: Address, now: float) -> None:
        """A datagram arrived from ``source``; malformed input is counted and dropped."""

    def receive_packet(self, packet: P, source: Address, now: float) -> None:
        """An already decoded packet arrived from ``source`` (the simulator's shortcut)."""

    def datagrams_to_send(self, now: float) -> list[Datagram[P]]:
        """Return what must be sent now; the caller sends every returned datagram."""

    def next_deadline(self) -> float | None:
        """The one absolute time at which ``handle_timer`` must be called, or None."""

    def handle_timer(self, now: float) -> None:
        """Run every internal timer due at ``now``; then the caller runs the pump."""

    def next_event(self) -> E_co | None:
        """Pop the next event for the application, or None when there is none."""
