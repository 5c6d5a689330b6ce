"""Tiny multicast programs run inside testbed hosts with ``python3 -c``, and helpers to drive them.

Receivers print ``ready`` once joined, then one JSON line of per-socket counts. The sender
sends numbered data datagrams (``D`` and a 32-bit number, padded to the size asked), then
many END markers, so receivers stop promptly even under heavy loss; a receiver that never
sees END (a cut host) stops at its deadline.
"""

from __future__ import annotations

import json
import subprocess
import sys

from smocast.testbed import Testbed

GROUP = "239.77.1.1"
PORT = 47001

RECEIVER = """\
import json, select, socket, struct, sys, time
group, port, sockets, deadline = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
source = sys.argv[5] if len(sys.argv) > 5 else ""
socks = []
for _ in range(sockets):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, 33, 4 << 20)  # SO_RCVBUFFORCE (33 on Linux): root may exceed rmem_max
    s.bind((group, port))
    if source:  # IP_ADD_SOURCE_MEMBERSHIP (39 on Linux): an IGMPv3 source-specific join
        s.setsockopt(socket.IPPROTO_IP, 39, socket.inet_aton(group) + bytes(4) + socket.inet_aton(source))
    else:
        s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, socket.inet_aton(group) + bytes(4))
    socks.append(s)
counts, ended = [0] * sockets, set()
print("ready", flush=True)
end = time.monotonic() + deadline
while len(ended) < sockets and (left := end - time.monotonic()) > 0:
    for s in select.select(socks, [], [], left)[0]:
        data = s.recv(65536)
        if data[:1] == b"D":
            counts[socks.index(s)] += 1
        else:
            ended.add(socks.index(s))
print(json.dumps(counts), flush=True)
"""

SENDER = """\
import socket, struct, sys, time
group, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
padding, burst, pause = int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for seq in range(count):
    s.sendto(b"D" + struct.pack("!I", seq) + bytes(padding), (group, port))
    if seq % burst == burst - 1:
        time.sleep(pause)
for _ in range(40):
    s.sendto(b"E", (group, port))
    time.sleep(0.005)
"""

# Counts frames on eth0, whether or not this host joined: UDP to the group, and all UDP.
SNIFFER = """\
import json, socket, sys, time
group, seconds = socket.inet_aton(sys.argv[1]), float(sys.argv[2])
s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(0x0800))
s.bind(("eth0", 0x0800))
s.settimeout(0.05)
to_group = udp = 0
print("ready", flush=True)
end = time.monotonic() + seconds
while time.monotonic() < end:
    try:
        frame = s.recv(65536)
    except TimeoutError:
        continue
    if frame[9] == 17:
        udp += 1
        to_group += frame[16:20] == group
print(json.dumps({"to_group": to_group, "udp": udp}), flush=True)
"""

UNICAST = """\
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(int(sys.argv[3])):
    s.sendto(b"u", (sys.argv[1], int(sys.argv[2])))
"""


def start(tb: Testbed, host: int, script: str, *args: object) -> subprocess.Popen[str]:
    """Start ``script`` in ``host`` and return once it printed ``ready``."""
    proc = tb.popen(host, [sys.executable, "-c", script, *map(str, args)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    assert line == "ready", f"host {host}: expected 'ready', got {line!r} (exit {proc.poll()})"
    return proc


def start_receiver(
    tb: Testbed, host: int, sockets: int = 1, deadline: float = 10.0, source: str = ""
) -> subprocess.Popen[str]:
    """A receiver of GROUP on ``host`` with ``sockets`` sockets, joined when this returns.

    With ``source`` it joins only that sender (source-specific multicast, IGMPv3).
    """
    return start(tb, host, RECEIVER, GROUP, PORT, sockets, deadline, source)


def result(proc: subprocess.Popen[str]) -> object:
    """The JSON line a started program prints at its end."""
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, f"exit {proc.returncode}"
    return json.loads(out)


def send(tb: Testbed, count: int, host: int = 0, *, size: int = 100, burst: int = 100, pause: float = 0.001) -> None:
    """Send ``count`` data datagrams of ``size`` bytes to GROUP from ``host``, numbered, ``pause``
    seconds after each ``burst`` of them, then the END markers."""
    argv = [GROUP, PORT, count, size - 5, burst, pause]
    tb.exec(host, [sys.executable, "-c", SENDER, *map(str, argv)], check=True, timeout=30)
