"""Signed announcements: a secure daemon takes only what the key pinned for the server signed.

Each attack is shown to work against a daemon in the insecure mode first.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import random
from pathlib import Path

import pytest

from smocast.aio.security import ReceiverSecurity
from smocast.apps.announce import Announcement, decode
from smocast.apps.announce_auth import AnnouncementCheck, announcement_refusal, sign_announcement
from smocast.apps.daemon import Daemon, Outcome
from smocast.core.datagram import Address
from smocast.secure import keyfiles
from smocast.secure.identity import Identity
from smocast.secure.keyexchange import Trust
from smocast.secure.trust import KnownSource

SOURCE = Identity.generate(random.Random(11).randbytes)
ATTACKER = Identity.generate(random.Random(12).randbytes)
PINNED = Trust(frozenset({SOURCE.public.digest}))
SENDER: Address = ("10.0.0.1", 40000)


def announced(transfer: bytes = b"\x07" * 8, name: str = "nightly-1") -> Announcement:
    digest = hashlib.sha256(name.encode()).digest()
    return Announcement(transfer, ("10.0.0.1", 5000), ("232.1.1.1", 5000), None, digest, name, 1000, 1)


def test_a_signed_announcement_survives_the_wire_and_verifies() -> None:
    heard = decode(sign_announcement(SOURCE, announced()).encode())
    assert announcement_refusal(heard, PINNED) is None
    assert announcement_refusal(heard, Trust(first_use=True)) is None


@pytest.mark.parametrize(
    "forge, why",
    [
        (lambda a: a, "not signed"),
        (lambda a: sign_announcement(ATTACKER, a), "not by a key pinned"),
        (lambda a: dataclasses.replace(sign_announcement(SOURCE, a), name="evil"), "does not verify"),
        (lambda a: dataclasses.replace(sign_announcement(SOURCE, a), server=("10.6.6.6", 5000)), "does not verify"),
        (lambda a: dataclasses.replace(a, signature=b"\x01" * 40), "not a key and a signature"),
    ],
    ids=["unsigned", "another key", "changed name", "changed server", "garbage"],
)
def test_a_forged_announcement_is_refused(forge: object, why: str) -> None:
    assert callable(forge)
    refusal = announcement_refusal(forge(announced()), PINNED)
    assert refusal is not None and why in refusal


def test_the_check_looks_the_server_up_in_the_known_sources(tmp_path: Path) -> None:
    known = tmp_path / "known_sources"
    keyfiles.append_known_source(known, KnownSource("10.0.0.1", SOURCE.public.digest, "the source"))
    check = AnnouncementCheck(ReceiverSecurity(known_sources=known))
    assert check(sign_announcement(SOURCE, announced()), SENDER) is None
    refusal = check(sign_announcement(SOURCE, dataclasses.replace(announced(), server=("10.0.0.2", 5000))), SENDER)
    assert refusal is not None and "no key is pinned" in refusal


def _taken(daemon: Daemon, heard: list[Announcement]) -> list[str]:
    """The names of the transfers ``daemon`` starts to receive when it hears ``heard`` in order."""
    taken: list[str] = []

    async def receive(announcement: Announcement, sender: Address) -> Outcome:
        taken.append(announcement.name)
        return Outcome(announcement, sender, error="not received in this test")

    async def run() -> None:
        daemon._receive = receive  # type: ignore[method-assign]
        for announcement in heard:
            daemon._consider(announcement, SENDER)
        await asyncio.gather(*daemon._active.values())

    asyncio.run(run())
    return taken


def test_a_forged_announcement_sends_an_insecure_daemon_to_the_attacker(tmp_path: Path) -> None:
    assert _taken(Daemon(tmp_path, ("239.255.77.77", 5077)), [announced(name="evil")]) == ["evil"]


def test_a_secure_daemon_ignores_a_forged_copy_and_takes_the_real_one(tmp_path: Path) -> None:
    daemon = Daemon(
        tmp_path,
        ("239.255.77.77", 5077),
        verify=AnnouncementCheck(ReceiverSecurity(trust=(SOURCE.public.fingerprint,))),
    )
    notes: list[str] = []
    daemon.notice = lambda _event, text: notes.append(text)
    forged = [sign_announcement(ATTACKER, announced(name="evil")), announced(name="evil")]
    genuine = sign_announcement(SOURCE, announced())
    assert _taken(daemon, [*forged, *forged, genuine]) == ["nightly-1"]
    assert daemon.unverified == 4
    assert sum("not taking" in note for note in notes) == 1  # said once per transfer id
