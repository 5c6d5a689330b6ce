"""Multicast through the bridge: every joined socket gets a copy, snooping keeps it off other ports."""

from __future__ import annotations

import sys

import pytest
from tests.testbed import mcast

from smocast.testbed import Testbed


@pytest.mark.root
def test_multicast_from_host_0_reaches_every_joined_socket(prefix: str) -> None:
    with Testbed(prefix).running(hosts=3) as tb:
        one = mcast.start_receiver(tb, 1)
        two = mcast.start_receiver(tb, 2, sockets=2)
        tb.wait_for_members(mcast.GROUP, {1, 2})
        mcast.send(tb, 300)
        assert mcast.result(one) == [300]
        assert mcast.result(two) == [300, 300]  # two sockets on one host: each its own copy


@pytest.mark.root
def test_hosts_speak_igmpv3_so_source_specific_joins_work(prefix: str) -> None:
    with Testbed(prefix).running(hosts=4) as tb:
        version = tb.exec(
            1,
            ["cat", f"/proc/sys/net/ipv4/conf/{tb.interface}/force_igmp_version"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert version.strip() == "3"
        from_sender = mcast.start_receiver(tb, 1, source=tb.address(0))
        from_other = mcast.start_receiver(tb, 2, source=tb.address(3), deadline=1.0)
        tb.wait_for_members(mcast.GROUP, {1, 2})
        mcast.send(tb, 200)
        assert mcast.result(from_sender) == [200]
        assert mcast.result(from_other) == [0]


@pytest.mark.root
def test_snooping_keeps_group_traffic_off_a_port_that_did_not_join(prefix: str) -> None:
    with Testbed(prefix).running(hosts=3) as tb:
        member = mcast.start_receiver(tb, 1)
        sniffer = mcast.start(tb, 2, mcast.SNIFFER, mcast.GROUP, 1.5)
        tb.wait_for_members(mcast.GROUP, {1})
        assert tb.status().groups == {mcast.GROUP: [1]}
        mcast.send(tb, 300)
        # A positive control: unicast UDP to host 2 must show up in the same capture.
        tb.exec(0, [sys.executable, "-c", mcast.UNICAST, tb.address(2), "9", "20"], check=True)
        assert mcast.result(member) == [300]
        seen = mcast.result(sniffer)
        assert seen == {"to_group": 0, "udp": 20}, seen


@pytest.mark.root
def test_a_cut_host_gets_nothing_and_reaches_no_one_until_reconnected(prefix: str) -> None:
    with Testbed(prefix).running(hosts=3) as tb:
        one, two = mcast.start_receiver(tb, 1), mcast.start_receiver(tb, 2, deadline=1.0)
        tb.wait_for_members(mcast.GROUP, {1, 2})
        tb.cut(2)
        assert [h.cut for h in tb.status().hosts] == [False, False, True]
        assert not tb.ping(0, 2, timeout=0.3)
        assert not tb.ping(2, 1, timeout=0.3)
        assert tb.ping(0, 1)
        mcast.send(tb, 200)
        assert mcast.result(one) == [200]
        assert mcast.result(two) == [0]
        tb.reconnect(2)
        assert tb.ping(2, 0)
        again = mcast.start_receiver(tb, 2)
        tb.wait_for_members(mcast.GROUP, {1, 2})
        mcast.send(tb, 100)
        assert mcast.result(again) == [100]
