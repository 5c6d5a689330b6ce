"""Building one class's endpoints, the same way for the simulator and for real sockets.

A runtime describes where everybody is with an :class:`AddressPlan` and gets back the source
and the R receivers (receiver i+1 is at ``plan.receivers[i]``). Each endpoint lists the
multicast groups the runtime must join for it in ``endpoint.groups``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

from smocast.classes.a import ReceiverA, SenderA
from smocast.classes.base import ReceiverCore, SenderCore
from smocast.classes.config import ClassConfig
from smocast.classes.h1 import ReceiverH1, SenderH1
from smocast.classes.h2 import ReceiverH2, SenderH2
from smocast.classes.n1 import ReceiverN1, Recover, SenderN1
from smocast.classes.n2 import ReceiverN2, SenderN2
from smocast.classes.ring import ReceiverR, SenderR
from smocast.classes.tree import TreeLayout
from smocast.core.datagram import Address
from smocast.core.errors import ConfigError

CLASS_NAMES: tuple[str, ...] = ("A", "N1", "N2", "H1", "H2", "R")
ACK_BASED: frozenset[str] = frozenset({"A", "H1", "H2", "R"})
"""Classes with a rule that frees the source's memory: they work with finite buffers."""
TREE_CLASSES: frozenset[str] = frozenset({"H1", "H2"})


@dataclass(frozen=True)
class AddressPlan:
    """Where the source, the group, the receivers and (for trees) each local group are."""

    source: Address
    group: Address
    receivers: list[Address]
    local_groups: dict[int, Address] = field(default_factory=dict)
    """Parent node (0 is the source) -> that parent's local group; needed by H1 and H2."""

    def local_group(self, parent: int) -> Address:
        try:
            return self.local_groups[parent]
        except KeyError:
            raise ConfigError(f"the address plan has no local group for parent {parent}") from None


class Endpoints(NamedTuple):
    sender: SenderCore
    receivers: list[ReceiverCore]
    layout: TreeLayout | None


def check_class(name: str) -> str:
    if name not in CLASS_NAMES:
        raise ConfigError(f"unknown protocol class {name!r}; choose from {', '.join(CLASS_NAMES)}")
    return name


def build(
    name: str, plan: AddressPlan, config: ClassConfig, rng: random.Random, recover: Recover | None = None
) -> Endpoints:
    """The source and receivers of class ``name``; ``recover`` is N1/N2 application recovery."""
    check_class(name)
    count = len(plan.receivers)
    if count < 1:
        raise ConfigError("need at least one receiver")

    def seeded() -> random.Random:
        return random.Random(rng.getrandbits(64))

    if name in TREE_CLASSES:
        return _build_tree(name, plan, config, seeded)
    sender: SenderCore
    if name == "A":
        sender = SenderA(plan.group, count, config, seeded())
    elif name == "N1":
        sender = SenderN1(plan.group, config, seeded(), recover)
    elif name == "N2":
        sender = SenderN2(plan.group, count, config, seeded(), recover)
    else:
        sender = SenderR(plan.group, config, seeded())
    receivers = [_flat_receiver(name, node, plan, config, seeded()) for node in range(1, count + 1)]
    return Endpoints(sender, receivers, None)


def _flat_receiver(name: str, node: int, plan: AddressPlan, config: ClassConfig, rng: random.Random) -> ReceiverCore:
    if name == "A":
        return ReceiverA(node, plan.source, plan.group, config, rng)
    if name == "N1":
        return ReceiverN1(node, plan.source, plan.group, config, rng)
    if name == "N2":
        return ReceiverN2(node, plan.source, plan.group, config, rng)
    return ReceiverR(node, plan.source, plan.group, plan.receivers, config, rng)


def _build_tree(name: str, plan: AddressPlan, config: ClassConfig, seeded: Callable[[], random.Random]) -> Endpoints:
    layout = TreeLayout(len(plan.receivers), config.branching)
    sender_type = SenderH1 if name == "H1" else SenderH2
    receiver_type = ReceiverH1 if name == "H1" else ReceiverH2
    sender = sender_type(plan.group, plan.local_group(0), layout, config, seeded())
    receivers: list[ReceiverCore] = []
    for node in range(1, layout.receivers + 1):
        parent = layout.parent(node)
        parent_address = plan.source if parent == 0 else plan.receivers[parent - 1]
        own = plan.local_group(node) if layout.is_leader(node) else None
        receivers.append(
            receiver_type(
                node, plan.source, plan.group, parent_address, plan.local_group(parent), own, layout, config, seeded()
            )
        )
    return Endpoints(sender, receivers, layout)
