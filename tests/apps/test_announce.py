"""Announcements: the format, its signature slot, and bad datagrams refused with the one error."""

from __future__ import annotations

import contextlib
import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smocast.apps.announce import MAX_SIZE, Announcement, AnnouncementError, decode

DIGEST = hashlib.sha256(b"manifest").digest()


def sample(**changes: object) -> Announcement:
    base = Announcement(
        b"\x01" * 8,
        ("10.0.0.1", 5000),
        ("232.1.1.1", 5000),
        None,
        DIGEST,
        "nightly build",
        123_456_789,
        42,
        3,
        "release 2.1 for the lab",
        sending=True,
        sequence=7,
    )
    fields = {f: getattr(base, f) for f in base.__dataclass_fields__} | changes
    return Announcement(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "announcement",
    [
        sample(),
        sample(server=("fd77::1", 6000), group=("ff3e::1234", 6000), source="fd77::9"),
        sample(server=("0.0.0.0", 5000), history=False, stream=True, name="ünïcødé", description=""),
        sample(signature=b"\xaa" * 64),
    ],
)
def test_announcements_round_trip(announcement: Announcement) -> None:
    assert decode(announcement.encode()) == announcement


def test_the_signature_covers_everything_but_itself() -> None:
    unsigned, signed = sample(), sample(signature=b"S" * 64)
    assert unsigned.signed_bytes() == signed.signed_bytes()
    assert signed.encode() == signed.signed_bytes() + b"\x00\x40" + b"S" * 64
    assert sample(name="other").signed_bytes() != unsigned.signed_bytes()


def test_long_text_is_cut_on_a_character_boundary() -> None:
    got = decode(sample(name="é" * 300, description="ü" * 2000).encode())
    assert got.name == "é" * 127 and got.description == "ü" * 512


def test_an_unspecified_or_link_local_server_is_the_sender() -> None:
    assert sample(server=("0.0.0.0", 5000)).server_from(("10.0.0.7", 40000)) == ("10.0.0.7", 5000)
    link = sample(server=("fe80::1", 5000), group=("ff32::1", 5000))
    assert link.server_from(("fe80::1%eth0", 40000)) == ("fe80::1%eth0", 5000)
    assert sample().server_from(("10.0.0.7", 40000)) == ("10.0.0.1", 5000)


@pytest.mark.parametrize(
    "data, message",
    [
        (b"XXXX" + sample().encode()[4:], "not a smocast announcement"),
        (sample().encode()[:4] + b"\x09" + sample().encode()[5:], "version 9"),
        (sample().encode()[:-3], "cut short"),
        (sample().encode() + b"!", "stray bytes"),
        (sample(group=("10.0.0.2", 5000)).encode(), "not a multicast address"),
        (b"\x00" * (MAX_SIZE + 1), "at most"),
    ],
)
def test_bad_announcements_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(AnnouncementError, match=message):
        decode(data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_random_datagrams_decode_or_raise_the_one_error(data: bytes) -> None:
    with contextlib.suppress(AnnouncementError):
        decode(b"SMOA\x01" + data)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_mutated_announcements_decode_or_raise_the_one_error(data: st.DataObject) -> None:
    raw = bytearray(sample(server=("fd77::1", 6000), group=("ff3e::1", 6000)).encode())
    raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    with contextlib.suppress(AnnouncementError):
        decode(bytes(raw))
