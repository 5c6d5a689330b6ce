"""Path MTU discovery in the channel: segments as large as every receiver confirmed, of mixed sizes.

The fake network drops each datagram larger than a receiver's path takes (``max_packet``),
as a router on a smaller-MTU link does with DF set.
"""

from __future__ import annotations

import random
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.fakenet import SERVER, FakeNet, Terrible

from smocast.core.datagram import Datagram
from smocast.smo.config import ChannelConfig, ReceiverConfig
from smocast.smo.pmtu import CONFIRM_INTERVAL, MAX_PROBES, MIN_PROBE_TIMER
from smocast.smo.receiver import Receiver
from smocast.wire import DATA_HEADER_SIZE, Packet, PacketType, decode
from smocast.wire import build as packets

BASE_MSS = 1400
JUMBO = 9000 - 28  # the smocast packet a 9000-byte IPv4 MTU carries
ETHERNET = 1500 - 28


def _net(
    receivers: int, seed: int = 1, drop: float = 0.0, **config: object
) -> tuple[FakeNet, Counter[tuple[str, int]]]:
    """A fake network whose source probes up to a 9000-byte MTU; the counter gets each datagram it sends."""
    config.setdefault("mss", BASE_MSS)
    config.setdefault("pmtu_ceiling", 9000)
    net = FakeNet(ChannelConfig(**config), receivers, seed=seed, net=Terrible(delay=0.002, drop=drop))  # type: ignore[arg-type]
    sent: Counter[tuple[str, int]] = Counter()
    send = net.channel.datagrams_to_send

    def counted(now: float) -> list[Datagram[Packet]]:
        out = send(now)
        for datagram in out:
            sent[(datagram.packet.type.name, len(datagram.data))] += 1
        return out

    net.channel.datagrams_to_send = counted  # type: ignore[method-assign]
    return net, sent


def _transfer(net: FakeNet, size: int, seed: int = 5, until: float = 120.0) -> bytes:
    data = random.Random(seed).randbytes(size)
    net.channel.write(data)
    net.channel.close()
    net.run(until=until)
    return data


def test_every_receiver_takes_jumbo_frames_so_segments_grow_to_the_ceiling() -> None:
    net, sent = _net(3)
    data = _transfer(net, 4_000_000)
    assert net.finished() and all(bytes(p.data) == data for p in net.peers)
    assert sent[("PROBE", JUMBO)] == 3  # one probe each, confirmed at once
    assert sent[("DATA", JUMBO)] > 400  # most of the file in jumbo segments
    assert sent[("DATA", BASE_MSS + DATA_HEADER_SIZE)] < 40  # only the first round trips at the base


def test_one_receiver_behind_a_1500_link_keeps_the_channel_at_its_size() -> None:
    net, sent = _net(3)
    net.peers[1].max_packet = ETHERNET
    data = _transfer(net, 8_000_000)
    assert net.finished() and all(bytes(p.data) == data for p in net.peers)
    assert sent[("PROBE", JUMBO)] == 2 + MAX_PROBES  # the small path lets MAX_PROBES go unanswered
    assert sent[("PROBE", ETHERNET)] == 1
    assert not any(kind == "DATA" and size > ETHERNET for kind, size in sent)
    assert sent[("DATA", ETHERNET)] > 2000  # after its search, the 1500-byte size (not the base)


def test_probing_off_sends_every_segment_at_the_configured_size() -> None:
    net, sent = _net(2, pmtu_ceiling=None)
    data = _transfer(net, 1_000_000)
    assert all(bytes(p.data) == data for p in net.peers)
    assert {size for kind, size in sent if kind in ("DATA", "REPAIR") and size > 1000} == {BASE_MSS + DATA_HEADER_SIZE}
    assert not any(kind == "PROBE" for kind, _ in sent)


def test_a_late_joiner_drops_new_segments_back_to_the_base_until_it_confirms() -> None:
    net, sent = _net(2, admission="continuous", min_receivers=0)
    net.channel.write(random.Random(1).randbytes(3_000_000))
    net.run(until=0.5)
    assert net.channel.probing.segment_size == JUMBO - DATA_HEADER_SIZE
    net.channel.write(random.Random(3).randbytes(3_000_000))
    net.run(until=net.now + 0.3)
    late = net.add_receiver()
    late.max_packet = ETHERNET
    sizes: list[int] = []
    net.run(until=net.now + 0.2, stop=lambda: sizes.append(net.channel.probing.segment_size) and False)
    assert BASE_MSS in sizes  # the joiner holds it at the base first
    net.channel.write(random.Random(2).randbytes(3_000_000))
    net.channel.close()
    net.run(until=60)
    assert net.finished() and late.reset is None and late.ended
    assert net.channel.probing.probes_sent >= 2 + MAX_PROBES + 1
    assert sent[("DATA", ETHERNET)] > 0 and sent[("DATA", JUMBO)] > 0


def test_a_forged_or_stale_probe_ack_changes_nothing() -> None:
    net, _ = _net(1, pmtu_ceiling=9000)
    net.peers[0].max_packet = ETHERNET  # the jumbo probes are lost: the forger tries to confirm them
    net.channel.write(random.Random(1).randbytes(200_000))
    probing = net.channel.probing
    net.run(until=0.01)  # the handshake and the first probe (number 1)
    connection = net.peers[0].receiver.connection
    for number in range(4):
        for source, conn in ((net.peers[0].address, connection + 1), (("203.0.113.9", 6000), connection)):
            forged, _ = packets.probe_ack(channel=1, connection=conn, number=number, size=JUMBO)
            net.channel.receive_datagram(forged, source, net.now)  # another connection, or another address
        stale, _ = packets.probe_ack(channel=1, connection=connection, number=number + 2, size=JUMBO)
        net.channel.receive_datagram(stale, net.peers[0].address, net.now)  # a number not yet sent
        wrong_size, _ = packets.probe_ack(channel=1, connection=connection, number=number, size=JUMBO - 1)
        net.channel.receive_datagram(wrong_size, net.peers[0].address, net.now)
    garbage = bytearray(packets.probe(channel=1, connection=connection, number=1, size=600)[0])
    garbage[-1] = 7
    net.channel.receive_datagram(bytes(garbage), net.peers[0].address, net.now)
    assert net.channel.stats.malformed == 1
    assert net.channel.probing.segment_size == BASE_MSS and probing.probe_acks == 0 and probing.stale >= 8


def test_the_receiver_answers_a_probe_with_its_number_and_size_only_once_connected() -> None:
    receiver = Receiver(SERVER, ReceiverConfig(), random.Random(1))
    probe, _ = packets.probe(channel=1, connection=receiver.connection, number=9, size=3000)
    receiver.connect(0.0)
    receiver.datagrams_to_send(0.0)
    receiver.receive_datagram(probe, SERVER, 0.0)
    assert receiver.datagrams_to_send(0.0) == []  # not established: no answer
    synack, _ = packets.syn_ack(channel=1, connection=receiver.connection, start=0, window=1 << 20, tsval=1, tsecr=1)
    receiver.receive_datagram(synack, SERVER, 0.01)
    receiver.datagrams_to_send(0.01)
    receiver.receive_datagram(probe, SERVER, 0.02)
    receiver.receive_datagram(probe, ("203.0.113.9", 5000), 0.02)  # not from the server: ignored
    answers = [decode(d.data) for d in receiver.datagrams_to_send(0.02)]
    assert [(a.type, a.seq, a.window, a.connection) for a in answers] == [
        (PacketType.PROBE_ACK, 9, 3000, receiver.connection)
    ]


def test_a_black_hole_brings_the_channel_back_to_the_base() -> None:
    net, _ = _net(2, admission="continuous", min_receivers=0)
    net.channel.write(random.Random(1).randbytes(1_000_000))
    net.run(until=0.5)
    assert net.channel.probing.segment_size == JUMBO - DATA_HEADER_SIZE
    net.peers[0].max_packet = ETHERNET  # a route change: jumbo frames vanish, small packets pass
    net.run(until=0.5 + CONFIRM_INTERVAL + (MAX_PROBES + 1) * MIN_PROBE_TIMER + 0.1)
    assert net.channel.probing.segment_size == BASE_MSS
    assert net.channel.probing.plpmtu_of(1) == BASE_MSS + DATA_HEADER_SIZE
    assert net.channel.probing.plpmtu_of(2) == JUMBO


@settings(max_examples=12, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    drop=st.sampled_from([0.0, 0.02, 0.05]),
    paths=st.lists(st.sampled_from([None, ETHERNET, 4000]), min_size=1, max_size=3),
    late=st.booleans(),
)
def test_mixed_segment_sizes_arrive_whole_through_loss_and_late_joins(
    seed: int, drop: float, paths: list[int | None], late: bool
) -> None:
    """Send buffer, SACK, repairs, reassembly: byte ranges of any mix of sizes give identical copies."""
    net, sent = _net(len(paths), seed=seed, drop=drop, admission="continuous", min_receivers=0)
    for peer, path in zip(net.peers, paths, strict=True):
        peer.max_packet = path
    first = random.Random(seed).randbytes(600_000)
    net.channel.write(first)
    net.run(until=0.3)
    joiner = net.add_receiver() if late else None
    second = random.Random(seed + 1).randbytes(600_000)
    net.channel.write(second)
    net.channel.close()
    net.run(until=300)
    assert net.finished()
    for peer in net.peers:
        assert peer.reset is None and peer.ended
        assert peer.start is not None
        assert bytes(peer.data) == (first + second)[peer.start :]
    if joiner is not None:
        assert joiner.start is not None
    # A receiver whose handshake was lost joins late too (seed 276: at the end of the stream),
    # and the segments sent before it joined were cut for the others' paths.
    present = [p for peer, p in zip(net.peers[: len(paths)], paths, strict=True) if peer.start == 0]
    smallest = min((p for p in present if p is not None), default=JUMBO)
    largest_sent = max(size for kind, size in sent if kind in ("DATA", "REPAIR"))
    assert largest_sent <= max(smallest, BASE_MSS + DATA_HEADER_SIZE) or late


def test_a_window_smaller_than_one_large_segment_cuts_shorter_segments_instead_of_stalling() -> None:
    """A fixed 6000-byte window never holds one 8924-byte segment: without shorter cuts nothing
    would be in flight, no ACK would come, and the transfer would stall for good."""
    net, sent = _net(2, congestion_control="fixed", max_window=6000)
    data = _transfer(net, 500_000, until=60)
    assert net.finished() and all(bytes(p.data) == data for p in net.peers)
    assert net.channel.probing.segment_size == JUMBO - DATA_HEADER_SIZE  # what the receivers confirmed
    sizes = {size for kind, size in sent if kind == "DATA" and size > 1000}
    assert max(sizes) <= 6000 + DATA_HEADER_SIZE and max(sizes) > BASE_MSS + DATA_HEADER_SIZE
    assert net.channel.probing.largest_segment == max(sizes) - DATA_HEADER_SIZE
