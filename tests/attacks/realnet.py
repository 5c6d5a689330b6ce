"""Helpers of the attack tests that run on real sockets over loopback.

:func:`silent_receiver` is a real :class:`~smocast.smo.Receiver` (so it follows whatever
handshake the source asks for) that completes the handshake over a UDP socket and then
never says another word: the source must drop it.
"""

from __future__ import annotations

import random
import socket
import subprocess
import sys
import time
from typing import Any

from smocast.aio.sockets import port_in_use
from smocast.core.datagram import Address
from smocast.secure.keyexchange import Trust
from smocast.secure.tcpsmo import protect_receiver
from smocast.smo import Receiver
from smocast.smo import events as ev


def smocast(*argv: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """The real ``smocast`` command, as a user runs it."""
    return subprocess.Popen(
        [sys.executable, "-m", "smocast.cli.main", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def wait_bound(address: Address, process: subprocess.Popen[str], limit: float = 10.0) -> None:
    """Wait until ``process`` listens on ``address``."""
    deadline = time.monotonic() + limit
    while not port_in_use(address) and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.01)


def silent_receiver(server: Address, limit: float = 10.0, *, secure: bool = True) -> Address:
    """Join the channel at ``server`` with a real receiver, then fall silent; return its address.

    ``secure`` (the commands' default) runs it behind the protection layer, trusting the
    source's key on first use."""
    core = Receiver(server, rng=random.Random(77))
    receiver: Any = core
    if secure:
        receiver = protect_receiver(core, server, random.Random(78).randbytes, Trust(first_use=True))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.connect(server)
        start = time.monotonic()
        core.connect(0.0)
        while time.monotonic() - start < limit:
            now = time.monotonic() - start
            for datagram in receiver.datagrams_to_send(now):
                sock.send(datagram.data)
            while (event := receiver.next_event()) is not None:
                if isinstance(event, ev.Connected):
                    return (sock.getsockname()[0], sock.getsockname()[1])
                if isinstance(event, ev.ConnectionReset | ev.ConnectFailed):
                    raise AssertionError(f"the silent receiver could not join: {event.reason}")
            deadline = receiver.next_deadline()
            sock.settimeout(max(0.001, min(0.1, (deadline - now) if deadline is not None else 0.1)))
            try:
                data = sock.recv(70000)
            except TimeoutError:
                if deadline is not None and time.monotonic() - start >= deadline:
                    receiver.handle_timer(time.monotonic() - start)
                continue
            receiver.receive_datagram(data, server, time.monotonic() - start)
    raise AssertionError("the silent receiver never joined")
