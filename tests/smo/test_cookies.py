"""The stateless cookies of the handshake (issue 10): bound to the peer, expiring, from the injected generator."""

from __future__ import annotations

import random

import pytest

from smocast.smo.cookies import COOKIE_SLOT, CookieJar
from smocast.wire import COOKIE_SIZE, NO_COOKIE

PEER = ("198.51.100.7", 4000)


def jar(seed: int = 1, channel: int = 1) -> CookieJar:
    return CookieJar(channel, random.Random(seed))


def test_a_cookie_is_valid_for_its_peer_in_its_slot_and_the_next() -> None:
    cookies = jar()
    cookie = cookies.make(PEER, 42, 100.0)
    assert len(cookie) == COOKIE_SIZE
    assert cookies.check(cookie, PEER, 42, 100.0)
    assert cookies.check(cookie, PEER, 42, 100.0 + COOKIE_SLOT)  # the next slot still takes it


def test_a_cookie_expires_after_two_slots() -> None:
    cookies = jar()
    cookie = cookies.make(PEER, 42, 100.0)
    assert not cookies.check(cookie, PEER, 42, 100.0 + 2 * COOKIE_SLOT)
    assert not cookies.check(cookie, PEER, 42, 600.0)  # a replay ten minutes later


@pytest.mark.parametrize(
    ("address", "connection"),
    [(("198.51.100.8", 4000), 42), (("198.51.100.7", 4001), 42), (PEER, 43)],
    ids=["other host", "other port", "other connection"],
)
def test_a_cookie_is_bound_to_address_port_and_connection(address: tuple[str, int], connection: int) -> None:
    cookies = jar()
    assert not cookies.check(cookies.make(PEER, 42, 1.0), address, connection, 1.0)


def test_a_cookie_is_bound_to_the_channel_and_its_secret() -> None:
    cookie = jar(seed=1, channel=1).make(PEER, 42, 1.0)
    assert not jar(seed=1, channel=2).check(cookie, PEER, 42, 1.0)
    assert not jar(seed=2, channel=1).check(cookie, PEER, 42, 1.0)


def test_a_tampered_or_empty_cookie_is_refused() -> None:
    cookies = jar()
    cookie = bytearray(cookies.make(PEER, 42, 1.0))
    cookie[-1] ^= 1
    assert not cookies.check(bytes(cookie), PEER, 42, 1.0)
    assert not cookies.check(NO_COOKIE, PEER, 42, 1.0)
    assert not cookies.check(b"short", PEER, 42, 1.0)


def test_the_secret_comes_from_the_injected_generator_only() -> None:
    assert jar(seed=5).make(PEER, 42, 1.0) == jar(seed=5).make(PEER, 42, 1.0)
    assert jar(seed=5).make(PEER, 42, 1.0) != jar(seed=6).make(PEER, 42, 1.0)


def test_the_secret_rotates_each_slot() -> None:
    cookies = jar()
    first = cookies.make(PEER, 42, 1.0)
    later = cookies.make(PEER, 42, 1.0 + COOKIE_SLOT)
    assert first[4:] != later[4:]
