"""Reordering on the testbed (``--reorder``): a share of the datagrams takes a slower lane.

Behaviour, not timing: numbered datagrams arrive out of order with the lane and in order
without it, the lane goes away again, and a whole transfer over it shows the source a path
that reorders.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from tests.testbed import mcast
from tests.testbed.test_transfer import transfer, write_payload

from smocast.apps.processes import processes
from smocast.testbed import Testbed
from smocast.testbed.reorder import _chain_script, lane_rate, reorder_steps
from smocast.testbed.runner import TestbedError

# Counts the data datagrams that arrive after a higher-numbered one.
ORDER_RECEIVER = """\
import json, socket, struct, sys, time
group, port, deadline = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_SOCKET, 33, 4 << 20)
s.bind((group, port))
s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, socket.inet_aton(group) + bytes(4))
s.settimeout(deadline)
print("ready", flush=True)
got = late = highest = 0
while True:
    data = s.recv(65536)
    if data[:1] != b"D":
        break
    seq = struct.unpack("!I", data[1:5])[0]
    got += 1
    late += seq < highest
    highest = max(highest, seq)
print(json.dumps({"got": got, "late": late}), flush=True)
"""


def _order(tb: Testbed, host: int) -> subprocess.Popen[str]:
    return mcast.start(tb, host, ORDER_RECEIVER, mcast.GROUP, mcast.PORT, 10.0)


# --- without root ------------------------------------------------------------------------------


def test_the_share_is_rounded_to_one_in_a_thousand_and_checked() -> None:
    assert reorder_steps(0.0234) == 23
    with pytest.raises(TestbedError, match="reordered share"):
        reorder_steps(1.0)


def test_the_slow_lane_is_twice_the_reordered_share_of_the_rate() -> None:
    assert lane_rate(0.05, "100mbit") == 10_000_000
    assert lane_rate(0.0001, "100mbit") == 20_000
    assert lane_rate(0.00001, "100mbit") == 8000  # never below what htb takes


def test_the_rule_picks_the_share_for_the_port_and_sets_the_slow_class() -> None:
    script = _chain_script("p3", 50)
    assert 'oifname "p3" meta l4proto udp numgen random mod 1000 < 50 meta priority set 1:20' in script
    assert "delete chain bridge smocast_reorder p3" in script
    assert "priority set" not in _chain_script("p3", 0)  # share 0: the chain is removed, not refilled


# --- as root -----------------------------------------------------------------------------------


@pytest.mark.root
def test_a_share_of_the_datagrams_arrives_after_later_ones_and_none_without(prefix: str) -> None:
    with Testbed(prefix).running(hosts=3, rate="100mbit", reorder=0.2) as tb:
        assert tb.set_reorder(2, 0.0, "100mbit") == 0.0
        late, calm = _order(tb, 1), _order(tb, 2)
        tb.wait_for_members(mcast.GROUP, {1, 2})
        mcast.send(tb, 3000, size=1400, burst=20, pause=0.003)  # full-size, in bursts the sender's bucket lets by
        reordered, ordered = mcast.result(late), mcast.result(calm)
        assert isinstance(reordered, dict) and isinstance(ordered, dict)
        assert reordered["got"] == ordered["got"] == 3000  # the lane delays, it never drops
        # About a fifth took the lane; those that found it busy waited there and were overtaken.
        assert reordered["late"] >= 100, reordered
        assert ordered["late"] == 0
        hosts = tb.status().hosts
        assert [h.reorder for h in hosts] == [0.0, 0.2, 0.0]
        assert hosts[1].reordered > 300  # the rule's counter: about 600 of 3,000


@pytest.mark.root
def test_removing_the_lane_restores_the_port_and_an_inbound_rate_cannot_join_it(prefix: str) -> None:
    with Testbed(prefix).running(hosts=2, rate="100mbit", reorder=0.05) as tb:
        with pytest.raises(TestbedError, match="reorders"):
            tb.set_rate(1, "10mbit", inbound=True)
        tb.set_reorder(1, 0.0, "100mbit")
        shown = subprocess.run(
            ["tc", "-n", tb.layout.switch, "qdisc", "show", "dev", tb.layout.port(1)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert "htb" not in shown
        tb.set_rate(1, "10mbit", inbound=True)  # the port is free again
        with pytest.raises(TestbedError, match="inbound rate"):
            tb.set_reorder(1, 0.05, "100mbit")


@pytest.mark.root
def test_reordering_needs_a_rate(prefix: str) -> None:
    with pytest.raises(TestbedError, match="needs a rate"):
        Testbed(prefix).up(2, reorder=0.05)
    assert not Testbed(prefix).status().up  # nothing was built


@pytest.mark.root
def test_a_transfer_over_a_path_that_reorders_shows_the_source_reordering(prefix: str, tmp_path: Path) -> None:
    """Every receiver's path reorders, so the source learns it of each (send --json), and every
    copy is whole: the late originals and any repairs of them are put in order."""
    path = tmp_path / "payload.bin"
    digest = write_payload(path, 8 << 20, seed=62)
    with Testbed(prefix).running(hosts=3, rate="100mbit", reorder=0.1) as tb, processes() as started:
        report = transfer(tb, started, path, digest, range(1, 3), 1, tmp_path)
        assert report["completed"] == 2
        assert report["congestion"]["receivers_reordering"] == 2
        assert all(row["reordering"] for row in report["per_receiver"])
        assert all(h.reordered > 0 for h in tb.status().hosts[1:])


def test_the_command_line_takes_reorder() -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "smocast.cli.main", "testbed", "up", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "--reorder" in shown and "needs --rate" in " ".join(shown.split())
