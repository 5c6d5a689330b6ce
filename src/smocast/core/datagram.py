"""Addresses, outgoing datagrams and the sans-IO endpoint contract."""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol

Address = tuple[str, int]
"""A transport address: (host, port). The simulator uses the same shape with synthetic hosts."""


class Datagram(NamedTuple):
    """One datagram an endpoint wants sent.

    ``multicast`` is true when ``destination`` is the channel's group. ``packet`` carries the
    decoded form the endpoint built before encoding, so a simulator can fan it out to many
    receivers without decoding it again (pass it to ``receive_packet``). Runtimes that use
    real sockets send ``data`` and ignore ``packet``.
    """

    data: bytes
    destination: Address
    multicast: bool = False
    packet: Any = None


class Endpoint(Protocol):
    """The sans-IO contract every protocol endpoint follows.

    A driver (the simulator or the asyncio runtime) loops: feed input with
    ``receive_datagram`` or ``handle_timer``, then drain ``next_event`` and
    ``datagrams_to_send``, then re-arm its single timer at ``next_deadline``.
    """

    def receive_datagram(self, data: bytes, source: Address, now: float) -> None:
        """A datagram arrived from ``source``; malformed input is counted and dropped."""

    def datagrams_to_send(self, now: float) -> list[Datagram]:
        """Return what must be sent now; the caller sends every returned datagram."""

    def next_deadline(self) -> float | None:
        """The one absolute time at which ``handle_timer`` must be called, or None."""

    def handle_timer(self, now: float) -> None:
        """Run every internal timer due at ``now``; then drain sends and events."""

    def next_event(self) -> object | None:
        """Pop the next event for the application, or None when there is none."""
