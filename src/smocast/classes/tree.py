"""The ACK tree of the classes H1 and H2: a full B-ary tree over the receivers.

Node 0 is the source and nodes 1..R are the receivers, numbered in breadth-first order, so the
children of node n are nB+1 .. nB+B (those that exist) and the parent of node m is (m − 1)//B.
Every node with children is a group leader, and each parent and its children form one local
group with a multicast address of its own. This is Levine's "full tree" (§5 of the reference).
"""

from __future__ import annotations

from dataclasses import dataclass

from smocast.core.errors import ConfigError


@dataclass(frozen=True, slots=True)
class TreeLayout:
    """Who is whose parent in a tree of ``receivers`` receivers with ``branching`` children each."""

    receivers: int
    branching: int

    def __post_init__(self) -> None:
        if self.receivers < 1 or self.branching < 1:
            raise ConfigError(
                f"a tree needs receivers >= 1 and branching >= 1, got {self.receivers} and {self.branching}"
            )

    def parent(self, node: int) -> int:
        """The parent of receiver ``node`` (0 is the source)."""
        self._check(node, receivers_only=True)
        return (node - 1) // self.branching

    def children(self, node: int) -> range:
        """The children of ``node``, possibly empty."""
        self._check(node)
        first = node * self.branching + 1
        return range(first, min(first + self.branching, self.receivers + 1))

    def is_leader(self, node: int) -> bool:
        """True for a receiver with children of its own."""
        return node >= 1 and len(self.children(node)) > 0

    def index_in_group(self, node: int) -> int:
        """The position of receiver ``node`` among its parent's children (0-based)."""
        self._check(node, receivers_only=True)
        return (node - 1) % self.branching

    def parents(self) -> list[int]:
        """Every node with children: the source first, then the leaders."""
        return [n for n in range(self.receivers + 1) if len(self.children(n)) > 0]

    def leaders(self) -> list[int]:
        return [n for n in range(1, self.receivers + 1) if self.is_leader(n)]

    def _check(self, node: int, receivers_only: bool = False) -> None:
        low = 1 if receivers_only else 0
        if not low <= node <= self.receivers:
            raise ConfigError(f"node {node} is not in a tree of {self.receivers} receivers")
