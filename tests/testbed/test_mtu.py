"""``Testbed.set_mtu``: every link takes the MTU, so a jumbo datagram crosses unfragmented."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from smocast.testbed import Testbed
from smocast.testbed.runner import TestbedError

# Sends one 8000-byte datagram to argv[1] with fragmentation forbidden (IP_PMTUDISC_DO):
# prints "sent", or the error name when the path's MTU is too small for it.
DONT_FRAGMENT = """\
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, 10, 2)  # IP_MTU_DISCOVER = IP_PMTUDISC_DO
try:
    s.sendto(bytes(8000), (sys.argv[1], 47091))
    print("sent")
except OSError as exc:
    print(type(exc).__name__, exc.errno)
"""

SINK = """\
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 47091))
s.settimeout(10)
print("ready", flush=True)
print(len(s.recv(65536)), flush=True)
"""


def _send(tb: Testbed) -> str:
    result = tb.exec(0, [sys.executable, "-c", DONT_FRAGMENT, tb.address(1)], capture_output=True, text=True)
    return str(result.stdout.strip())


def _mtu(namespace: str, device: str) -> int:
    argv = ["ip", "-n", namespace, "-j", "link", "show", "dev", device]
    out = subprocess.run(argv, capture_output=True, text=True, check=True)
    return int(json.loads(out.stdout)[0]["mtu"])


@pytest.mark.root
def test_a_jumbo_datagram_needs_the_larger_mtu_and_then_arrives_whole(prefix: str) -> None:
    with Testbed(prefix).running(hosts=2) as tb:
        assert _send(tb) == "OSError 90"  # EMSGSIZE: 8000 bytes do not fit a 1500-byte link
        tb.set_mtu(9000)
        assert _mtu(tb.namespace(1), tb.interface) == 9000
        assert _mtu(tb.layout.switch, tb.layout.port(1)) == 9000
        sink = tb.popen(1, [sys.executable, "-c", SINK], stdout=subprocess.PIPE, text=True)
        assert sink.stdout is not None and sink.stdout.readline().strip() == "ready"
        assert _send(tb) == "sent"
        assert sink.communicate(timeout=15)[0].strip() == "8000"


@pytest.mark.root
def test_an_mtu_a_veth_cannot_take_is_refused_before_anything_changes(prefix: str) -> None:
    with Testbed(prefix).running(hosts=2) as tb:
        with pytest.raises(TestbedError, match="MTU"):
            tb.set_mtu(70000)
        assert _mtu(tb.namespace(1), tb.interface) == 1500
