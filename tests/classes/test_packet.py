"""The classes' wire format: exact round trips, and one typed error for any bad input."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smocast.classes.packet import (
    FLAG_FIN,
    HEADER_SIZE,
    Kind,
    Packet,
    PacketError,
    decode,
    encode,
    encode_rtt_table,
    rtt_from_table,
)
from smocast.core.errors import LocalProtocolError, RemoteProtocolError

U32 = st.integers(0, 0xFFFFFFFF)


@given(
    kind=st.sampled_from(list(Kind)),
    node=U32,
    seq=U32,
    rnd=U32,
    aux=U32,
    stamp=st.floats(allow_nan=False, allow_infinity=False),
    flags=st.integers(0, 3),
    payload=st.binary(),
)
def test_encode_then_decode_is_the_identity(
    kind: Kind, node: int, seq: int, rnd: int, aux: int, stamp: float, flags: int, payload: bytes
) -> None:
    packet = Packet(kind, node, seq, rnd, aux, stamp, flags, payload)
    assert decode(encode(packet)) == packet


@given(st.binary(max_size=64))
def test_random_bytes_either_parse_or_raise_the_one_error(data: bytes) -> None:
    try:
        packet = decode(data)
    except PacketError:
        return
    assert encode(packet) == data


def test_each_kind_of_damage_is_a_packet_error_and_a_remote_error() -> None:
    good = encode(Packet(Kind.NAK, 3, 17, 2))
    damaged = [
        good[: HEADER_SIZE - 1],
        b"\x00" + good[1:],
        good[:1] + b"\x09" + good[2:],
        good[:2] + b"\x63" + good[3:],
        good[:3] + b"\x80" + good[4:],
        good[:20] + b"\x7f\xf8" + bytes(6) + good[28:],
    ]  # a NaN stamp
    for data in damaged:
        with pytest.raises(PacketError):
            decode(data)
    assert issubclass(PacketError, RemoteProtocolError)


def test_fields_that_do_not_fit_are_the_callers_error() -> None:
    with pytest.raises(LocalProtocolError):
        encode(Packet(Kind.DATA, seq=1 << 32))
    with pytest.raises(LocalProtocolError):
        encode(Packet(Kind.DATA, flags=0x40))


def test_data_is_the_only_kind_the_simulator_loses_as_data() -> None:
    assert Packet(Kind.DATA, flags=FLAG_FIN).is_data
    assert not any(Packet(k).is_data for k in Kind if k is not Kind.DATA)


def test_rtt_table_gives_each_member_its_own_entry() -> None:
    rtts = [0.0, 0.01, 0.25]
    table = encode_rtt_table(rtts)
    assert rtt_from_table(table, 0) is None  # unknown yet
    assert rtt_from_table(table, 1) == pytest.approx(0.01)
    assert rtt_from_table(table, 2) == pytest.approx(0.25)
    assert rtt_from_table(table, 3) is None
    assert rtt_from_table(random.Random(1).randbytes(3), 0) is None
