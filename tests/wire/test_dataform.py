"""The short form of DATA and REPAIR: 16 bytes of header, the payload to the datagram's end."""

from __future__ import annotations

import struct

import pytest

from smocast.core.errors import LocalProtocolError
from smocast.smo.sendbuf import SendBuffer
from smocast.wire import (
    DATA_HEADER_SIZE,
    FLAG_AUTH,
    FLAG_MSG_START,
    FLAG_RESUME,
    HEADER_SIZE,
    MAX_STREAM_OFFSET,
    VERSION,
    DecodeError,
    Packet,
    PacketType,
    data_fields,
    decode,
    encode,
    encode_data,
    plain_data_fields,
)


def test_a_data_header_is_16_bytes_with_a_48_bit_offset() -> None:
    packet = Packet(
        PacketType.DATA,
        0x01020304,
        seq=0x123456789ABC,
        tsval=0xA1B2C3D4,
        flags=FLAG_MSG_START,
        ack_every=9,
        payload=b"xy",
    )
    data = encode(packet)
    assert DATA_HEADER_SIZE == 16 == len(data) - 2
    assert data[0] == 0x80 | FLAG_MSG_START
    assert data[1:5] == bytes([1, 2, 3, 4])
    assert data[5:11] == (0x123456789ABC).to_bytes(6, "big")
    assert data[11:15] == (0xA1B2C3D4).to_bytes(4, "big")
    assert data[15] == 9 and data[16:] == b"xy"
    assert decode(data) == packet
    assert HEADER_SIZE - DATA_HEADER_SIZE == 32  # what each data packet saves against the full header


def test_a_repair_sets_its_bit_and_carries_no_connection_id() -> None:
    data, packet = encode_data(PacketType.REPAIR, channel=5, seq=1 << 40, tsval=1, flags=0, ack_every=1, payload=b"z")
    assert data[0] == 0x90 and len(data) == DATA_HEADER_SIZE + 1
    assert decode(data) == packet == Packet(PacketType.REPAIR, 5, 0, 1 << 40, tsval=1, ack_every=1, payload=b"z")


def test_data_under_the_full_header_is_refused() -> None:
    """Version 3 sends stream data only in the short form, so the long way round is no second door."""
    full = struct.pack("!BBBBIQQQIIIHBx", VERSION, PacketType.DATA, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 2) + b"x"
    with pytest.raises(DecodeError, match="short form"):
        decode(full)


@pytest.mark.parametrize("form", [0x80 | FLAG_AUTH, 0x80 | FLAG_RESUME, 0x88, 0x9F])
def test_unknown_bits_of_the_form_byte_are_refused(form: int) -> None:
    good = encode(Packet(PacketType.DATA, 1, seq=5, payload=b"abc"))
    with pytest.raises(DecodeError, match="flags"):
        decode(bytes([form]) + good[1:])


def test_a_short_header_cut_short_is_refused() -> None:
    good = encode(Packet(PacketType.DATA, 1, seq=5, payload=b"abc"))
    for cut in range(1, DATA_HEADER_SIZE):
        with pytest.raises(DecodeError, match="truncated"):
            decode(good[:cut])


@pytest.mark.parametrize(
    "packet",
    [
        Packet(PacketType.REPAIR, 1, connection=7, payload=b"x"),
        Packet(PacketType.DATA, 1, ack=3, payload=b"x"),
        Packet(PacketType.DATA, 1, window=3, payload=b"x"),
        Packet(PacketType.DATA, 1, tsecr=3, payload=b"x"),
        Packet(PacketType.DATA, 1, sack=((1, 2),)),
        Packet(PacketType.DATA, 1, flags=FLAG_RESUME),
        Packet(PacketType.DATA, 1, flags=FLAG_AUTH, trailer=b"mac"),
        Packet(PacketType.DATA, 1, seq=MAX_STREAM_OFFSET + 1),
        Packet(PacketType.DATA, 2**32),
        Packet(PacketType.DATA, 1, ack_every=256),
    ],
)
def test_encode_refuses_what_the_short_form_cannot_carry(packet: Packet) -> None:
    with pytest.raises(LocalProtocolError):
        encode(packet)


def test_the_largest_offset_round_trips() -> None:
    packet = Packet(PacketType.DATA, 1, seq=MAX_STREAM_OFFSET, payload=b"")
    assert decode(encode(packet)).seq == MAX_STREAM_OFFSET == 2**48 - 1


def test_the_receivers_fast_path_reads_only_data_with_a_payload() -> None:
    data = encode(Packet(PacketType.DATA, 3, seq=10, tsval=4, flags=FLAG_MSG_START, ack_every=2, payload=b"abc"))
    assert plain_data_fields(data) == (3, 10, 4, FLAG_MSG_START, 2)
    assert plain_data_fields(memoryview(data)) == (3, 10, 4, FLAG_MSG_START, 2)
    assert plain_data_fields(encode(Packet(PacketType.DATA, 3, seq=10))) is None  # a heartbeat
    assert plain_data_fields(encode(Packet(PacketType.REPAIR, 3, seq=10, payload=b"abc"))) is None
    assert plain_data_fields(encode(Packet(PacketType.ACK, 3, ack=10))) is None
    assert plain_data_fields(bytes([0x81]) + data[1:]) is None  # an unknown flag: the full decode says why


def test_data_fields_reads_data_and_repairs_for_the_load_generator() -> None:
    assert data_fields(encode(Packet(PacketType.REPAIR, 3, seq=10, tsval=4, payload=b"abc"))) == (True, 10, 4, 3)
    assert data_fields(encode(Packet(PacketType.DATA, 3, seq=10, tsval=4))) == (False, 10, 4, 0)
    assert data_fields(encode(Packet(PacketType.ACK, 3, ack=10))) is None


def test_a_stream_ends_before_the_largest_offset() -> None:
    """A write that would pass what the header carries is refused whole, before anything is queued."""
    buf = SendBuffer(1000, start=MAX_STREAM_OFFSET - 10)
    buf.write(bytes(6))
    with pytest.raises(LocalProtocolError, match="new channel"):
        buf.write(bytes(5))
    assert buf.pending == 6
    buf.write(bytes(4))
    assert buf.pending == 10
