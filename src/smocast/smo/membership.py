"""Who belongs to a channel, and which receivers pace it.

:class:`Membership` is the channel's table of children: found by ``(address, connection)``
for every packet and by index for the application, with two counts the window policy F
needs (``holders``: receivers new segments wait for, established or mid-handshake;
``live``: established receivers), and the aggregate of the pacing receivers' right edges.

A receiver *paces* the channel when its right edge (``una + min(SACKed + cwnd, rwnd)``, see
:meth:`~smocast.smo.child.Child.right_edge`) bounds how far new data may go. The smallest
right edge is kept in a :class:`~smocast.core.aggregate.KeyedMin` (``pacing``, by child index),
so moving one receiver's edge on an ACK costs O(1) whatever the number of receivers, and
removing one costs O(1). The channel moves edges with ``pacing.set`` on its per-ACK path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from smocast.core.aggregate import KeyedMin
from smocast.core.datagram import Address
from smocast.smo.child import Child
from smocast.smo.events import ReceiverInfo


class Membership:
    """The channel's children, their counts, and the pacing receivers' right edges."""

    __slots__ = (
        "_by_address",
        "_by_index",
        "_by_key",
        "_next_index",
        "find",
        "holders",
        "live",
        "on_add",
        "on_remove",
        "pacing",
    )

    def __init__(self) -> None:
        self._by_key: dict[tuple[Address, int], Child] = {}
        self._by_index: dict[int, Child] = {}
        self._by_address: dict[Address, list[Child]] = {}  # usually one child per address
        self._next_index = 1
        self.holders = 0  # receivers that hold new data back: established, or mid-handshake
        self.live = 0  # established receivers
        self.pacing = KeyedMin()  # the pacing children's right edges, by child index
        self.find = self._by_key.get
        """``find((address, connection))``: the child of that connection, or None (a dict lookup)."""
        self.on_add: Callable[[Child], None] | None = None
        """Called with each child :meth:`add` adds (the channel's path MTU discovery counts it at the base)."""
        self.on_remove: Callable[[Child], None] | None = None
        """Called with each child :meth:`remove` removes (the channel's path MTU discovery forgets it)."""

    # --- the table ---------------------------------------------------------------------------

    def next_index(self) -> int:
        """A fresh receiver index (also for one refused before it got a child)."""
        index = self._next_index
        self._next_index += 1
        return index

    def by_index(self, index: int) -> Child | None:
        return self._by_index.get(index)

    def at_address(self, address: Address) -> list[Child]:
        """The children whose receivers use ``address`` (an ICMP error names only the address)."""
        return self._by_address.get(address, [])

    def add(self, child: Child) -> None:
        """A child mid-handshake: from now on, new segments wait for it too."""
        self._by_key[(child.address, child.connection)] = child
        self._by_index[child.index] = child
        self._by_address.setdefault(child.address, []).append(child)
        self.holders += 1
        if self.on_add is not None:
            self.on_add(child)

    def established(self, child: Child) -> None:
        """The child completed its handshake."""
        self.live += 1

    def remove(self, child: Child) -> None:
        """The child is gone (completed, left or dropped); O(1)."""
        self.holders -= 1
        if child.established:
            self.live -= 1
            self.stop_pacing(child)
        del self._by_key[(child.address, child.connection)]
        del self._by_index[child.index]
        same = self._by_address[child.address]
        same.remove(child)
        if not same:
            del self._by_address[child.address]
        if self.on_remove is not None:
            self.on_remove(child)

    def __len__(self) -> int:
        return len(self._by_key)

    def __iter__(self) -> Iterator[Child]:
        return iter(self._by_key.values())

    # --- pacing ------------------------------------------------------------------------------

    def is_pacing(self, child: Child) -> bool:
        return child.index in self.pacing.value_of

    def info(self, child: Child) -> ReceiverInfo:
        """``child``'s accounting now, with whether it paces the channel."""
        return ReceiverInfo(
            child.index,
            child.address,
            child.state.value,
            child.joined_at,
            child.start,
            child.una - child.start,
            child.rtt.srtt,
            child.cc.cwnd,
            child.repairs_unicast,
            child.repairs_multicast,
            child.index not in self.pacing.value_of,
            child.loss_episodes,
            child.window_cuts,
            child.reordering.seen,
        )

    def start_pacing(self, child: Child, edge: int) -> None:
        """The child paces the channel (again), with right edge ``edge``."""
        if child.index not in self.pacing.value_of:
            self.pacing.set(child.index, edge)

    def stop_pacing(self, child: Child) -> None:
        """The child no longer paces the channel (left behind, unresponsive, or gone)."""
        self.pacing.discard(child.index)

    def move_edge(self, child: Child, edge: int) -> None:
        """The pacing child's right edge is now ``edge`` (nothing if it does not pace)."""
        if child.index in self.pacing.value_of:
            self.pacing.set(child.index, edge)

    def smallest_edge(self) -> int | None:
        """The smallest right edge of the pacing receivers, or None when nobody paces."""
        return self.pacing.minimum()
