"""The protection layer's batch path against its one-datagram path: same input, same result.

A seeded source sends group packets (with their signed blocks) and unicast packets to one
receiver; an outsider forges, an insider (another receiver, who holds the group key) forges
packets that open under the group key, and the network replays, reorders (packets before
their block) and loses (a block, so its packets wait for the timer). Two receivers with the
same keys take that input: one datagram at a time, and in batches of views of one buffer
that is overwritten after each batch (as the runtime's reader does). Their cores must get
the same packets in the same order, the layers must count the same, and nothing but what
the source sent may reach a core.
"""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smocast.core.datagram import Address, multicast, unicast
from smocast.secure import envelope
from smocast.secure.envelope import Kind
from smocast.secure.primitives import PacketKey
from smocast.secure.receiver import ProtectedReceiver
from smocast.secure.signing import BlockPolicy
from tests.secure.test_layer import GROUP, PEERS, SOURCE, Core, Pair


class BatchCore(Core):
    """A stub core that also takes batches, and counts the calls."""

    def __init__(self) -> None:
        super().__init__()
        self.batch_calls = 0

    def receive_datagrams(self, batch: list[tuple[bytes, Address]], now: float) -> None:
        self.batch_calls += 1
        for data, source in batch:
            assert isinstance(data, bytes)  # what the core keeps must outlive the runtime's buffer
            self.received.append((data, source))


class PathCore(Core):
    """A stub core that tells the paths apart (``path_aware``), as the TCP-SMO receiver does."""

    path_aware = True

    def __init__(self) -> None:
        super().__init__()
        self.paths: list[tuple[bytes, bool]] = []
        self.batch_calls = 0

    def receive_datagram(self, data: bytes, source: Address, now: float, *, via_group: bool = False) -> None:
        super().receive_datagram(data, source, now)
        self.paths.append((data, via_group))


class PathBatchCore(PathCore):
    def receive_datagrams(
        self, batch: list[tuple[bytes, Address]], now: float, *, via_group: bool = False, arrival: float | None = None
    ) -> None:
        self.batch_calls += 1
        for data, source in batch:
            self.receive_datagram(data, source, now, via_group=via_group)


def traffic(seed: int) -> tuple[Pair, list[bytes], set[bytes]]:
    """A seeded mix of genuine, forged, replayed, reordered and lost datagrams for receiver 0."""
    rng = random.Random(seed)
    pair = Pair(blocks=BlockPolicy(rng.randint(1, 8), 0.0))
    genuine: set[bytes] = set()
    wire: list[bytes] = []
    for turn in range(rng.randint(2, 6)):
        for i in range(rng.randint(1, 12)):
            payload = b"g%d.%d " % (turn, i) + rng.randbytes(rng.randint(0, 60))
            genuine.add(payload)
            pair.core.outbox.append(multicast(payload, b"", GROUP))
        if rng.random() < 0.5:
            payload = b"u%d" % turn
            genuine.add(payload)
            pair.core.outbox.append(unicast(payload, b"", PEERS[0]))
        sent = [d.data for d in pair.source.datagrams_to_send(float(turn)) if d.multicast or d.destination == PEERS[0]]
        if rng.random() < 0.3:  # the block arrives after its packets: they wait for it
            sent.append(sent.pop(0))
        if rng.random() < 0.15 and envelope.parse(sent[0])[0] is Kind.BLOCK:  # type: ignore[index]
            sent.pop(0)  # lost: its packets wait until the timer gives up on them
        wire.extend(sent)
    grant = pair.keys[1].grants[0]  # receiver 1, the insider
    insider = grant.packet_key()
    outsider = PacketKey(rng.randbytes(32), rng.randbytes(12))
    top = pair.source.group.next_number
    for _ in range(rng.randint(0, 12)):
        number = rng.randrange(top + 4)
        head = envelope.header(Kind.GROUP, grant.epoch, number)
        key = insider if rng.random() < 0.6 else outsider
        forged = head + key.seal(number, head, b"forged %d" % number)
        wire.insert(rng.randrange(len(wire) + 1), forged)
    for _ in range(rng.randint(0, 8)):  # replays, anywhere after the original
        at = rng.randrange(len(wire))
        wire.insert(rng.randrange(at, len(wire) + 1), wire[at])
    for _ in range(rng.randint(0, 3)):
        wire.insert(rng.randrange(len(wire) + 1), rng.randbytes(rng.randint(0, 40)))
    return pair, wire, genuine


def receivers_with_the_same_keys(
    pair: Pair, cores: tuple[type[Core], type[Core]] = (Core, BatchCore)
) -> tuple[ProtectedReceiver[None], ProtectedReceiver[None]]:
    one, batched = ProtectedReceiver(cores[0](), SOURCE), ProtectedReceiver(cores[1](), SOURCE)
    one.install(pair.keys[0])
    batched.install(pair.keys[0])
    return one, batched


def run_both(
    seed: int, cuts: list[int], cores: tuple[type[Core], type[Core]] = (Core, BatchCore)
) -> tuple[ProtectedReceiver[None], ProtectedReceiver[None], set[bytes], int]:
    pair, wire, genuine = traffic(seed)
    one, batched = receivers_with_the_same_keys(pair, cores)
    buffer = bytearray(64 * 1024)
    view = memoryview(buffer)
    start, batches, now = 0, 0, 0.0
    for cut in [*sorted(c % (len(wire) + 1) for c in cuts), len(wire)]:
        if cut <= start:
            continue
        for data in wire[start:cut]:
            one.receive_datagram(data, SOURCE, now)
        batch, offset = [], 0
        for data in wire[start:cut]:
            buffer[offset : offset + len(data)] = data
            batch.append((view[offset : offset + len(data)], SOURCE))
            offset += len(data)
        batched.receive_datagrams(batch, now, via_group=True)
        buffer[:offset] = bytes(offset)  # the reader's next batch overwrites the slots
        batches += 1
        start, now = cut, now + 0.3
        for layer in (one, batched):
            layer.handle_timer(now)
            layer.datagrams_to_send(now)
    for layer in (one, batched):
        layer.handle_timer(now + 2.0)
    return one, batched, genuine, batches


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(min_value=0, max_value=2**32), st.lists(st.integers(min_value=0, max_value=400), max_size=8))
def test_the_batch_path_lets_through_and_counts_what_the_one_datagram_path_does(seed: int, cuts: list[int]) -> None:
    one, batched, genuine, batches = run_both(seed, cuts)
    got_one, got_batched = one.inner.received, batched.inner.received  # type: ignore[attr-defined]
    assert got_batched == got_one
    assert batched.stats == one.stats
    assert len(batched.held) == len(one.held) == 0
    payloads = [data for data, _ in got_one]
    assert set(payloads) <= genuine and len(payloads) == len(set(payloads))  # nothing forged, nothing twice
    assert batched.inner.batch_calls <= batches  # type: ignore[attr-defined]


def test_the_seeded_mix_holds_every_case_the_comparison_needs() -> None:
    """The generator is not vacuous: over a few seeds, each defence fires and packets get through."""
    totals = {"opened": 0, "forged": 0, "insider_forged": 0, "replayed": 0, "held": 0, "unverified": 0}
    for seed in range(40):
        one, batched, _, _ = run_both(seed, [5, 17, 30])
        for name in totals:
            totals[name] += getattr(batched.stats, name)
        assert batched.inner.received == one.inner.received  # type: ignore[attr-defined]
    assert all(totals.values()), totals


def test_a_batch_hands_the_core_one_call_in_the_order_the_source_sent() -> None:
    pair = Pair(blocks=BlockPolicy(4, 0.0))
    pair.core.outbox = [multicast(b"p%d" % i, b"", GROUP) for i in range(10)]
    wire = [d.data for d in pair.source.datagrams_to_send(0.0)]
    _, batched = receivers_with_the_same_keys(pair)
    batched.receive_datagrams([(memoryview(data), SOURCE) for data in wire], 0.0)
    core = batched.inner
    assert core.batch_calls == 1  # type: ignore[attr-defined]
    assert [data for data, _ in core.received] == [b"p%d" % i for i in range(10)]  # type: ignore[attr-defined]


def test_a_core_that_tells_the_paths_apart_learns_which_came_through_the_group() -> None:
    """As the plain runtime does by socket, the layer tells a path-aware core (the TCP-SMO
    receiver, which ACKs a duplicate from the group late and one sent to it alone at once)
    which packets came through the group: in a batch too, in order."""
    kinds = set()
    for seed in range(40):
        one, batched, _, _ = run_both(seed, [5, 17, 30], cores=(PathCore, PathBatchCore))
        assert batched.inner.paths == one.inner.paths  # type: ignore[attr-defined]
        for payload, via_group in one.inner.paths:  # type: ignore[attr-defined]
            assert via_group == payload.startswith(b"g"), payload
            kinds.add(via_group)
    assert kinds == {True, False}
