"""An RST says why: a one-byte reason code, then text for people (issue 14)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from smocast.wire import HEADER_SIZE, PacketType, ResetCode, decode, reset_reason
from smocast.wire import build as packets


def test_an_rst_carries_a_reason_code_and_its_text() -> None:
    data, _ = packets.rst(
        channel=1, connection=7, seq=10, code=ResetCode.DISK_FULL, reason="cannot write out/f.bin: disk full"
    )
    packet = decode(data)
    assert packet.type is PacketType.RST and packet.seq == 10
    assert reset_reason(packet.payload) == (ResetCode.DISK_FULL, "cannot write out/f.bin: disk full")


def test_an_empty_payload_is_a_reset_without_a_reason() -> None:
    assert reset_reason(b"") == (ResetCode.UNSPECIFIED, "")


def test_an_unknown_code_keeps_its_text() -> None:
    assert reset_reason(bytes([250]) + b"why not") == (ResetCode.UNSPECIFIED, "why not")


def test_the_text_is_cut_to_the_limit_at_a_character_boundary() -> None:
    data, packet = packets.rst(channel=1, connection=7, code=ResetCode.VERIFY_FAILED, reason="é" * 400)
    assert len(data) <= HEADER_SIZE + 1 + packets.MAX_REASON
    code, text = reset_reason(packet.payload)
    assert code is ResetCode.VERIFY_FAILED
    assert text and set(text) == {"é"}  # no half character, no replacement mark


def test_a_small_room_still_carries_the_code() -> None:
    _, packet = packets.rst(channel=1, connection=7, code=ResetCode.DROPPED, reason="no-progress", max_reason=4)
    assert reset_reason(packet.payload) == (ResetCode.DROPPED, "no-")
    _, packet = packets.rst(channel=1, connection=7, code=ResetCode.DROPPED, reason="no-progress", max_reason=0)
    assert packet.payload == b""


def test_each_code_has_a_label_for_people() -> None:
    assert ResetCode.DISK_FULL.label == "disk-full"
    assert ResetCode.NOT_WRITABLE.label == "not-writable"
    assert ResetCode.INTERRUPTED.label == "interrupted"
    assert len({code.label for code in ResetCode}) == len(ResetCode)


@given(st.binary(max_size=300))
def test_any_payload_reads_as_a_code_and_text(payload: bytes) -> None:
    code, text = reset_reason(payload)
    assert isinstance(code, ResetCode) and isinstance(text, str)
