"""``smocast bench offload``: what the kernel does with UDP GSO and GRO for multicast, here.

A sender sends a burst of ``count`` datagrams of ``size`` bytes to a group, either as one UDP
GSO ``sendmsg`` (``gso``) or one ``sendto`` each (``plain``); two receivers, with ``UDP_GRO``
on or off, read with :class:`~smocast.aio.batchio.BatchReader` and count the datagrams and the
messages (``recvmmsg`` entries) they came in. A message holding more than one datagram means
the kernel delivered them coalesced (GRO, or a GSO packet kept whole up to the socket).

On loopback the three run as processes on 127.0.0.1; with a testbed (root) the sender is host 0
and the receivers hosts 1 and 2, through the veth pairs and the bridge, optionally with the
sender's egress shaped (tc tbf), as the benchmarks run it. With ``veth_gro`` the receivers' veths
first get NAPI and GRO of their own (:func:`enable_veth_gro`), as a NIC that does GRO would:
this asks whether the kernel then coalesces datagrams that were sent one by one.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import time
from typing import Any

from smocast.aio.batchio import BatchReader, GsoSender, enable_gro
from smocast.aio.sockets import free_udp_port, listener_socket
from smocast.testbed.runner import in_namespace

WAIT = 3.0  # seconds a receiver waits for the burst
SETTLE = 0.4  # seconds between starting the receivers and sending


def receive(group: tuple[str, int], interface: str, gro: bool, expected: int) -> dict[str, Any]:
    """Read up to ``expected`` datagrams from ``group``; how many, in how many messages, all intact."""
    sock = listener_socket(group, interface)
    granted = enable_gro(sock) if gro else False
    reader = BatchReader(sock, gro=granted)
    datagrams = messages = 0
    intact = True
    print("ready", flush=True)
    deadline = time.monotonic() + WAIT
    try:
        while datagrams < expected and time.monotonic() < deadline:
            try:
                batch = reader.read()
            except BlockingIOError:
                time.sleep(0.005)
                continue
            messages += reader.messages
            for data, _ in batch:
                intact = intact and len(data) > 1 and bytes(data[:1]) * len(data) == bytes(data)
            datagrams += len(batch)
    finally:
        reader.close()
        sock.close()
    return {"gro": granted, "datagrams": datagrams, "messages": messages, "intact": intact}


def send(group: tuple[str, int], interface: str, mode: str, count: int, size: int) -> dict[str, Any]:
    """Send the burst: ``gso`` (one sendmsg) or ``plain`` (one sendto each)."""
    import socket  # noqa: PLC0415

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(interface))
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
    burst = [bytes([i + 1]) * size for i in range(count)]
    accepted = None
    try:
        if mode == "gso":
            accepted = GsoSender().send(sock, burst, size, group)
        if not accepted:
            for data in burst:
                sock.sendto(data, group)
    finally:
        sock.close()
    return {"mode": mode, "gso_accepted": accepted}


def enable_veth_gro(place: Any) -> None:
    """Give receiver hosts 1 and 2 GRO on their own veth, for forwarded UDP too.

    ``ethtool -K eth0 gro on`` gives a veth NAPI and GRO; a packet the bridge forwards goes that
    way only if its bridge port does no TSO, and UDP GRO of forwarded datagrams needs
    ``rx-udp-gro-forwarding``. Needs the ``ethtool`` command (Debian's package ``ethtool``).
    """
    if shutil.which("ethtool") is None:
        raise RuntimeError("--veth-gro needs the ethtool command: install it with `apt install ethtool`")
    for host in (1, 2):
        place.exec(host, ["ethtool", "-K", "eth0", "gro", "on", "rx-udp-gro-forwarding", "on"], check=True)
        port = ["ethtool", "-K", place.layout.port(host), "tso", "off"]
        subprocess.run(in_namespace(place.layout.switch, port), check=True, capture_output=True)


def run(place: Any = None, count: int = 32, size: int = 1400, *, veth_gro: bool = False) -> dict[str, Any]:
    """Each sender mode against receivers with GRO off and on; ``place`` a running testbed or None."""
    if veth_gro:
        enable_veth_gro(place)
    results = []
    for mode in ("gso", "plain"):
        for gro in (False, True):
            results.append(probe_once(place, mode, gro, count, size))
    where = "loopback" if place is None else f"testbed {place.prefix} (veth + bridge)"
    report = {"benchmark": "offload", "place": where, "count": count, "size": size, "results": results}
    return report | ({"veth_gro": True} if veth_gro else {})


def probe_once(place: Any, mode: str, gro: bool, count: int, size: int) -> dict[str, Any]:
    """One burst from host 0 (``mode``: ``gso`` or ``plain``) to receivers on hosts 1 and 2."""
    port = free_udp_port()
    group = (f"239.255.{random.randrange(1, 255)}.{random.randrange(1, 255)}", port)
    receivers = [
        _start(place, host, ["receive", *_where(place, host, group), str(int(gro)), str(count)]) for host in (1, 2)
    ]
    for proc in receivers:
        assert proc.stdout is not None
        proc.stdout.readline()  # "ready"
    time.sleep(SETTLE)
    sender = _start(place, 0, ["send", *_where(place, 0, group), mode, str(count), str(size)])
    sent = json.loads(sender.communicate(timeout=30)[0])
    got = [json.loads(proc.communicate(timeout=30)[0]) for proc in receivers]
    return {"sender": mode, "gro": gro, "gso_accepted": sent["gso_accepted"], "receivers": got}


def _where(place: Any, host: int, group: tuple[str, int]) -> list[str]:
    interface = "127.0.0.1" if place is None else str(place.address(host))
    return [group[0], str(group[1]), interface]


def _start(place: Any, host: int, argv: list[str]) -> subprocess.Popen[str]:
    full = [sys.executable, "-m", "smocast.bench.offload", *argv]
    if place is None:
        return subprocess.Popen(full, stdout=subprocess.PIPE, text=True)
    popen: subprocess.Popen[str] = place.popen(host, full, stdout=subprocess.PIPE, text=True)
    return popen


def main(argv: list[str] | None = None) -> int:
    """The roles the probe runs as processes: ``receive G PORT IF GRO COUNT``, ``send G PORT IF MODE COUNT SIZE``."""
    parser = argparse.ArgumentParser(description="a role of smocast bench offload")
    parser.add_argument("role", choices=["receive", "send"])
    parser.add_argument("args", nargs="+")
    args = parser.parse_args(argv)
    group, port, interface, *rest = args.args
    if args.role == "receive":
        report = receive((group, int(port)), interface, rest[0] == "1", int(rest[1]))
    else:
        report = send((group, int(port)), interface, rest[0], int(rest[1]), int(rest[2]))
    print(json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
