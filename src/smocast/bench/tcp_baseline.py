"""The unicast baseline of ``smocast bench fanout``: N parallel kernel-TCP transfers of one file.

Two roles, each run as its own process inside a testbed host::

    python -m smocast.bench.tcp_baseline serve FILE --bind ADDR:PORT --connections N
    python -m smocast.bench.tcp_baseline fetch --server ADDR:PORT

``serve`` prints ``listening ADDR:PORT`` once bound, accepts ``N`` connections, then sends the file to
all of them at once (one thread per connection, each with ``socket.sendfile``, so the kernel
copies the pages) and prints one JSON object: when sending started and ended (``time.time()``;
every namespace shares the machine's clock). ``fetch`` connects, reads to the end of the
stream, hashes what it read (SHA-256, as ``smocast recv`` verifies its copy), and prints its
byte count, digest and times. Both exit non-zero with a one-line JSON error on failure.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

ACCEPT_LIMIT = 300.0  # seconds to wait for all connections
READ_SIZE = 1 << 16


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return (host, int(port))


# --- the server ---------------------------------------------------------------------------------


def accept_all(listener: socket.socket, count: int) -> list[socket.socket]:
    """``count`` accepted connections; TimeoutError if they do not all come within ACCEPT_LIMIT."""
    listener.settimeout(ACCEPT_LIMIT)
    connections: list[socket.socket] = []
    try:
        while len(connections) < count:
            connection, _ = listener.accept()
            connection.settimeout(None)
            connections.append(connection)
    except BaseException:
        for connection in connections:
            connection.close()
        raise
    return connections


def _send_file(connection: socket.socket, path: Path, errors: list[str]) -> None:
    try:
        with path.open("rb") as file:
            connection.sendfile(file)
        connection.shutdown(socket.SHUT_WR)
    except OSError as exc:
        errors.append(f"sending to {connection.getpeername()}: {exc.strerror or exc}")
    finally:
        connection.close()


def serve(path: Path, bind: tuple[str, int], count: int) -> dict[str, Any]:
    """Accept ``count`` connections on ``bind``, then send ``path`` to all in parallel; report the times."""
    with socket.create_server(bind, backlog=count + 16) as listener:
        host, port = listener.getsockname()[:2]
        print(f"listening {host}:{port}", flush=True)
        connections = accept_all(listener, count)
    errors: list[str] = []
    threads = [threading.Thread(target=_send_file, args=(c, path, errors)) for c in connections]
    started = time.time()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ended = time.time()
    return {
        "connections": count,
        "bytes_each": path.stat().st_size,
        "start_time": started,
        "end_time": ended,
        "errors": errors,
    }


# --- the client -----------------------------------------------------------------------------------


def fetch(server: tuple[str, int]) -> dict[str, Any]:
    """Read one whole stream from ``server``; its size, SHA-256 and when it began and ended."""
    digest = hashlib.sha256()
    buffer = bytearray(READ_SIZE)
    view = memoryview(buffer)
    received = 0
    first_byte_at: float | None = None
    with socket.create_connection(server, timeout=ACCEPT_LIMIT) as connection:
        connected_at = time.time()
        while size := connection.recv_into(buffer):
            if first_byte_at is None:
                first_byte_at = time.time()
            digest.update(view[:size])
            received += size
    return {
        "bytes": received,
        "sha256": digest.hexdigest(),
        "connected_at": connected_at,
        "first_byte_at": first_byte_at,
        "done_at": time.time(),
    }


# --- the process ----------------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m smocast.bench.tcp_baseline",
        description="The TCP unicast baseline of `smocast bench fanout` (started by it).",
    )
    roles = p.add_subparsers(dest="role", required=True)
    server = roles.add_parser("serve", help="send FILE to N connections at once")
    server.add_argument("file", type=Path)
    server.add_argument("--bind", type=_address, required=True, help="ADDR:PORT to listen on")
    server.add_argument("--connections", type=int, required=True, help="connections to wait for")
    client = roles.add_parser("fetch", help="read one stream to its end and hash it")
    client.add_argument("--server", type=_address, required=True, help="the server's ADDR:PORT")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        result = serve(args.file, args.bind, args.connections) if args.role == "serve" else fetch(args.server)
    except OSError as exc:
        print(json.dumps({"error": f"{args.role}: {exc.strerror or exc}"}), flush=True)
        return 1
    print(json.dumps(result), flush=True)
    return 1 if result.get("errors") else 0


if __name__ == "__main__":
    sys.exit(main())
