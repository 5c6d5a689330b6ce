"""The daemon's decisions, without a network: filters, and memory bounded under a flood of announcements."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from smocast.apps import daemon as daemon_module
from smocast.apps.announce import Announcement
from smocast.apps.daemon import Daemon, Filter

DIGEST = hashlib.sha256(b"m").digest()


def announced(transfer: bytes, name: str = "nightly-1", description: str = "", sending: bool = False) -> Announcement:
    return Announcement(
        transfer, ("10.0.0.1", 5000), ("232.1.1.1", 5000), None, DIGEST, name, 1000, 1, 0, description, sending
    )


@pytest.mark.parametrize(
    "sources, names, sender, name, refused",
    [
        ((), (), "10.0.0.1", "x", None),
        (("10.0.0.0/24",), (), "10.0.0.9", "x", None),
        (("10.0.0.0/24",), (), "10.0.1.9", "x", "not in --from"),
        (("2001:db8::/32",), (), "10.0.0.9", "x", "not in --from"),
        (("2001:db8::/32",), (), "2001:db8::7", "x", None),
        ((), ("nightly-*",), "10.0.0.1", "nightly-42", None),
        ((), ("nightly-*",), "10.0.0.1", "weekly-1", "matches no --name"),
    ],
)
def test_filters(sources: tuple[str, ...], names: tuple[str, ...], sender: str, name: str, refused: str | None) -> None:
    why = Filter.parse(sources, names).refuses(announced(b"\x01" * 8, name), (sender, 40000))
    assert (why is None) if refused is None else (why is not None and refused in why)


def test_a_name_pattern_also_matches_the_description() -> None:
    accept = Filter.parse((), ("*release*",))
    assert accept.refuses(announced(b"\x01" * 8, "build-7", "the release candidate"), ("10.0.0.1", 1)) is None


def test_a_flood_of_announcements_leaves_memory_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(daemon_module, "SEEN_KEPT", 100)
    notes: list[str] = []
    daemon = Daemon(tmp_path, ("239.255.77.77", 5077), accept=Filter.parse(("192.0.2.0/24",), ()))
    daemon.notice = lambda _event, text: notes.append(text)
    for n in range(5000):
        daemon._consider(announced(n.to_bytes(8, "big")), ("10.9.9.9", 40000))
    assert daemon.heard == 5000 and len(daemon._seen) <= 100
    assert len(notes) == 5000 and "not in --from" in notes[-1]  # each new transfer is noted once


def test_a_transfer_announced_again_is_noted_once(tmp_path: Path) -> None:
    notes: list[str] = []
    daemon = Daemon(tmp_path, ("239.255.77.77", 5077), accept=Filter.parse(("192.0.2.0/24",), ()))
    daemon.notice = lambda _event, text: notes.append(text)
    for _ in range(50):
        daemon._consider(announced(b"\x02" * 8), ("10.9.9.9", 40000))
    assert len(notes) == 1
