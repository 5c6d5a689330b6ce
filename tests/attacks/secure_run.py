"""A transfer by the real commands (``smocast send`` and ``smocast recv`` processes on loopback), with an attacker.

Each attack test runs the same transfer twice: with ``--insecure`` (the attack must work:
that shows the test can fail) and in the default secure mode (the attack must fail). The
source proves a key made for the test, which the receivers pin with ``--trust``.

Admission waits for one receiver more than the test starts at first (``held``): while it
waits, the receivers are connected and nothing flows, which is when an attacker sprays its
forgeries; :meth:`Transfer.release` then starts the last receiver and the transfer.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.aio.netutil import Loopback, loopback
from tests.attacks.realnet import smocast, wait_bound

from smocast.apps.setsource import scan
from smocast.secure import keyfiles
from smocast.secure.identity import Identity

JOIN_LIMIT = 30.0  # seconds for the first receivers to connect before the attacker acts
LIMIT = 60.0


@dataclass
class Received:
    """What one ``smocast recv`` process ended with."""

    code: int
    report: dict[str, Any] | None
    stderr: str
    content: bytes | None

    @property
    def protection(self) -> dict[str, int]:
        security = (self.report or {}).get("security") or {}
        return security.get("protection") or {}


@dataclass
class Transfer:
    """``send`` of ``data`` as ``name`` to ``receivers`` ``recv`` processes (one more joins at :meth:`release`)."""

    tmp: Path
    data: bytes
    secure: bool
    receivers: int = 2
    name: str = "report.pdf"
    send_extra: tuple[str, ...] = ()
    admit: int | None = None  # receivers the source waits for (default: one more than ``receivers``)
    net: Loopback = field(default_factory=loopback)
    key: Path | None = None
    identity: Identity | None = None
    sender: subprocess.Popen[str] | None = None
    procs: list[subprocess.Popen[str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        (self.tmp / "src").mkdir(parents=True, exist_ok=True)
        (self.tmp / "src" / self.name).write_bytes(self.data)
        if self.secure:
            self.key = self.tmp / "source.key"
            self.identity = keyfiles.create_identity(self.key)

    @property
    def manifest(self) -> bytes:
        """The manifest ``smocast send`` puts ahead of the file (its length places the file's bytes)."""
        return scan([self.tmp / "src" / self.name]).manifest

    def security(self, role: str) -> list[str]:
        if not self.secure:
            return ["--insecure"]
        assert self.key is not None and self.identity is not None
        return ["--key", str(self.key)] if role == "send" else ["--trust", self.identity.public.fingerprint]

    def start(self) -> None:
        """The source, then the first receivers; returns once they had time to connect."""
        self.sender = smocast(
            "send", str(self.tmp / "src" / self.name), "--group", self.net.group_text, "--bind",
            self.net.server_text, "--min-receivers", str(self.admit or self.receivers + 1), "--wait", "60s", "--json",
            "--stats-file", str(self.tmp / "stats.json"), *self.security("send"), *self.send_extra,
        )  # fmt: skip
        wait_bound(self.net.server, self.sender)
        for _ in range(self.receivers):
            self.add_receiver()
        self.wait_joined(self.receivers)

    def wait_joined(self, count: int) -> None:
        """Wait until ``count`` receivers are established (the sender's stats file says so each second)."""
        deadline = time.monotonic() + JOIN_LIMIT
        while time.monotonic() < deadline:
            try:
                stats = json.loads((self.tmp / "stats.json").read_text())
            except (OSError, ValueError):
                stats = {}
            joined = [r for r in stats.get("receivers", []) if r.get("state") == "established"]
            if len(joined) >= count:
                return
            time.sleep(0.1)
        raise AssertionError(f"fewer than {count} receivers joined within {JOIN_LIMIT:g} s")

    def add_receiver(self, *extra: str) -> subprocess.Popen[str]:
        out = self.tmp / f"out{len(self.procs)}"
        out.mkdir()
        proc = smocast(
            "recv", "--server", self.net.server_text, "--group", self.net.group_text, "-o", str(out), "--json",
            "--timeout", "20s", *self.security("recv"), *extra,
        )  # fmt: skip
        self.procs.append(proc)
        return proc

    def release(self) -> None:
        """The last receiver joins: admission is satisfied and the data flows."""
        self.add_receiver()

    def finish(self) -> tuple[dict[str, Any] | None, list[Received]]:
        """Wait for every process; the sender's report and each receiver's outcome."""
        assert self.sender is not None
        try:
            results = [self._received(i, p) for i, p in enumerate(self.procs)]
            out, _ = self.sender.communicate(timeout=LIMIT)
        finally:
            for proc in [self.sender, *self.procs]:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        return _json(out), results

    def _received(self, index: int, proc: subprocess.Popen[str]) -> Received:
        out, err = proc.communicate(timeout=LIMIT)
        files = list((self.tmp / f"out{index}").iterdir())
        content = files[0].read_bytes() if len(files) == 1 else None
        return Received(proc.returncode, _json(out), err, content)


def _json(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def to_group(net: Loopback, datagrams: list[bytes], repeat: int = 1) -> None:
    """Send ``datagrams`` to the group from an ordinary socket (any host on the LAN can)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1"))
        for _ in range(repeat):
            for datagram in datagrams:
                sock.sendto(datagram, net.group)
            time.sleep(0.01)
