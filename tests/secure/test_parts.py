"""The layer's parts: the replay window, the envelope, group key epochs, signed blocks, the hold."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smocast.core.errors import ConfigError, LocalProtocolError
from smocast.secure import control, envelope
from smocast.secure.blocks import MAX_BLOCK_PACKETS, BlockVerifier, SignedBlock, Verdict
from smocast.secure.envelope import Kind
from smocast.secure.group import GroupGrant, GroupKeyRing, decode_grants, encode_grants
from smocast.secure.hold import HeldPackets, HoldPolicy
from smocast.secure.identity import Identity
from smocast.secure.primitives import PacketKey
from smocast.secure.replay import ReplayWindow
from smocast.secure.rotation import GroupSchedule, RotationPolicy
from smocast.secure.signing import BlockPolicy, BlockSigner, BlockStore

RNG = random.Random(9)
SOURCE = Identity.generate(RNG.randbytes)


@given(st.lists(st.integers(min_value=0, max_value=3000), max_size=300), st.integers(min_value=1, max_value=200))
def test_the_replay_window_accepts_each_number_once_and_refuses_the_too_old(numbers: list[int], size: int) -> None:
    window = ReplayWindow(size)
    accepted: set[int] = set()
    for number in numbers:
        highest = max(accepted, default=-1)
        expected = number not in accepted and number > highest - size
        assert window.fresh(number) is expected
        if expected:
            window.mark(number)
            accepted.add(number)


def test_an_unmarked_number_stays_fresh() -> None:
    window = ReplayWindow(8)
    window.mark(10)
    assert window.fresh(9) and window.fresh(9)
    assert not window.fresh(10)
    assert not window.fresh(2)  # older than the window


def test_the_envelope_parses_what_it_builds_and_nothing_else() -> None:
    head = envelope.header(Kind.GROUP, 7, 1 << 40)
    assert envelope.parse(head + bytes(16)) == (Kind.GROUP, 7, 1 << 40)
    assert envelope.parse(head) is None  # no room for a tag
    assert envelope.parse(envelope.clear(b"syn")) == (Kind.CLEAR, 0, 0)
    assert envelope.parse(b"\x01" + head[1:] + bytes(16)) is None  # a plain packet's version byte
    assert envelope.parse(head[:1] + b"\x09" + head[2:] + bytes(16)) is None  # unknown kind


def test_a_packet_key_opens_what_it_sealed_only_under_the_same_number_and_header() -> None:
    key = PacketKey.derive(bytes(32), b"test")
    sealed = key.seal(5, b"head", b"plain")
    assert key.open(5, b"head", sealed) == b"plain"
    assert key.open(6, b"head", sealed) is None
    assert key.open(5, b"HEAD", sealed) is None
    assert key.failures == 2


def test_grants_round_trip_and_junk_is_refused() -> None:
    grants = (GroupGrant(1, bytes(32)), GroupGrant(2, bytes(range(32))))
    assert decode_grants(encode_grants(grants)) == grants
    for junk in (b"", b"\x05", encode_grants(grants)[:-1]):
        with pytest.raises(ValueError, match="group keys"):
            decode_grants(junk)


POLICY = RotationPolicy(interval=10.0, lead=1.0, holdoff=2.0, max_packets=1000)


def test_the_next_key_is_announced_a_lead_ahead_and_used_on_time() -> None:
    schedule = GroupSchedule(random.Random(1).randbytes, POLICY, now=0.0)
    assert schedule.deadline() == 9.0
    assert schedule.announce(8.9) is None
    grant = schedule.announce(9.0)
    assert grant is not None and grant.epoch == 1
    assert schedule.grants() == (schedule.current, grant)
    assert not schedule.switch_due(9.5)
    assert schedule.switch_due(10.0)
    schedule.switch(10.0)
    assert schedule.current == grant
    assert schedule.number()[:2] == (1, 0)
    assert schedule.deadline() == 19.0


def test_a_departure_retires_the_announced_key_and_switches_after_the_holdoff_and_lead() -> None:
    schedule = GroupSchedule(random.Random(1).randbytes, POLICY, now=0.0)
    announced = schedule.announce(9.0)
    assert announced is not None
    schedule.revoke()  # at 9.2: the leaver holds the announced key
    assert schedule.deadline() == 11.0  # one fresh key per holdoff: the last was made at 9.0
    assert schedule.announce(10.0) is None
    fresh = schedule.announce(11.0)
    assert fresh is not None and fresh.epoch == 2 and fresh.secret != announced.secret  # epoch 1 is never used
    assert not schedule.switch_due(11.5)
    assert schedule.switch_due(12.0)  # the leaver read until 12.0 (holdoff + lead after it left), no later
    schedule.switch(12.0)
    assert schedule.current == fresh


def test_the_packet_limit_brings_the_switch_forward() -> None:
    schedule = GroupSchedule(random.Random(1).randbytes, POLICY, now=0.0)
    for _ in range(875):
        schedule.number()
    assert schedule.due(0.5)
    assert schedule.announce(0.5) is not None
    assert schedule.switch_due(1.5)


def test_rotation_settings_are_checked() -> None:
    with pytest.raises(ConfigError):
        RotationPolicy(interval=1.0, lead=2.0)
    with pytest.raises(ConfigError):
        BlockPolicy(max_packets=MAX_BLOCK_PACKETS + 1)
    with pytest.raises(ConfigError):
        HoldPolicy(signature_wait=2.0, hold_limit=1.0)


def test_a_key_ring_keeps_the_newest_epochs_and_the_first_key_of_each() -> None:
    ring = GroupKeyRing(keep=2)
    assert ring.add(GroupGrant(1, bytes(32)))
    assert not ring.add(GroupGrant(1, b"\x01" * 32))
    assert ring.get(1) is not None and ring.get(1).secret == bytes(32)  # type: ignore[union-attr]
    ring.add(GroupGrant(2, bytes(32)))
    ring.add(GroupGrant(3, bytes(32)))
    assert ring.get(1) is None and ring.newest == 3
    assert not ring.add(GroupGrant(0, bytes(32)))


def signed_block(count: int = 4, epoch: int = 0, first: int = 10) -> tuple[SignedBlock, list[tuple[bytes, bytes]]]:
    signer = BlockSigner(SOURCE, random.Random(2).randbytes, BlockPolicy(max_packets=count))
    packets = []
    for number in range(first, first + count):
        head = envelope.header(Kind.GROUP, epoch, number)
        plaintext = f"packet {number}".encode()
        signer.add(epoch, number, head, plaintext, 0.0)
        packets.append((head, plaintext))
    assert signer.full
    return signer.sign(), packets


def test_a_verified_block_vouches_for_its_packets_once_and_for_nothing_else() -> None:
    block, packets = signed_block()
    verifier = BlockVerifier(SOURCE.public)
    head, plaintext = packets[0]
    assert verifier.check(0, 10, head, plaintext) is Verdict.UNKNOWN
    assert verifier.accept(SignedBlock.decode(block.encode())) is True
    assert verifier.accept(block) is None  # seen before: not verified again
    assert verifier.check(0, 10, head, plaintext + b"!") is Verdict.FORGED
    assert verifier.check(0, 10, packets[1][0], plaintext) is Verdict.FORGED  # another number's header
    assert verifier.check(0, 10, head, plaintext) is Verdict.VERIFIED
    assert verifier.check(0, 10, head, plaintext) is Verdict.UNKNOWN  # used up


def test_a_block_signed_by_another_key_or_changed_is_refused() -> None:
    block, _ = signed_block()
    verifier = BlockVerifier(Identity.generate(random.Random(3).randbytes).public)
    assert verifier.accept(block) is False
    changed = block._replace(hashes=bytes(len(block.hashes)))
    assert BlockVerifier(SOURCE.public).accept(changed) is False


def test_a_signer_covers_consecutive_packets_of_one_epoch_only() -> None:
    signer = BlockSigner(SOURCE, random.Random(2).randbytes, BlockPolicy(max_packets=8, max_delay=0.5))
    signer.add(0, 5, b"h", b"p", 1.0)
    assert signer.due == 1.5
    with pytest.raises(LocalProtocolError):
        signer.add(0, 7, b"h", b"p", 1.0)
    with pytest.raises(LocalProtocolError):
        signer.add(1, 6, b"h", b"p", 1.0)


@pytest.mark.parametrize("junk", [b"", bytes(100), signed_block()[0].encode()[:-1]])
def test_junk_is_not_a_block(junk: bytes) -> None:
    with pytest.raises(ValueError, match="block"):
        SignedBlock.decode(junk)


def test_the_store_finds_the_block_of_a_packet_within_its_bound() -> None:
    store = BlockStore(retain=2)
    blocks = [signed_block(first=f)[0] for f in (0, 4, 8)]
    for block in blocks:
        store.add(block)
    assert store.find(0, 9) == blocks[2]
    assert store.find(0, 5) == blocks[1]
    assert store.find(0, 1) is None  # no longer retained
    assert store.find(1, 9) is None


def test_the_hold_is_bounded_and_keeps_the_first_copy_of_a_number() -> None:
    held = HeldPackets(HoldPolicy(max_packets=3, max_bytes=100, signature_wait=0.1, hold_limit=0.5))
    assert held.add(0, 1, b"h", b"a" * 40, ("s", 1), 0.0)
    assert not held.add(0, 1, b"h", b"b" * 10, ("s", 1), 0.0)
    assert held.add(0, 2, b"h", b"a" * 40, ("s", 1), 0.0)
    assert not held.add(0, 3, b"h", b"a" * 40, ("s", 1), 0.0)  # bytes
    assert held.add(0, 3, b"h", b"a" * 10, ("s", 1), 0.0)
    assert not held.add(0, 4, b"h", b"", ("s", 1), 0.0)  # count
    assert held.next_round == 0.1
    popped = held.pop(0, 1)
    assert popped is not None and popped.plaintext == b"a" * 40 and held.bytes == 50


def test_a_round_asks_once_per_block_span_and_drops_what_waited_too_long() -> None:
    held = HeldPackets(HoldPolicy(signature_wait=0.1, hold_limit=0.5))
    for number in (1, 2, 3, 70, 71):
        held.add(0, number, b"h", b"p", ("s", 1), 0.0)
    held.add(1, 0, b"h", b"p", ("s", 1), 0.3)
    assert held.due(0.05) == (0, [])
    assert held.due(0.1) == (0, [(0, 1), (0, 70)])
    assert held.due(0.15) == (0, [])  # asked 0.05 s ago
    assert held.due(0.45) == (0, [(0, 1), (0, 70), (1, 0)])
    assert held.due(0.5)[0] == 5
    assert len(held) == 1


def test_control_messages_round_trip() -> None:
    grants = (GroupGrant(3, bytes(32)),)
    kind, body = control.parse(control.key_update(grants))
    assert kind is control.ControlType.KEY_UPDATE and control.parse_grants(body) == grants
    kind, body = control.parse(control.signature_request(2, 99))
    assert kind is control.ControlType.SIGNATURE_REQUEST and control.parse_epoch_number(body) == (2, 99)
    assert control.parse_epoch(control.parse(control.key_request(4))[1]) == 4
    for junk in (b"", b"\x09", b"\x02\x00"):
        with pytest.raises(ValueError):
            kind, body = control.parse(junk)
            control.parse_epoch(body)
