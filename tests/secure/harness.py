"""A simulated TCP-SMO transfer with every endpoint behind the protection layer, and an attacker.

The key exchange rides on the handshake, as in a real run (``protect_channel`` and
``protect_receiver``). ``secure=False`` runs the same transfer without the layer, so an
attack can be shown to work before it is shown to fail. ``exchange`` (kept for the tests of
the layer alone) runs the key exchange in memory for a test that installs keys itself.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from smocast.core.datagram import Address
from smocast.secure.allowlist import AllowList
from smocast.secure.exchange_source import Accepted, respond
from smocast.secure.hold import HoldPolicy
from smocast.secure.identity import Identity
from smocast.secure.keyexchange import ReceiverHandshake, SessionKeys, Trust
from smocast.secure.receiver import ProtectedReceiver
from smocast.secure.rotation import RotationPolicy
from smocast.secure.signing import FILE_BLOCKS, BlockPolicy
from smocast.secure.source import ProtectedSource
from smocast.secure.tcpsmo import SECURE_MSS, protect_channel, protect_receiver
from smocast.sim.host import Host
from smocast.sim.kernel import Simulator
from smocast.sim.topology import GROUP_ADDRESS, SOURCE_ADDRESS, PathSpec, StarTopology
from smocast.smo import events as ev
from smocast.smo.channel import Channel
from smocast.smo.config import ChannelConfig, ReceiverConfig
from smocast.smo.receiver import Receiver

MSS = SECURE_MSS  # room for the envelope


@dataclass
class Outcome:
    data: bytearray = field(default_factory=bytearray)
    ended: bool = False
    reset: str | None = None


@dataclass
class Run:
    sim: Simulator
    topology: StarTopology
    source: Host
    hosts: list[Host]
    outcomes: list[Outcome]
    payload: bytes
    source_identity: Identity
    finished: list[bool]

    @property
    def source_layer(self) -> ProtectedSource[Any]:
        endpoint = self.source.endpoint
        assert isinstance(endpoint, ProtectedSource)
        return endpoint

    def layer(self, index: int) -> ProtectedReceiver[Any]:
        endpoint = self.hosts[index].endpoint
        assert isinstance(endpoint, ProtectedReceiver)
        return endpoint

    def identical(self) -> list[bool]:
        return [
            o.ended and hashlib.sha256(o.data).digest() == hashlib.sha256(self.payload).digest() for o in self.outcomes
        ]

    def inject(self, at: float, data: bytes, origin: Address, targets: list[Host]) -> None:
        """An attacker's datagram reaches ``targets`` at ``at`` (as if sent from ``origin``)."""

        def arrive(_: object) -> None:
            for host in targets:
                host.deliver(None, data, origin)

        self.sim.schedule(at, arrive)

    def every(self, start: float, interval: float, action: Callable[[float], None]) -> None:
        """Run ``action(now)`` at ``start`` and every ``interval`` after (the attacker's loop)."""

        def tick(_: object) -> None:
            action(self.sim.now)
            if not all(self.finished):
                self.sim.schedule(self.sim.now + interval, tick)

        self.sim.schedule(start, tick)

    def run(self, until: float = 60.0) -> None:
        self.sim.run(until=until, stop=lambda: self.finished[0])


def exchange(source: Identity, rng: random.Random, grants: Any, context: bytes) -> SessionKeys:
    """The key exchange of one receiver, both sides, in memory."""
    handshake = ReceiverHandshake(rng.randbytes, Trust(frozenset({source.public.digest})))
    accepted = respond(handshake.hello(context), context, identity=source, randbytes=rng.randbytes, grants=grants)
    assert isinstance(accepted, Accepted)
    return handshake.finish(accepted.reply)


def on_receiver(host: Host, event: object, now: float) -> None:
    """The application of every receiver: it keeps what arrives."""
    outcome: Outcome = host.context
    core = getattr(host.endpoint, "inner", host.endpoint)
    if isinstance(event, ev.DataReceived):
        core.consumed(len(event.data))
        outcome.data += event.data
    elif isinstance(event, ev.StreamEnded):
        outcome.ended = True
    elif isinstance(event, ev.ConnectionReset | ev.ConnectFailed):
        outcome.reset = event.reason


def connect(host: Host) -> None:
    core = getattr(host.endpoint, "inner", host.endpoint)
    core.connect(host.sim.now)
    host.pump()


def build(
    receivers: int = 3,
    size: int = 200_000,
    seed: int = 1,
    path: PathSpec | None = None,
    *,
    secure: bool = True,
    blocks: BlockPolicy = FILE_BLOCKS,
    rotation: RotationPolicy | None = None,
    hold: HoldPolicy | None = None,
    payload: bytes | None = None,
    allow: AllowList | None = None,
    receiver_identities: list[Identity | None] | None = None,
    trust: Trust | None = None,
) -> Run:
    """A transfer of ``size`` seeded random bytes (or ``payload``) to ``receivers``, ready to run."""
    rng = random.Random(seed)
    sim = Simulator()
    topology = StarTopology(sim, path or PathSpec(rate=100e6, delay=0.002), rng)
    payload = payload if payload is not None else random.Random(seed ^ 0x5EED).randbytes(size)
    config = ChannelConfig(mss=MSS, admission="wait", min_receivers=receivers)
    channel = Channel(GROUP_ADDRESS, config, random.Random(rng.getrandbits(64)))
    identity = Identity.generate(rng.randbytes)
    layer = (
        protect_channel(channel, identity, rng.randbytes, blocks=blocks, rotation=rotation, allow=allow)
        if secure
        else None
    )
    trust = trust or Trust(frozenset({identity.public.digest}))
    finished = [False]

    def on_source(host: Host, event: object, now: float) -> None:
        finished[0] = finished[0] or isinstance(event, ev.ChannelFinished)

    source = topology.attach_source(layer or channel, on_source)
    hosts = []
    for index in range(receivers):
        core = Receiver(SOURCE_ADDRESS, ReceiverConfig(), random.Random(rng.getrandbits(64)))
        own = receiver_identities[index] if receiver_identities is not None else None
        endpoint: Any = (
            protect_receiver(core, SOURCE_ADDRESS, rng.randbytes, trust, identity=own, hold=hold)
            if layer is not None
            else core
        )
        host = topology.add_receiver(index, receivers, endpoint, on_receiver)
        host.context = Outcome()
        topology.network.join(host)
        sim.schedule(0.0, connect, host)
        hosts.append(host)

    def start(_: object) -> None:
        channel.write(payload)
        channel.close()
        source.pump()

    sim.schedule(0.0, start)
    return Run(sim, topology, source, hosts, [h.context for h in hosts], payload, identity, finished)
