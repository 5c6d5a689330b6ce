"""Loss (nftables, per receiver) and rate (tc tbf) are applied as asked: behaviour, not timing."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from tests.testbed import mcast

from smocast.bench.offload import enable_veth_gro, probe_once
from smocast.testbed import Testbed
from smocast.testbed.shaping import GSO_MAX_SEGS


@pytest.mark.root
def test_loss_drops_a_visible_share_and_zero_loss_drops_nothing(prefix: str) -> None:
    with Testbed(prefix).running(hosts=3, loss=0.5) as tb:
        assert tb.set_loss(2, 0.0) == 0.0
        lossy, clean = mcast.start_receiver(tb, 1), mcast.start_receiver(tb, 2)
        tb.wait_for_members(mcast.GROUP, {1, 2})
        mcast.send(tb, 2000)
        [got] = mcast.result(lossy)
        assert 700 <= got <= 1300, f"{got} of 2000 arrived at loss 0.5"  # 35%-65%: about 13 sigma apart
        assert mcast.result(clean) == [2000]
        hosts = tb.status().hosts
        assert [h.loss for h in hosts] == [0.0, 0.5, 0.0]  # the sender never gets a loss rule
        assert hosts[1].dropped >= 2000 - got  # the rule's counter saw every dropped data datagram
        assert hosts[2].dropped == 0


@pytest.mark.root
def test_loss_is_rounded_to_one_in_a_thousand(prefix: str) -> None:
    with Testbed(prefix).running(hosts=2) as tb:
        assert tb.set_loss(1, 0.0234) == pytest.approx(0.023)
        assert tb.status().hosts[1].loss_per_mille == 23
        rules = tb.exec(1, ["nft", "list", "ruleset"], capture_output=True, text=True, check=True).stdout
        assert "numgen random mod 1000 < 23" in rules
        assert "udp" in rules


@pytest.mark.root
def test_rate_puts_a_tbf_with_that_rate_on_every_host(prefix: str) -> None:
    with Testbed(prefix).running(hosts=3, rate="100mbit") as tb:
        for i in range(3):
            shown = tb.exec(
                i, ["tc", "qdisc", "show", "dev", tb.interface], capture_output=True, text=True, check=True
            ).stdout
            assert "qdisc tbf" in shown and "rate 100Mbit" in shown, shown
        assert {h.rate_bps for h in tb.status().hosts} == {100e6}
        assert queue_limit(tb, 0) > 2 * int(Path("/proc/sys/net/core/wmem_max").read_text())


@pytest.mark.root
def test_rate_can_change_per_host_and_inbound(prefix: str) -> None:
    with Testbed(prefix).running(hosts=2) as tb:
        assert tb.status().hosts[1].rate_bps is None
        tb.set_rate(1, "20mbit")
        tb.set_rate(1, "10mbit", inbound=True)
        host = tb.status().hosts[1]
        assert (host.rate_bps, host.inbound_rate_bps) == (20e6, 10e6)
        switch = subprocess.run(
            ["tc", "-n", tb.layout.switch, "qdisc", "show", "dev", "p1"], capture_output=True, text=True, check=True
        ).stdout
        assert "rate 10Mbit" in switch
        tb.set_rate(1, None)
        assert tb.status().hosts[1].rate_bps is None


def queue_limit(tb: Testbed, host: int) -> float:
    """The tbf queue limit in bytes, from the latency tc reports: limit = rate * latency + burst."""
    out = tb.exec(
        host, ["tc", "-j", "qdisc", "show", "dev", tb.interface], capture_output=True, text=True, check=True
    ).stdout
    options = json.loads(out)[0]["options"]
    return float(options["rate"]) * options["lat"] / 1e6 + options["burst"]


@pytest.mark.root
def test_loss_drops_the_datagrams_of_a_gso_burst_one_by_one(prefix: str) -> None:
    """A GSO packet crosses the bridge whole unless its port cuts it (gso_max_segs 1 under loss):
    the loss rule must see, and drop, each datagram alone, not whole bursts."""
    with Testbed(prefix).running(hosts=3, loss=0.5) as tb:
        counts = [r["datagrams"] for _ in range(4) for r in probe_once(tb, "gso", False, 16, 1000)["receivers"]]
        assert any(0 < n < 16 for n in counts), f"whole bursts kept or lost: {counts}"
        assert port_gso_max_segs(tb, 1) == 1
        tb.set_loss(1, 0.0)
        assert port_gso_max_segs(tb, 1) == GSO_MAX_SEGS  # no loss: GSO packets cross whole again


@pytest.mark.root
@pytest.mark.skipif(shutil.which("ethtool") is None, reason="needs the ethtool command (apt install ethtool)")
def test_veth_gro_gives_the_receivers_gro_and_their_bridge_ports_no_tso(prefix: str) -> None:
    """``bench offload --veth-gro``: NAPI GRO on hosts 1 and 2, for forwarded UDP too; every
    datagram of a burst still arrives intact, sent as one GSO packet or one by one."""
    with Testbed(prefix).running(hosts=3) as tb:
        assert ethtool_features(tb, 1, "eth0")["generic-receive-offload"] == "off"
        enable_veth_gro(tb)
        for host in (1, 2):
            features = ethtool_features(tb, host, "eth0")
            assert features["generic-receive-offload"] == "on"
            assert features["rx-udp-gro-forwarding"] == "on"
            assert ethtool_features(tb, host, tb.layout.port(host), switch=True)["tcp-segmentation-offload"] == "off"
        for mode in ("gso", "plain"):
            for receiver in probe_once(tb, mode, True, 16, 1000)["receivers"]:
                assert receiver["datagrams"] == 16 and receiver["intact"], (mode, receiver)


def ethtool_features(tb: Testbed, host: int, device: str, *, switch: bool = False) -> dict[str, str]:
    """``ethtool -k``'s feature states of ``device`` in ``host``'s namespace (or the switch's)."""
    namespace = tb.layout.switch if switch else tb.namespace(host)
    argv = ["ip", "netns", "exec", namespace, "ethtool", "-k", device]
    shown = subprocess.run(argv, capture_output=True, text=True, check=True)
    pairs = (line.strip().split(": ", 1) for line in shown.stdout.splitlines() if ": " in line)
    return {name: value.split()[0] for name, value in pairs if value}


def port_gso_max_segs(tb: Testbed, host: int) -> int:
    argv = ["ip", "-n", tb.layout.switch, "-d", "link", "show", "dev", tb.layout.port(host)]
    shown = subprocess.run(argv, capture_output=True, text=True, check=True).stdout.split()
    return int(shown[shown.index("gso_max_segs") + 1])
