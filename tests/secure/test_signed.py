"""The signed-message hook: a manifest or an announcement verifies for its key and purpose only."""

from __future__ import annotations

import random

import pytest

from smocast.secure.identity import Identity
from smocast.secure.signed import SignatureError, sign, verify

ROOT = Identity.generate(random.Random(1).randbytes)
OTHER = Identity.generate(random.Random(2).randbytes)
MANIFEST = b"SMOF\x01 a manifest's bytes, in its owner's format"


def test_a_signed_message_verifies_and_gives_back_its_payload() -> None:
    assert verify(ROOT.public, b"manifest", sign(ROOT, b"manifest", MANIFEST)) == MANIFEST


@pytest.mark.parametrize("index", [0, 10, len(MANIFEST) - 1, len(MANIFEST), -1])
def test_any_changed_byte_fails(index: int) -> None:
    message = bytearray(sign(ROOT, b"manifest", MANIFEST))
    message[index] ^= 1
    with pytest.raises(SignatureError):
        verify(ROOT.public, b"manifest", bytes(message))


def test_another_key_or_purpose_fails() -> None:
    message = sign(ROOT, b"manifest", MANIFEST)
    with pytest.raises(SignatureError, match=OTHER.public.fingerprint):
        verify(OTHER.public, b"manifest", message)
    with pytest.raises(SignatureError):
        verify(ROOT.public, b"announcement", message)
    with pytest.raises(SignatureError):
        verify(ROOT.public, b"manifest", message[:10])
