"""Attacks on a simulated transfer, each shown to work without the protection layer, then to fail with it.

The attacker is an outsider on the LAN (it can send anything, from any address, and read the
group), or an insider (a receiver: it holds its session keys and the group key). Each test
runs the attack against the plain transfer first and sees it succeed, then against the
protected one: the forged packets are dropped and counted, and every copy is identical.
"""

from __future__ import annotations

import random

import pytest

from smocast.secure import envelope
from smocast.secure.allowlist import AllowList
from smocast.secure.blocks import BlockVerifier, Verdict
from smocast.secure.envelope import Kind
from smocast.secure.group import GroupGrant
from smocast.secure.identity import Identity
from smocast.secure.keyexchange import Trust
from smocast.secure.rotation import RotationPolicy
from smocast.secure.tcpsmo import protect_receiver
from smocast.sim.topology import GROUP_ADDRESS, SOURCE_ADDRESS, PathSpec
from smocast.smo.config import ReceiverConfig
from smocast.smo.receiver import Receiver
from smocast.wire import Packet, PacketType, decode, encode
from tests.secure.harness import MSS, Outcome, Run, build, connect, on_receiver

CHANNEL = 1
GARBAGE = b"\xee" * MSS


def forged_data(seq: int) -> bytes:
    return encode(Packet(PacketType.DATA, CHANNEL, 0, seq=seq, payload=GARBAGE))


def spray_forged_data(run: Run) -> None:
    """Every millisecond, forged DATA just ahead of each receiver, "from the source", to the group."""

    def spray(now: float) -> None:
        for host in run.hosts:
            core = getattr(host.endpoint, "inner", host.endpoint)
            for ahead in (1, 2, 3):
                run.inject(now, forged_data(core.rcv_nxt + ahead * MSS), SOURCE_ADDRESS, [host])

    run.every(0.0005, 0.001, spray)


def test_forged_data_voids_a_plain_transfer() -> None:
    run = build(secure=False)
    spray_forged_data(run)
    run.run()
    assert not any(run.identical())  # the attack works: every copy is corrupt


def test_forged_data_is_dropped_and_counted_by_the_layer() -> None:
    run = build()
    spray_forged_data(run)
    run.run()
    assert all(run.identical())
    for index in range(len(run.hosts)):
        assert run.layer(index).stats.malformed > 0  # a plain packet is not a protected datagram
        assert run.layer(index).stats.opened > 0


def test_data_sealed_with_a_guessed_key_fails_its_tag() -> None:
    run = build()
    guessed = GroupGrant(0, bytes(32)).packet_key()

    def spray(now: float) -> None:
        number = run.source_layer.group.next_number + 1
        head = envelope.header(Kind.GROUP, 0, number)
        sealed = head + guessed.seal(number, head, forged_data(MSS))
        run.inject(now, sealed, SOURCE_ADDRESS, run.hosts)

    run.every(0.0005, 0.001, spray)
    run.run()
    assert all(run.identical())
    assert all(run.layer(i).stats.forged > 0 for i in range(len(run.hosts)))


def insider_spray(run: Run, insider: int) -> None:
    """Receiver ``insider`` seals forged DATA under the group key it holds, with the source's next numbers."""
    victims = [h for i, h in enumerate(run.hosts) if i != insider]

    def spray(now: float) -> None:
        group = run.source_layer.group
        held = run.layer(insider).ring.get(group.current.epoch)  # the group key the insider got in its handshake
        if held is None:
            return
        key, epoch = held.key, held.epoch
        for victim in victims:
            core = victim.endpoint.inner
            for ahead in (1, 2, 3):
                number = group.next_number + ahead
                head = envelope.header(Kind.GROUP, epoch, number)
                plaintext = forged_data(core.rcv_nxt + ahead * MSS)
                run.inject(now, head + key.seal(number, head, plaintext), SOURCE_ADDRESS, [victim])

    run.every(0.0005, 0.001, spray)


def test_with_the_group_key_alone_an_insider_forges_segments(monkeypatch: pytest.MonkeyPatch) -> None:
    # The group key alone: every packet that opens under it is taken as the source's.
    monkeypatch.setattr(BlockVerifier, "check", lambda self, epoch, number, header, plaintext: Verdict.VERIFIED)
    run = build(receivers=4)
    insider_spray(run, insider=3)
    run.run()
    assert not any(run.identical()[:3])  # the attack works: every victim's copy is corrupt


def test_an_insider_with_the_group_key_cannot_get_a_forged_segment_accepted() -> None:
    run = build(receivers=4)
    insider_spray(run, insider=3)
    run.run()
    assert all(run.identical())
    for victim in range(3):
        stats = run.layer(victim).stats
        assert stats.forged == 0  # the group key opened them: AEAD alone would have let them in
        assert stats.insider_forged + stats.unverified > 0  # the source's signed blocks did not


def test_a_replayed_group_packet_is_ignored() -> None:
    run = build()
    captured: list[bytes] = []
    network_send = run.topology.network.send

    def capture(datagram, sender, now):  # type: ignore[no-untyped-def]
        if datagram.multicast and len(captured) < 20:
            captured.append(datagram.data)
        network_send(datagram, sender, now)

    run.topology.network.send = capture  # type: ignore[method-assign]
    run.every(0.01, 0.005, lambda now: [run.inject(now, d, SOURCE_ADDRESS, run.hosts) for d in captured])
    run.run()
    assert all(run.identical())
    assert all(run.layer(i).stats.replayed > 0 for i in range(len(run.hosts)))


def watch_connections(run: Run) -> dict[tuple[str, int], int]:
    """Each receiver's connection id, by address, read from the packets it sends: from the wire
    for a plain transfer (as an on-path observer reads its ACKs); with the layer they are
    encrypted, so they are read from the cores' packets and given to the attacker anyway."""
    found: dict[tuple[str, int], int] = {}
    network_send = run.topology.network.send

    def capture(datagram, sender, now):  # type: ignore[no-untyped-def]
        packet = datagram.packet
        if isinstance(packet, bytes):
            parsed = envelope.parse(packet)
            packet = None if parsed is not None else decode(packet)
        if packet is not None and packet.connection and sender is not run.source:
            found[sender.address] = packet.connection
        network_send(datagram, sender, now)

    run.topology.network.send = capture  # type: ignore[method-assign]
    for host in run.hosts:
        core = getattr(host.endpoint, "inner", None)
        if core is None:
            continue
        original = core.datagrams_to_send

        def recording(now, original=original, address=host.address):  # type: ignore[no-untyped-def]
            datagrams = original(now)
            for datagram in datagrams:
                if datagram.packet.connection:
                    found[address] = datagram.packet.connection
            return datagrams

        core.datagrams_to_send = recording
    return found


def test_forged_acks_rsts_and_fins_are_ignored() -> None:
    plain = build(secure=False)
    plain_connections = watch_connections(plain)

    def reset_everyone(now: float) -> None:
        for host in plain.hosts:
            if host.address in plain_connections:
                rst = encode(Packet(PacketType.RST, CHANNEL, plain_connections[host.address], payload=b"forged"))
                plain.inject(now, rst, SOURCE_ADDRESS, [host])

    plain.every(0.01, 0.01, reset_everyone)
    plain.run()
    assert all(o.reset is not None for o in plain.outcomes)  # the attack works unprotected

    run = build()
    connections = watch_connections(run)

    def forge_control(now: float) -> None:
        for index, host in enumerate(run.hosts):
            if host.address not in connections:
                continue
            own = run.layer(index).session
            if own is None:
                continue
            connection, session = connections[host.address], own.session_id
            for packet in (
                encode(Packet(PacketType.RST, CHANNEL, connection, payload=b"forged")),
                encode(Packet(PacketType.FIN, CHANNEL, connection, seq=1000)),
            ):
                run.inject(now, packet, SOURCE_ADDRESS, [host])  # in the clear
                head = envelope.header(Kind.UNICAST, session, 10_000)
                run.inject(now, head + packet + bytes(16), SOURCE_ADDRESS, [host])  # the right session, no key
            ack = encode(Packet(PacketType.ACK, CHANNEL, connection, ack=len(run.payload), window=1 << 20))
            run.inject(now, ack, host.address, [run.source])

    run.every(0.01, 0.01, forge_control)
    run.run()
    assert all(run.identical())
    assert all(o.reset is None for o in run.outcomes)
    assert run.source_layer.stats.malformed > 0
    assert all(run.layer(i).stats.malformed > 0 and run.layer(i).stats.forged > 0 for i in range(len(run.hosts)))


def test_an_outsider_reading_the_group_learns_nothing_of_the_content() -> None:
    secret = b"quarterly-report-FINAL.pdf"
    for secure in (False, True):
        run = build(secure=secure, payload=secret + random.Random(2).randbytes(100_000))
        seen: list[bytes] = []
        network_send = run.topology.network.send

        def capture(datagram, sender, now, seen=seen, network_send=network_send):  # type: ignore[no-untyped-def]
            seen.append(datagram.data)
            network_send(datagram, sender, now)

        run.topology.network.send = capture  # type: ignore[method-assign]
        run.run()
        assert all(run.identical())
        leaked = any(secret in data for data in seen)
        assert leaked is not secure  # plain: the name is on the wire; protected: nowhere


def test_a_lost_block_is_asked_for_and_resent() -> None:
    run = build(receivers=4, size=400_000, seed=5, path=PathSpec(rate=100e6, delay=0.002, loss=0.05))
    run.run()
    assert all(run.identical())
    asked = sum(run.layer(i).stats.signature_requests_sent for i in range(4))
    assert asked > 0
    assert run.source_layer.stats.signatures_resent > 0


def test_the_same_seed_gives_the_same_datagrams_bit_for_bit() -> None:
    def trace(seed: int) -> list[bytes]:
        run = build(seed=seed, path=PathSpec(rate=100e6, delay=0.002, loss=0.02))
        sent: list[bytes] = []
        network_send = run.topology.network.send

        def capture(datagram, sender, now):  # type: ignore[no-untyped-def]
            sent.append(datagram.data)
            network_send(datagram, sender, now)

        run.topology.network.send = capture  # type: ignore[method-assign]
        run.run()
        assert all(run.identical())
        return sent

    first = trace(7)
    assert trace(7) == first
    assert trace(8) != first


def test_group_keys_rotate_during_a_transfer() -> None:
    run = build(size=600_000, rotation=RotationPolicy(interval=0.01, lead=0.004, holdoff=0.0))
    run.run()
    assert all(run.identical())
    assert run.source_layer.group.current.epoch >= 3
    assert run.source_layer.stats.key_updates_sent >= 3 * len(run.hosts)


def test_group_address_is_where_blocks_go() -> None:
    run = build()
    destinations: set[tuple[str, int]] = set()
    network_send = run.topology.network.send

    def capture(datagram, sender, now):  # type: ignore[no-untyped-def]
        parsed = envelope.parse(datagram.data)
        if parsed is not None and parsed[0] is Kind.BLOCK:
            destinations.add(datagram.destination)
        network_send(datagram, sender, now)

    run.topology.network.send = capture  # type: ignore[method-assign]
    run.run()
    assert destinations == {GROUP_ADDRESS}


def test_a_receiver_not_on_the_allow_list_gets_nothing_not_even_the_file_name() -> None:
    name = b"merger-plans-2031.xlsx"
    listed = [Identity.generate(random.Random(5 + i).randbytes) for i in range(3)]
    allow = AllowList(frozenset(identity.public.digest for identity in listed))
    run = build(
        payload=name + random.Random(4).randbytes(150_000),
        allow=allow,
        receiver_identities=list[Identity | None](listed),
    )
    stranger = Identity.generate(random.Random(9).randbytes)
    core = Receiver(SOURCE_ADDRESS, ReceiverConfig(), random.Random(8))
    trust = Trust(frozenset({run.source_identity.public.digest}))
    eavesdropper = protect_receiver(core, SOURCE_ADDRESS, random.Random(10).randbytes, trust, identity=stranger)
    seen: list[bytes] = []

    def listen(data: bytes, source: tuple[str, int], now: float) -> None:
        seen.append(data)
        eavesdropper.receive_datagram(data, source, now)

    host = run.topology.add_receiver(len(run.hosts), len(run.hosts) + 1, eavesdropper, on_receiver)
    host.context = Outcome()
    host.endpoint.receive_packet = listen  # type: ignore[method-assign]
    run.topology.network.join(host)
    run.sim.schedule(0.0, connect, host)
    run.run()
    assert all(run.identical())  # the listed receivers got the file
    assert host.context.reset == "not admitted"  # the stranger was refused in its handshake
    assert eavesdropper.session is None and run.source_layer.exchange is not None
    assert run.source_layer.exchange.counts.refused >= 1
    assert len(seen) > 100  # it was on the group the whole time
    assert eavesdropper.stats.opened == 0
    assert not any(name in data for data in seen)
