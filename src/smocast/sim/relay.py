"""Relay hierarchies in the simulator: a root, levels of relay servers, and many receivers.

Each channel (the root's, and each relay's downstream one) runs on its own simulated star
network; a relay is a host in its parent's network (its upstream receiver) and the source
of its own. Every source host may have a CPU model, so a server saturates on ACKs as the
paper's did. A relay can be killed mid-transfer: its receivers notice the silence, and
resume from their last delivered byte at a sibling relay, or at the root.
"""

from __future__ import annotations

import hashlib
import random
import statistics
import time
from dataclasses import dataclass, field, replace
from typing import Any, cast

from smocast.core.acking import AckFrequency
from smocast.core.datagram import Address
from smocast.sim.digest import SharedDigest
from smocast.sim.host import CpuModel, Host
from smocast.sim.kernel import Simulator, relaxed_gc
from smocast.sim.topology import PathSpec, StarTopology
from smocast.sim.transfer import middle_half_rate
from smocast.smo import events as ev
from smocast.smo.channel import Channel
from smocast.smo.config import ChannelConfig, DropRules, ReceiverConfig
from smocast.smo.policies import WindowPolicy
from smocast.smo.receiver import Receiver
from smocast.smo.relay import RelayNode, StreamHistory

PORT = 5000
SOURCE_TIMEOUT = 3.5  # a leaf gives its relay up after this much silence (3.5 heartbeats)
LAN = PathSpec(rate=100e6, delay=0.0005)


@dataclass(frozen=True, slots=True)
class RelaySpec:
    """A hierarchy. ``relays`` relays at the first level; each relay at a deeper level has
    ``fanout`` relays below it (default: ``relays``); the ``receivers`` leaves are shared
    evenly by the relays of the last level. ``cpu_per_packet`` is each source's (root and
    relays) CPU time per received packet: 18 µs is the paper's server, about 55,000 ACKs/s.
    ``mss``, ``congestion`` and ``max_window`` (None: the channel's default) set every server's
    channel, as in :class:`~smocast.sim.transfer.TransferSpec`."""

    levels: int = 2
    relays: int = 3
    fanout: int | None = None
    receivers: int = 2300
    size: int = 1 << 20
    path: PathSpec = LAN
    cpu_per_packet: float | None = 18e-6
    cpu_queue: int = 2000
    ack_every: int | None = 2
    policy: str = "slowest"
    kill_relay: int | None = None
    kill_at: float = 0.5
    seed: int = 1
    time_limit: float = 3600.0
    mss: int = 1400
    congestion: str = "newreno"
    max_window: int | None = None


@dataclass(slots=True)
class _Server:
    """The root or a relay: a channel on its own network."""

    name: str
    level: int
    address: Address
    channel: Channel
    host: Host
    topology: StarTopology
    node: RelayNode | None = None
    upstream_host: Host | None = None
    history: StreamHistory | None = None
    children: int = 0
    dead: bool = False


@dataclass(slots=True)
class _Leaf:
    index: int
    server: _Server
    digest: int = 0
    delivered: int = 0
    completed_at: float | None = None
    quarter_at: float | None = None  # when it had a quarter of the file
    three_quarters_at: float | None = None
    failovers: int = 0
    dropped: str | None = None


class _Hierarchy:
    def __init__(self, spec: RelaySpec) -> None:
        if spec.levels < 2 or spec.relays < 1 or spec.receivers < 1:
            raise ValueError("need at least two levels, one relay and one receiver")
        self.spec = spec
        self.rng = random.Random(spec.seed)
        self.data = random.Random(spec.seed ^ 0x5EED).randbytes(spec.size)
        self.sim = Simulator()
        self.digests = SharedDigest()
        self.servers: list[_Server] = []
        self.leaves: list[_Leaf] = []
        self.finished_leaves = 0  # completed or given up: the run stops when all are
        self._next_address = 0
        self.root = self._server(
            "root", 0, history=lambda offset, length: self.data[offset : offset + length], children=spec.relays
        )
        parents = [self.root]
        for level in range(1, spec.levels):
            per_parent = spec.relays if level == 1 else (spec.fanout or spec.relays)
            count = len(parents) * per_parent
            parents = [
                self._relay(parent, level, self._children_of(level, j, count))
                for j, parent in enumerate(p for p in parents for _ in range(per_parent))
            ]
        self.last_level = parents
        for index in range(spec.receivers):
            self._leaf(index, parents[index % len(parents)])
        self._expected = hashlib.sha256(self.data).hexdigest()

    # --- building -----------------------------------------------------------------------------

    def _address(self) -> Address:
        self._next_address += 1
        n = self._next_address
        return (f"10.{(n >> 16) & 0xFF}.{(n >> 8) & 0xFF}.{n & 0xFF}", PORT)

    def _server(self, name: str, level: int, history: Any = None, children: int = 0) -> _Server:
        spec = self.spec
        config = ChannelConfig(
            mss=spec.mss,
            congestion_control=spec.congestion,
            min_receivers=max(1, children),
            window_policy=WindowPolicy.parse(spec.policy),
            ack_frequency=AckFrequency(fixed=spec.ack_every),
            drop_rules=DropRules(progress_timeout=10.0),
        )
        if spec.max_window is not None:
            config = replace(config, max_window=spec.max_window)
        channel = Channel(self._address(), config, random.Random(self.rng.getrandbits(64)), history=history)
        topology = StarTopology(self.sim, spec.path, self.rng)
        cpu = CpuModel(spec.cpu_per_packet, spec.cpu_queue) if spec.cpu_per_packet else None
        address = self._address()
        host = topology.attach_source(channel, None, cpu, address=address)
        server = _Server(name, level, address, channel, host, topology)
        self.servers.append(server)
        return server

    def _children_of(self, level: int, j: int, relays_here: int) -> int:
        """Receivers of relay ``j`` of the ``relays_here`` at ``level``: leaves are dealt round-robin."""
        spec = self.spec
        if level == spec.levels - 1:
            return spec.receivers // relays_here + (1 if j < spec.receivers % relays_here else 0)
        return spec.fanout or spec.relays

    def _relay(self, parent: _Server, level: int, children: int) -> _Server:
        history = StreamHistory()
        relay = self._server(f"relay-{len(self.servers)}", level, history=history, children=children)
        relay.history = history
        receiver = Receiver(
            parent.address, ReceiverConfig(source_timeout=SOURCE_TIMEOUT), random.Random(self.rng.getrandbits(64))
        )
        relay.node = RelayNode(receiver, relay.channel, history)
        up = parent.topology.add_receiver(
            parent.children, parent.children + 1, receiver, self._on_relay_event, address=self._address()
        )
        up.context = relay
        relay.upstream_host = up
        relay.host.after_input = lambda host, r=relay: self._sync(r)
        parent.children += 1
        self._start(parent.topology, up)
        return relay

    def _leaf(self, index: int, server: _Server, resume_from: int | None = None) -> None:
        leaf = self.leaves[index] if index < len(self.leaves) else _Leaf(index, server)
        if index >= len(self.leaves):
            self.leaves.append(leaf)
        leaf.server = server
        config = ReceiverConfig(source_timeout=SOURCE_TIMEOUT, resume_from=resume_from)
        receiver = Receiver(server.address, config, random.Random(self.rng.getrandbits(64)))
        host = server.topology.add_receiver(
            server.children, server.children + 1, receiver, self._on_leaf_event, address=self._address()
        )
        host.context = leaf
        server.children += 1
        self._start(server.topology, host)

    def _start(self, topology: StarTopology, host: Host) -> None:
        def connect(h: Host) -> None:
            topology.network.join(h)
            receiver = h.endpoint
            assert isinstance(receiver, Receiver)
            receiver.connect(self.sim.now)
            h.pump()

        self.sim.schedule(self.sim.now, connect, host)

    # --- running ------------------------------------------------------------------------------

    def _on_relay_event(self, host: Host, event: object, now: float) -> None:
        relay: _Server = host.context
        assert relay.node is not None
        relay.node.on_upstream_event(event, now)
        if isinstance(event, ev.DataReceived | ev.StreamEnded):
            self.sim.schedule(now, lambda _: relay.host.pump())

    def _sync(self, relay: _Server) -> None:
        assert relay.node is not None and relay.upstream_host is not None
        if relay.node.sync():
            self.sim.schedule(self.sim.now, lambda h: h.pump(), relay.upstream_host)

    def _on_leaf_event(self, host: Host, event: object, now: float) -> None:
        leaf: _Leaf = host.context
        if isinstance(event, ev.DataReceived):
            cast(Receiver, host.endpoint).consumed(len(event.data))  # the application takes it at once
            if event.offset != leaf.delivered:
                return  # only what continues this leaf's stream counts
            leaf.digest = self.digests.advance(leaf.digest, event.data)
            leaf.delivered += len(event.data)
            if leaf.quarter_at is None and 4 * leaf.delivered >= self.spec.size:
                leaf.quarter_at = now
            if leaf.three_quarters_at is None and 4 * leaf.delivered >= 3 * self.spec.size:
                leaf.three_quarters_at = now
        elif isinstance(event, ev.StreamEnded):
            if leaf.completed_at is None:
                leaf.completed_at = now
                self.finished_leaves += 1
        elif isinstance(event, ev.ConnectionReset):
            self._fail_over(leaf, host, event.reason)

    def _fail_over(self, leaf: _Leaf, host: Host, reason: str) -> None:
        """The leaf's server went silent (or reset it): resume at a sibling, else at the root."""
        host.frozen = True
        leaf.failovers += 1
        if leaf.failovers > 3:
            leaf.dropped = reason
            self.finished_leaves += 1
            return
        candidates = [
            s
            for s in self.last_level
            if not s.dead and s is not leaf.server and s.history is not None and s.history.start <= leaf.delivered
        ]
        target = candidates[leaf.index % len(candidates)] if candidates else self.root
        self._leaf(leaf.index, target, resume_from=leaf.delivered)

    def _kill(self, index: int) -> None:
        relay = self.last_level[index % len(self.last_level)]
        relay.dead = True
        relay.host.frozen = True
        if relay.upstream_host is not None:
            relay.upstream_host.frozen = True

    def done(self) -> bool:
        return self.finished_leaves >= len(self.leaves)

    def run(self) -> RelayResult:
        spec = self.spec
        if spec.kill_relay is not None:
            self.sim.schedule(spec.kill_at, lambda _: self._kill(spec.kill_relay or 0))
        self.root.channel.write(self.data)
        self.root.channel.close()
        started = time.perf_counter()
        with relaxed_gc():
            self.root.host.pump()
            self.sim.run(until=spec.time_limit, stop=self.done)
        return RelayResult(self, time.perf_counter() - started)


@dataclass(slots=True)
class RelayResult:
    hierarchy: _Hierarchy
    wall_time: float
    _levels: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        h = self.hierarchy
        spec = h.spec
        leaves = h.leaves
        done = [leaf for leaf in leaves if leaf.completed_at is not None]
        identical = bool(done) and all(h.digests.hexdigest(leaf.digest) == h._expected for leaf in done)
        finish = max((leaf.completed_at for leaf in done if leaf.completed_at is not None), default=None)
        channels = [s.channel for s in h.servers]
        return {
            "levels": spec.levels,
            "relays": spec.relays,
            "receivers": spec.receivers,
            "completed": len(done),
            "dropped": sum(1 for leaf in leaves if leaf.dropped is not None),
            "all_identical": identical,
            "bytes": spec.size,
            "sim_time_s": round(h.sim.now, 6),
            "goodput_bps": round(spec.size * 8 / finish, 1) if finish else 0.0,
            "steady_goodput_bps": round(
                middle_half_rate(spec.size, [(x.quarter_at, x.three_quarters_at) for x in done]), 1
            ),
            "segments": {
                "original": sum(c.stats.original_segments for c in channels),
                "repair_unicast": sum(c.stats.repair_unicast for c in channels),
                "repair_multicast": sum(c.stats.repair_multicast for c in channels),
            },
            "acks_processed": sum(c.stats.acks_processed for c in channels),
            "failovers": sum(leaf.failovers for leaf in leaves),
            "per_level": self._per_level(finish),
            "cpu_per_packet": spec.cpu_per_packet,
            "ack_every": spec.ack_every,
            "seed": spec.seed,
            "wall_time_s": round(self.wall_time, 3),
        }

    def _per_level(self, finish: float | None) -> list[dict[str, Any]]:
        h = self.hierarchy
        out = []
        for level in range(h.spec.levels):
            servers = [s for s in h.servers if s.level == level]
            elapsed = finish or h.sim.now or 1.0
            acks = [s.channel.stats.acks_processed / elapsed for s in servers]
            out.append(
                {
                    "level": level,
                    "servers": len(servers),
                    "receivers_per_server": round(statistics.fmean(s.children for s in servers), 1),
                    "acks_per_s_per_server": {"mean": round(statistics.fmean(acks)), "max": round(max(acks))},
                    "cpu_drops": sum(s.host.cpu_drops for s in servers),
                    "killed": sum(1 for s in servers if s.dead),
                }
            )
        return out


def run_relay(spec: RelaySpec) -> RelayResult:
    """Simulate one hierarchy to completion (or its time limit)."""
    return _Hierarchy(spec).run()
