"""A real secure receive for ``bench startup``: a secure ``smocast send`` of a tiny file, then the measured ``recv``.

The closed-port case stops before the handshake, so it cannot show what a receiver loads to
verify the source's key, agree on a session key and open sealed packets. This case runs the
whole of a receive that the user pays for: the source (a secure ``smocast send`` of
:data:`TINY` bytes, with a key made for the run) is started first and waits until its port is
bound; then ``smocast recv --trust FINGERPRINT`` runs to its end, and its CPU is measured.
The transfer itself (a handshake, one block of data, the close) adds a few milliseconds of
CPU: the figure is the start-up plus that.

Call :func:`prepare` once (it makes the key and the file in ``work``), then :func:`receive_argv`
and :func:`serve` for each run; the source must be reaped with :func:`finish_source`.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

TINY = 1024  # bytes of the file sent
BIND_WAIT_S = 20.0  # how long the source may take to bind its port
SOURCE_LIMIT_S = 60.0  # how long the source may run in all
GROUP_PREFIX = "239.255.78."


@dataclass(frozen=True, slots=True)
class SecureSetup:
    """The source's key (its file and fingerprint) and the file it sends, made once per run."""

    work: Path
    key_file: Path
    fingerprint: str
    payload: Path


def prepare(work: Path, env: dict[str, str]) -> SecureSetup:
    """Make a source key (``smocast keygen`` of this tree) and a file of :data:`TINY` bytes in ``work``."""
    key_file = work / "source.key"
    done = subprocess.run(
        [sys.executable, "-m", "smocast.cli.main", "keygen", "--file", str(key_file), "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    payload = work / "tiny.bin"
    payload.write_bytes(bytes(range(256)) * (TINY // 256))
    return SecureSetup(work, key_file, str(json.loads(done.stdout)["fingerprint"]), payload)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _bound(port: int) -> bool:
    """Whether something holds ``127.0.0.1:port`` (a bind without SO_REUSEADDR is refused then)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return True
            raise
    return False


class SourceNotReady(RuntimeError):
    """The secure source did not bind its port in time (its last output is in the message)."""


def serve(setup: SecureSetup, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], tuple[str, ...]]:
    """Start a secure source of the tiny file and wait until it listens; return it and the receiver's argv.

    The receiver's argv (after ``smocast``) writes into a new folder of ``setup.work``. The
    caller runs it, then reaps the source with :func:`finish_source`.
    """
    port = _free_port()
    server, group = f"127.0.0.1:{port}", f"{GROUP_PREFIX}{port % 250 + 1}:{port}"
    send = ["send", str(setup.payload), "--group", group, "--bind", server, "--key", str(setup.key_file)]
    source = subprocess.Popen(
        [sys.executable, "-m", "smocast.cli.main", *send, "--no-announce", "--wait", "30s", "--json"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + BIND_WAIT_S
    while not _bound(port):
        if source.poll() is not None or time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                source.kill()
            source.wait()
            tail = _tail(source)
            finish_source(source)
            raise SourceNotReady(f"the secure source did not start: {tail}")
        time.sleep(0.02)
    out = setup.work / f"out-{port}"
    out.mkdir()
    argv = ("recv", "--server", server, "--group", group, "-o", str(out), "--json", "--trust", setup.fingerprint)
    return source, argv


def finish_source(source: subprocess.Popen[bytes]) -> None:
    """Wait for the source to end (it ends once its receiver has the file); kill it if it does not."""
    try:
        source.wait(timeout=SOURCE_LIMIT_S)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            source.kill()
        source.wait()
    if source.stderr is not None:
        source.stderr.close()


def _tail(source: subprocess.Popen[bytes]) -> str:
    if source.stderr is None:
        return "(no output)"
    return os.fsdecode(source.stderr.read()[-300:]).strip() or f"exit {source.returncode}"
