from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smocast.core.errors import LocalProtocolError
from smocast.wire import (
    COOKIE_SIZE,
    DATA_HEADER_SIZE,
    FLAG_AUTH,
    FLAG_MSG_START,
    HEADER_SIZE,
    KNOWN_FLAGS,
    MAX_STREAM_OFFSET,
    NO_COOKIE,
    VERSION,
    DecodeError,
    Packet,
    PacketType,
    decode,
    encode,
)

u32 = st.integers(0, 2**32 - 1)
u64 = st.integers(0, 2**64 - 1)
sack_block = st.tuples(u64, st.integers(1, 2**32)).map(lambda b: (b[0] % (2**63), b[0] % (2**63) + b[1]))
SHORT_TYPES = (PacketType.DATA, PacketType.REPAIR)


@st.composite
def packets(draw: st.DrawFn) -> Packet:
    flags = draw(st.integers(0, KNOWN_FLAGS)) & KNOWN_FLAGS
    trailer = draw(st.binary(max_size=40)) if flags & FLAG_AUTH else b""
    kind = draw(st.sampled_from(list(PacketType)))
    cookie = kind in (PacketType.SYN, PacketType.RETRY)
    payload = draw(st.binary(min_size=COOKIE_SIZE, max_size=COOKIE_SIZE) if cookie else st.binary(max_size=1500))
    if kind in (PacketType.PROBE, PacketType.PROBE_ACK):
        return _probe_packet(draw, kind)
    if kind in SHORT_TYPES:
        return _data_packet(draw, kind)
    return Packet(
        type=kind,
        channel=draw(u32),
        connection=draw(u64),
        seq=draw(u64),
        ack=draw(u64),
        window=draw(u32),
        tsval=draw(u32),
        tsecr=draw(u32),
        flags=flags,
        ack_every=draw(st.integers(0, 255)),
        sack=tuple(draw(st.lists(sack_block, max_size=4))),
        payload=payload,
        trailer=trailer,
    )


def _probe_packet(draw: st.DrawFn, kind: PacketType) -> Packet:
    """A valid PROBE (zeros, its size in ``window``) or PROBE_ACK (no payload)."""
    padding = draw(st.integers(0, 1500)) if kind is PacketType.PROBE else 0
    window = HEADER_SIZE + padding if kind is PacketType.PROBE else draw(u32)
    return Packet(
        kind, draw(u32), draw(u64), draw(u64), draw(u64), window, draw(u32), draw(u32), payload=bytes(padding)
    )


def _data_packet(draw: st.DrawFn, kind: PacketType) -> Packet:
    """A DATA or REPAIR: the short form's fields only."""
    return Packet(
        kind,
        draw(u32),
        seq=draw(st.integers(0, MAX_STREAM_OFFSET)),
        tsval=draw(u32),
        flags=draw(st.sampled_from([0, FLAG_MSG_START])),
        ack_every=draw(st.integers(0, 255)),
        payload=draw(st.binary(max_size=1500)),
    )


@given(packets())
def test_round_trip_every_field(packet: Packet) -> None:
    assert decode(encode(packet)) == packet


@given(packets())
def test_decode_accepts_bytearray_and_memoryview(packet: Packet) -> None:
    data = encode(packet)
    assert decode(bytearray(data)) == packet
    assert decode(memoryview(data)) == packet


@settings(max_examples=500)
@given(st.binary(max_size=200))
def test_fuzz_any_bytes_decode_or_raise_decode_error(data: bytes) -> None:
    try:
        packet = decode(data)
    except DecodeError:
        return
    assert isinstance(packet, Packet)
    assert encode(packet) == data  # anything accepted is canonical


@settings(max_examples=300)
@given(packets(), st.integers(0, 10_000), st.integers(0, 255))
def test_fuzz_corrupted_packets(packet: Packet, position: int, value: int) -> None:
    data = bytearray(encode(packet))
    data[position % len(data)] = value
    with contextlib.suppress(DecodeError):
        decode(bytes(data))


@given(packets(), st.integers(0, HEADER_SIZE + 100))
def test_truncation_is_detected(packet: Packet, cut: int) -> None:
    data = encode(packet)
    if cut >= len(data):
        return
    if packet.flags & FLAG_AUTH and cut >= len(data) - len(packet.trailer):
        return  # cutting only the trailer leaves a shorter, still valid trailer
    if packet.type in SHORT_TYPES and cut >= DATA_HEADER_SIZE:
        return  # the short form's payload runs to the datagram's end: a cut payload is a shorter one
    with pytest.raises(DecodeError):
        decode(data[:cut])


def test_specific_errors_say_what_is_wrong() -> None:
    good = encode(Packet(PacketType.UPDATA, 1, seq=5, payload=b"abc", flags=FLAG_MSG_START))
    with pytest.raises(DecodeError, match="version"):
        decode(b"\x09" + good[1:])
    with pytest.raises(DecodeError, match="type"):
        decode(good[:1] + b"\x63" + good[2:])
    with pytest.raises(DecodeError, match="flags"):
        decode(good[:2] + b"\x80" + good[3:])
    with pytest.raises(DecodeError, match="unexpected bytes"):
        decode(good + b"junk")
    with pytest.raises(DecodeError, match="truncated"):
        decode(b"")


def test_inverted_sack_block_is_rejected() -> None:
    data = bytearray(encode(Packet(PacketType.ACK, 1, sack=((10, 20),))))
    data[HEADER_SIZE : HEADER_SIZE + 16] = (20).to_bytes(8, "big") + (10).to_bytes(8, "big")
    with pytest.raises(DecodeError, match="SACK"):
        decode(bytes(data))


def test_encode_refuses_what_does_not_fit() -> None:
    with pytest.raises(LocalProtocolError):
        encode(Packet(PacketType.ACK, 1, sack=((1, 2),) * 5))
    with pytest.raises(LocalProtocolError):
        encode(Packet(PacketType.ACK, 2**32))
    with pytest.raises(LocalProtocolError):
        encode(Packet(PacketType.UPDATA, 1, trailer=b"mac"))
    with pytest.raises(LocalProtocolError):
        encode(Packet(PacketType.ACK, 1, 2**64))
    with pytest.raises(LocalProtocolError, match="cookie"):
        encode(Packet(PacketType.SYN, 1, 5))


def test_header_is_48_bytes_with_a_64_bit_connection_id() -> None:
    data = encode(Packet(PacketType.ACK, 7, 0x0123456789ABCDEF, ack=9))
    assert HEADER_SIZE == len(data) == 48
    assert data[0] == VERSION == 3
    assert int.from_bytes(data[8:16], "big") == 0x0123456789ABCDEF
    assert decode(data).connection == 0x0123456789ABCDEF


@pytest.mark.parametrize("kind", [PacketType.SYN, PacketType.RETRY])
@pytest.mark.parametrize("size", [0, COOKIE_SIZE - 1, COOKIE_SIZE + 1, 100])
def test_syn_and_retry_carry_exactly_one_cookie(kind: PacketType, size: int) -> None:
    good = encode(Packet(kind, 1, 5, payload=NO_COOKIE))
    assert decode(good).payload == NO_COOKIE
    header = bytearray(good[:HEADER_SIZE])
    header[44:46] = size.to_bytes(2, "big")
    with pytest.raises(DecodeError, match="cookie"):
        decode(bytes(header) + bytes(size))


def test_a_retry_is_never_larger_than_the_syn_it_answers() -> None:
    syn = encode(Packet(PacketType.SYN, 1, 5, window=1 << 20, tsval=3, payload=NO_COOKIE))
    retry = encode(Packet(PacketType.RETRY, 1, 5, tsecr=3, payload=bytes(range(COOKIE_SIZE))))
    assert len(retry) <= len(syn)


def test_auth_trailer_is_reserved_and_carried() -> None:
    packet = Packet(PacketType.UPDATA, 7, seq=1, payload=b"x", flags=FLAG_AUTH, trailer=b"0123456789abcdef")
    assert decode(encode(packet)).trailer == b"0123456789abcdef"
