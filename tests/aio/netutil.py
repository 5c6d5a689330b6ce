"""Helpers of the runtime's tests: fresh loopback addresses, and running a coroutine with a limit."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import random
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from smocast.aio.sockets import free_udp_port

T = TypeVar("T")
_GROUPS = itertools.count(1)
LIMIT = 60.0  # seconds; a hung test fails instead of hanging the run


@dataclass(frozen=True)
class Loopback:
    """A source address on 127.0.0.1 and a group on the same (free) port."""

    server: tuple[str, int]
    group: tuple[str, int]

    @property
    def server_text(self) -> str:
        return f"{self.server[0]}:{self.server[1]}"

    @property
    def group_text(self) -> str:
        return f"{self.group[0]}:{self.group[1]}"


def loopback(ssm: bool = False) -> Loopback:
    port = free_udp_port()
    n = next(_GROUPS) % 250 + 1
    group = f"232.77.0.{n}" if ssm else f"239.255.90.{n}"
    return Loopback(("127.0.0.1", port), (group, port))


def run(coro: Coroutine[Any, Any, T], limit: float = LIMIT) -> T:
    async def guarded() -> T:
        return await asyncio.wait_for(coro, limit)

    return asyncio.run(guarded())


def payload(size: int, seed: int = 7) -> bytes:
    return random.Random(seed).randbytes(size)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
