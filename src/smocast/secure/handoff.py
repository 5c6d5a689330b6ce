"""What the protection layer opened goes to the receiver core, with the path each packet took.

A core that tells the paths apart (``path_aware``, as the TCP-SMO receiver) gets what came
through the group with ``via_group=True``, as the plain runtime does for what its group
socket reads: it ACKs a duplicate repaired to it alone at once, one from the group not at
all. Other cores get every packet alike.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from smocast.core.datagram import Address

Released = list[tuple[bytes, Address]]


class CoreInput:
    """The core's inputs as the layer feeds them: one packet, or a batch in arrival order. The
    core's methods are looked up at each call, so whatever replaces them later is called."""

    __slots__ = ("_inner", "_path_aware")

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self._path_aware = bool(getattr(inner, "path_aware", False))

    def one(self, plaintext: bytes, source: Address, now: float, *, group: bool) -> None:
        """One opened packet (``group``: it came through the group, verified)."""
        if group and self._path_aware:
            self._inner.receive_datagram(plaintext, source, now, via_group=True)
        else:
            self._inner.receive_datagram(plaintext, source, now)

    def batch(self, released: Released, alone: Sequence[int], now: float, arrival: float | None) -> None:
        """A batch's opened packets, in order; ``alone``: the indices of those sent to this
        receiver alone (in increasing order), the rest came through the group. A core without a
        batch input gets them one at a time; a path-aware one gets each run from the group with
        ``via_group`` and each packet sent to it alone on its own; any other, one call."""
        batch_input: Callable[..., None] | None = getattr(self._inner, "receive_datagrams", None)
        if batch_input is None:
            for index, (plaintext, source) in enumerate(released):
                self.one(plaintext, source, now, group=index not in alone)
            return
        plain = {} if arrival is None else {"arrival": arrival}
        if not self._path_aware:
            batch_input(released, now, **plain)
            return
        start = 0
        for index in [*alone, len(released)]:
            if start < index:
                batch_input(released[start:index], now, via_group=True, **plain)
            if index < len(released):
                batch_input(released[index : index + 1], now, **plain)
            start = index + 1
