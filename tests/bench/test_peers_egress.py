"""``bench peers`` counts the egress as the wire carries it, each datagram of a GSO batch with its headers."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from smocast.bench.fanout_runs import egress_bytes
from smocast.bench.peers_egress import root_qdisc_bytes, wire_egress
from smocast.testbed import Testbed

PREFIX = "bpq"
SEGMENT, SEGMENTS = 1000, 10
HEADERS = 14 + 20 + 8  # Ethernet, IPv4, UDP
GSO_BATCH = f"""
import socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendmsg([bytes({SEGMENT * SEGMENTS})], [(socket.SOL_UDP, 103, struct.pack("=H", {SEGMENT}))], 0, ("10.77.0.2", 9))
"""


def test_the_root_qdisc_counts_and_a_missing_one_does_not() -> None:
    tbf = {"kind": "tbf", "handle": "8001:", "root": True, "bytes": 1234, "packets": 5}
    assert root_qdisc_bytes([tbf]) == 1234
    assert root_qdisc_bytes([{"kind": "noqueue", "root": True, "bytes": 0}]) is None
    assert root_qdisc_bytes([]) is None


@pytest.fixture
def shaped() -> Iterator[Testbed]:
    Testbed(PREFIX).down()
    with Testbed(PREFIX).running(hosts=2) as tb:
        tb.set_rate(0, "100mbit")
        yield tb


@pytest.mark.root
def test_a_gso_batch_counts_each_datagram_with_its_headers(shaped: Testbed) -> None:
    interface, wire = egress_bytes(shaped), wire_egress(shaped)
    assert wire is not None
    shaped.exec(0, [sys.executable, "-c", GSO_BATCH], check=True)
    sent_interface, sent_wire = egress_bytes(shaped) - interface, wire_egress(shaped) or 0
    sent_wire -= wire
    assert sent_wire >= SEGMENTS * (SEGMENT + HEADERS)  # what the wire carried
    assert sent_interface < sent_wire  # the interface counted the batch's headers once


@pytest.mark.root
def test_an_unshaped_link_has_no_wire_counter() -> None:
    Testbed(PREFIX).down()
    with Testbed(PREFIX).running(hosts=2) as tb:
        assert wire_egress(tb) is None
