"""One protocol class in the simulator, its operations counted and compared with the model.

``run_class`` builds a :class:`~smocast.sim.groups.GroupNetwork` with one source and R
receivers, runs one class's endpoints (:mod:`smocast.classes`) over it until every receiver
holds the whole stream (and, for the ACK-based classes, the source has released every packet),
and checks that each receiver delivered every packet, in order, byte for byte.

Cost accounting (issue part 5): every endpoint counts the model's operations in its ledger. The
run adds them up per role (sender, receiver, leader, token site) and divides by the number of
application packets and of hosts in the role, which gives the mean number of each operation
per packet; weighting those by the model's unit costs (``smocast.model.Costs``) gives the mean
cost per packet of each role, and the implied maximum throughput 1 / max role cost (§1 of the
reference). Session messages, heartbeats and polls, which the model does not count, are
reported apart as ``overhead`` and cost nothing in the comparison.

Same spec, same result, except ``wall_time_s``.
"""

from __future__ import annotations

import random
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

from smocast.classes import events as ev
from smocast.classes.build import ACK_BASED, AddressPlan, Endpoints, build, check_class
from smocast.classes.config import ClassConfig
from smocast.classes.ledger import LEADER, OPS, RECEIVER, SENDER, TOKEN_SITE, UNMODELLED_OPS
from smocast.core.datagram import Address
from smocast.model import Costs, ModelOptions, evaluate
from smocast.model.params import local_ack_charges, received_nak_charge
from smocast.sim.groups import GroupNetwork, LossSpec
from smocast.sim.host import Host
from smocast.sim.kernel import Simulator
from smocast.sim.topology import GROUP_ADDRESS, SOURCE_ADDRESS, receiver_address


@dataclass(frozen=True)
class ClassRunSpec:
    """One run: class ``cls`` with ``receivers`` receivers, ``packets`` packets, data loss ``p``.

    ``control_loss`` and ``correlation`` relax the model's assumptions (see
    :class:`~smocast.sim.groups.LossSpec`); ``delay`` is each receiver's one-way delay to the
    network core, spread evenly up to ``delay + delay_spread``. The ACK-based classes use
    ``config.buffer``; N1 and N2 use ``nak_buffer`` (default unbounded: with a finite one they
    may deadlock, Levine's Theorem 2). ``recover`` gives N1/N2 application-level recovery.
    ``scripted`` loses the first transmission of packet ``seq`` at receiver ``node`` for each
    (node, seq).
    """

    cls: str
    receivers: int
    p: float
    packets: int = 1000
    payload: int = 16
    seed: int = 1
    config: ClassConfig = field(default_factory=ClassConfig)
    control_loss: float = 0.0
    correlation: float = 0.0
    delay: float = 0.005
    delay_spread: float = 0.0
    time_limit: float = 3600.0
    nak_buffer: int | None = None
    recover: bool = False
    scripted: tuple[tuple[int, int], ...] = ()
    costs: Costs = field(default_factory=Costs)
    options: ModelOptions = field(default_factory=ModelOptions)

    def __post_init__(self) -> None:
        check_class(self.cls)

    @property
    def model_costs(self) -> Costs:
        """The model's costs, with its branching factor B set to the trees' actual one."""
        return replace(self.costs, B=self.config.branching)


@dataclass(slots=True)
class _Outcome:
    delivered: int = 0
    identical: bool = True
    complete: bool = False


@dataclass
class ClassRunResult:
    spec: ClassRunSpec
    completed: int
    all_identical: bool
    sender_finished: bool
    unavailable: list[int]
    sim_time: float
    wall_time: float
    packets: int
    ops: dict[str, dict[str, float]]
    """Per role, the mean count of each operation per packet (per host in the role)."""
    peak_held: int
    evicted: int

    @property
    def measured_roles(self) -> dict[str, float]:
        units = unit_costs(self.spec.model_costs, self.spec.options, self.spec.config.poll_every)
        return {role: sum(n * units[op] for op, n in counts.items()) for role, counts in self.ops.items()}

    @property
    def measured_throughput(self) -> float:
        return throughput_of(self.measured_roles)

    def as_json(self) -> dict[str, Any]:
        spec = self.spec
        model = evaluate(spec.cls, spec.p, spec.receivers, spec.model_costs, spec.options)
        return {
            "class": spec.cls,
            "receivers": spec.receivers,
            "p": spec.p,
            "all_identical": self.all_identical,
            "measured": {"throughput": _round(self.measured_throughput), "roles": _rounded(self.measured_roles)},
            "model": {"throughput": _round(model.throughput), "roles": _rounded(dict(model.roles))},
            "completed": self.completed,
            "packets": self.packets,
            "ops": {
                role: {op: _round(n) for op, n in counts.items() if n and op not in UNMODELLED_OPS}
                for role, counts in self.ops.items()
            },
            "overhead": {
                role: {op: _round(counts[op]) for op in UNMODELLED_OPS if counts[op]}
                for role, counts in self.ops.items()
            },
            "control_loss": spec.control_loss,
            "correlation": spec.correlation,
            "seed": spec.seed,
            "sim_time_s": round(self.sim_time, 6),
            "wall_time_s": round(self.wall_time, 3),
        }


def unit_costs(costs: Costs, options: ModelOptions, poll_every: int) -> dict[str, float]:
    """The model's cost of one counted operation. A periodic ACK / poll reply is sent once per
    ``poll_every`` packets, so one costs ``X_pa·poll_every`` (the model's X_pa is per packet)."""
    parent_ack, child_ack = local_ack_charges(costs, options)
    units = {op: float(getattr(costs, op, 0.0)) for op in OPS}
    units.update(
        {
            "X_h": parent_ack,
            "Y_h": child_ack,
            "Y_nr": received_nak_charge(costs, options),
            "X_pa": costs.X_pa * poll_every,
            "Y_pa": costs.Y_pa * poll_every,
        }
    )
    for op in UNMODELLED_OPS:
        units[op] = 0.0
    return units


def throughput_of(roles: dict[str, float]) -> float:
    worst = max(roles.values(), default=0.0)
    return float("inf") if worst <= 0.0 else 1.0 / worst


def _round(value: float) -> float:
    return round(value, 6)


def _rounded(roles: dict[str, float]) -> dict[str, float]:
    return {role: _round(cost) for role, cost in roles.items()}


def local_group_address(parent: int) -> Address:
    return (f"239.3.{(parent >> 8) & 0xFF}.{parent & 0xFF}", 6000 + (parent >> 16))


class _Run:
    def __init__(self, spec: ClassRunSpec) -> None:
        self.spec = spec
        rng = random.Random(spec.seed)
        data_rng = random.Random(spec.seed ^ 0x5EED)
        self.payloads = [data_rng.randbytes(spec.payload) for _ in range(spec.packets)]
        self.sim = Simulator()
        loss = LossSpec(spec.p, spec.control_loss, spec.correlation, spec.config.branching)
        self.network = GroupNetwork(self.sim, GROUP_ADDRESS, random.Random(rng.getrandbits(64)), loss)
        addresses = [receiver_address(i) for i in range(spec.receivers)]
        parents = range(spec.receivers // spec.config.branching + 1)
        plan = AddressPlan(SOURCE_ADDRESS, GROUP_ADDRESS, addresses, {n: local_group_address(n) for n in parents})
        config = spec.config if spec.cls in ACK_BASED else replace(spec.config, buffer=spec.nak_buffer)
        self.endpoints: Endpoints = build(
            spec.cls, plan, config, random.Random(rng.getrandbits(64)), self._recover if spec.recover else None
        )
        self.outcomes = [_Outcome() for _ in range(spec.receivers)]
        self.completed = 0
        self.finished = False
        self.unavailable: list[int] = []
        self.source = Host(self.sim, self.network, SOURCE_ADDRESS, self.endpoints.sender, self._on_source_event)
        self.network.add_host(self.source, 0.0, is_source=True)
        self.hosts = [self._attach(i, address) for i, address in enumerate(addresses)]
        for host in [self.source, *self.hosts]:
            for group in host.endpoint.groups:  # type: ignore[attr-defined]
                self.network.join_group(host, group)
        self.network.scripted = {(addresses[node - 1], seq) for node, seq in spec.scripted}

    def _recover(self, seq: int) -> bytes | None:
        """Application-level recovery: the application can always rebuild its own packets."""
        return self.payloads[seq] if 0 <= seq < len(self.payloads) else None

    def _attach(self, index: int, address: Address) -> Host:
        spec = self.spec
        host = Host(
            self.sim, self.network, address, self.endpoints.receivers[index], partial(self._on_receiver_event, index)
        )
        spread = spec.delay_spread * index / (spec.receivers - 1) if spec.receivers > 1 else 0.0
        self.network.add_host(host, spec.delay + spread, index // spec.config.branching)
        return host

    def _on_source_event(self, host: Host, event: object, now: float) -> None:
        if isinstance(event, ev.SenderFinished):
            self.finished = True
        elif isinstance(event, ev.RepairUnavailable):
            self.unavailable.append(event.seq)

    def _on_receiver_event(self, index: int, host: Host, event: object, now: float) -> None:
        outcome = self.outcomes[index]
        if isinstance(event, ev.Delivered):
            if (
                event.seq != outcome.delivered
                or event.seq >= len(self.payloads)
                or event.data != self.payloads[event.seq]
            ):
                outcome.identical = False
            outcome.delivered += 1
        elif isinstance(event, ev.StreamComplete):
            outcome.complete = True
            self.completed += 1

    def _done(self) -> bool:
        if self.completed < len(self.outcomes):
            return False
        return self.finished or self.spec.cls not in ACK_BASED

    def run(self) -> ClassRunResult:
        started = time.perf_counter()
        sender = self.endpoints.sender
        for payload in self.payloads:
            sender.write(payload)
        sender.close()
        self.sim.schedule(0.0, lambda _: self.source.pump())
        self.sim.run(until=self.spec.time_limit, stop=self._done)
        wall = time.perf_counter() - started
        identical = all(o.complete and o.identical and o.delivered == len(self.payloads) for o in self.outcomes)
        return ClassRunResult(
            self.spec,
            self.completed,
            identical,
            self.finished,
            self.unavailable,
            self.sim.now,
            wall,
            sender.next_seq,
            self._ops_per_packet(),
            sender.peak_held,
            sender.evicted,
        )

    def _ops_per_packet(self) -> dict[str, dict[str, float]]:
        totals: dict[str, dict[str, int]] = {}
        for endpoint in [self.endpoints.sender, *self.endpoints.receivers]:
            for role, counts in endpoint.ledger.roles.items():
                into = totals.setdefault(role, dict.fromkeys(OPS, 0))
                for op, n in counts.items():
                    into[op] += n
        packets = max(1, self.endpoints.sender.next_seq)
        sizes = self._role_sizes()
        return {
            role: {op: n / (packets * sizes[role]) for op, n in totals[role].items()}
            for role in (SENDER, RECEIVER, LEADER, TOKEN_SITE)
            if role in totals and sizes.get(role)
        }

    def _role_sizes(self) -> dict[str, int]:
        """How many hosts share each role's counts (the ring's token site is one per packet)."""
        count = self.spec.receivers
        layout = self.endpoints.layout
        if layout is not None:
            leaders = len(layout.leaders())
            return {SENDER: 1, RECEIVER: count - leaders, LEADER: leaders}
        if self.spec.cls == "R":
            return {SENDER: 1, RECEIVER: count - 1, TOKEN_SITE: 1}
        return {SENDER: 1, RECEIVER: count}


def run_class(spec: ClassRunSpec) -> ClassRunResult:
    """Run one class to completion (or ``spec.time_limit``) and count its operations."""
    return _Run(spec).run()


def run_points(specs: list[ClassRunSpec], jobs: int = 1) -> list[ClassRunResult]:
    """Run many specs, in ``jobs`` processes; results come back in the order of ``specs``.

    Each run depends only on its spec, so the results do not depend on ``jobs``.
    """
    if jobs <= 1 or len(specs) <= 1:
        return [run_class(spec) for spec in specs]
    with ProcessPoolExecutor(max_workers=min(jobs, len(specs))) as pool:
        return list(pool.map(run_class, specs))
