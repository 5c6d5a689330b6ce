"""Identities, fingerprints and the trust files' parsers."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smocast.secure.allowlist import parse_allow_list
from smocast.secure.errors import FingerprintError, TrustFileError
from smocast.secure.identity import Identity, PublicIdentity, format_fingerprint, parse_fingerprint
from smocast.secure.trust import parse_known_sources

SEEDED = random.Random(11).randbytes


@given(st.binary(min_size=32, max_size=32))
def test_a_printed_fingerprint_parses_back_to_its_digest(digest: bytes) -> None:
    text = format_fingerprint(digest)
    assert text.startswith("SHA256:")
    assert len(text.split(":")[1].split("-")) == 13
    assert parse_fingerprint(text) == digest
    assert parse_fingerprint(text.upper().removeprefix("SHA256:").replace("-", " ")) == digest


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("SHA256:abcd", "expected 52 base32 characters"),
        ("0" * 52, "only the letters a-z and digits 2-7"),
        ("", "got 0"),
    ],
)
def test_a_bad_fingerprint_says_what_is_wrong(text: str, says: str) -> None:
    with pytest.raises(FingerprintError, match=says):
        parse_fingerprint(text)


def test_the_fingerprint_is_the_sha256_of_the_raw_public_key() -> None:
    import hashlib

    identity = Identity.generate(SEEDED)
    assert parse_fingerprint(identity.public.fingerprint) == hashlib.sha256(identity.public.raw).digest()


def test_a_seeded_identity_is_the_same_every_time_and_signs_what_it_verifies() -> None:
    a, b = Identity.generate(random.Random(3).randbytes), Identity.generate(random.Random(3).randbytes)
    assert a.public == b.public
    signature = a.sign(b"message")
    assert b.public.verify(signature, b"message")
    assert not b.public.verify(signature, b"messagE")
    assert not Identity.generate(SEEDED).public.verify(signature, b"message")


def test_public_identities_compare_by_key() -> None:
    identity = Identity.generate(SEEDED)
    assert PublicIdentity(identity.public.raw) == identity.public
    assert len({PublicIdentity(identity.public.raw), identity.public}) == 1
    with pytest.raises(ValueError, match="32 bytes"):
        PublicIdentity(b"short")


FP1 = format_fingerprint(bytes(range(32)))
FP2 = format_fingerprint(bytes(range(1, 33)))


def test_known_sources_match_by_address_and_port() -> None:
    text = f"""# known sources
192.0.2.10:5000 {FP1}  the office server
media.example {FP2}
[fd00::1]:7000 {FP2}   # an IPv6 source

192.0.2.10:5000 {FP2}  its next key
"""
    known = parse_known_sources(text, "known")
    assert known.trusted("192.0.2.10", 5000) == {bytes(range(32)), bytes(range(1, 33))}
    assert known.trusted("192.0.2.10", 5001) == frozenset()
    assert known.trusted("media.example", 1) == {bytes(range(1, 33))}
    assert known.trusted("fd00::1", 7000) == {bytes(range(1, 33))}
    assert known.entries[0].comment == "the office server"
    assert known.entries[-1].line == 6
    assert parse_known_sources(known.entries[0].render()).entries[0].digest == bytes(range(32))


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (f"# ok\n\n192.0.2.1:5000 {FP1}\n192.0.2.1:5000\n", "known:4: expected ADDRESS FINGERPRINT"),
        ("host SHA256:nope\n", "known:1: 'SHA256:nope' is not a fingerprint"),
        (f"host:99999 {FP1}\n", "known:1: 'host:99999' is not HOST"),
        (f":5000 {FP1}\n", "known:1:"),
        ("a\x00b\n", "NUL byte"),
    ],
)
def test_a_bad_known_sources_line_names_the_file_and_line(text: str, says: str) -> None:
    with pytest.raises(TrustFileError, match=says):
        parse_known_sources(text, "known")


def test_the_allow_list_holds_fingerprints_with_comments() -> None:
    allow = parse_allow_list(f"{FP1} alice's laptop\n# {FP2} commented out\n\n", "allow")
    assert bytes(range(32)) in allow
    assert bytes(range(1, 33)) not in allow
    assert len(allow) == 1
    assert allow.comments[bytes(range(32))] == "alice's laptop"


def test_a_bad_allow_list_line_names_the_line() -> None:
    with pytest.raises(TrustFileError, match=r"allow:2: 'SHA256:xyz' is not a fingerprint"):
        parse_allow_list(f"{FP1}\nSHA256:xyz bob\n", "allow")
