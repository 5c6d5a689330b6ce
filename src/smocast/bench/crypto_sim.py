"""The block delay's effect on a file transfer, in the simulator (sim time: the same seed, the same figures).

A signed block makes group packets wait at the source until the block is signed: at most
``max_delay``, or until ``max_packets`` are in it. The simulator shows what that wait does to
a transfer's goodput (the ACK clock sees it as a longer round trip), without any CPU cost:
``smocast bench crypto --sim`` runs one TCP-SMO transfer without the layer and one per block
policy, with the same seed, and reports goodput (sim time: the same seed gives the same
figure), the blocks' mean size, and the CPU the whole simulation took in this process (the
source's and every receiver's work, the layer's included: compare it with the plain run's).
"""

from __future__ import annotations

import random
import time
from typing import Any

from smocast.secure.envelope import OVERHEAD
from smocast.secure.exchange_source import Accepted
from smocast.secure.identity import Identity
from smocast.secure.keyexchange import ReceiverHandshake, Trust
from smocast.secure.receiver import ProtectedReceiver
from smocast.secure.signing import BlockPolicy
from smocast.secure.source import ProtectedSource
from smocast.sim.host import Host
from smocast.sim.kernel import Simulator
from smocast.sim.topology import GROUP_ADDRESS, SOURCE_ADDRESS, PathSpec, StarTopology, receiver_address
from smocast.smo import events as ev
from smocast.smo.channel import Channel
from smocast.smo.config import ChannelConfig, ReceiverConfig
from smocast.smo.receiver import Receiver

MSS = 1400 - OVERHEAD
DELAYS_MS = (0.0, 0.5, 1.0, 2.0, 5.0)
BLOCK_PACKETS = 64


class _Transfer:
    """One simulated file transfer, with every endpoint behind the layer when ``blocks`` is given."""

    def __init__(self, receivers: int, size: int, path: PathSpec, blocks: BlockPolicy | None, seed: int) -> None:
        self.rng = random.Random(seed)
        self.sim = Simulator()
        self.topology = StarTopology(self.sim, path, self.rng)
        self.payload = random.Random(seed ^ 0x5EED).randbytes(size)
        config = ChannelConfig(mss=MSS, admission="wait", min_receivers=receivers)
        self.channel = Channel(GROUP_ADDRESS, config, random.Random(self.rng.getrandbits(64)))
        self.identity = Identity.generate(self.rng.randbytes)
        self.layer: ProtectedSource[Any] | None = None
        if blocks is not None:
            self.layer = ProtectedSource(self.channel, self.identity, self.rng.randbytes, blocks=blocks)
        self.source = self.topology.attach_source(self.layer or self.channel, self._on_source)
        self.finished_at: float | None = None
        self.ended = 0
        for index in range(receivers):
            self._add(index, receivers)

    def _add(self, index: int, count: int) -> None:
        core = Receiver(SOURCE_ADDRESS, ReceiverConfig(), random.Random(self.rng.getrandbits(64)))
        endpoint: Any = core
        if self.layer is not None:
            endpoint = ProtectedReceiver(core, SOURCE_ADDRESS)
            handshake = ReceiverHandshake(self.rng.randbytes, Trust(frozenset({self.identity.public.digest})))
            accepted = self.layer.accept(receiver_address(index), handshake.hello(b"sim"), b"sim")
            assert isinstance(accepted, Accepted)
            endpoint.install(handshake.finish(accepted.reply))
        host = self.topology.add_receiver(index, count, endpoint, self._on_receiver)
        host.context = core
        self.topology.network.join(host)
        self.sim.schedule(0.0, self._connect, host)

    def _connect(self, host: Host) -> None:
        host.context.connect(self.sim.now)
        host.pump()

    def _on_source(self, host: Host, event: object, now: float) -> None:
        if isinstance(event, ev.ChannelFinished):
            self.finished_at = now

    def _on_receiver(self, host: Host, event: object, now: float) -> None:
        if isinstance(event, ev.DataReceived):
            host.context.consumed(len(event.data))
        elif isinstance(event, ev.StreamEnded):
            self.ended += 1

    def run(self) -> dict[str, Any]:
        def start(_: object) -> None:
            self.channel.write(self.payload)
            self.channel.close()
            self.source.pump()

        self.sim.schedule(0.0, start)
        cpu = time.process_time()
        self.sim.run(until=600.0, stop=lambda: self.finished_at is not None)
        cpu = time.process_time() - cpu
        finish = self.finished_at or self.sim.now
        stats = self.layer.stats if self.layer is not None else None
        per_block = round(stats.block_packets / stats.blocks_signed, 1) if stats and stats.blocks_signed else None
        return {
            "completed": self.ended,
            "cpu_s": round(cpu, 3),
            "goodput_mbps": round(len(self.payload) * 8 / finish / 1e6, 2),
            "packets_per_block": per_block,
        }


def run(receivers: int, size: int, rate: float, delay: float, seed: int) -> dict[str, Any]:
    """Goodput without the layer, then with it under each block delay, in one JSON object."""
    path = PathSpec(rate=rate, delay=delay)
    plain = _Transfer(receivers, size, path, None, seed).run()
    rows = []
    for delay_ms in DELAYS_MS:
        policy = BlockPolicy(max_packets=BLOCK_PACKETS, max_delay=delay_ms / 1000)
        result = _Transfer(receivers, size, path, policy, seed).run()
        ratio = round(result["goodput_mbps"] / plain["goodput_mbps"], 3) if plain["goodput_mbps"] else None
        cpu_ratio = round(result["cpu_s"] / plain["cpu_s"], 2) if plain["cpu_s"] else None
        rows.append({"max_delay_ms": delay_ms, "max_packets": BLOCK_PACKETS, **result})
        rows[-1] |= {"goodput_ratio": ratio, "cpu_ratio": cpu_ratio}
    return {
        "receivers": receivers,
        "bytes": size,
        "rate_bps": rate,
        "one_way_delay_s": delay,
        "seed": seed,
        "plain": plain,
        "secure": rows,
    }
