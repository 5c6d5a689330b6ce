"""A receiver sends its first SYN only once its group join has had time to reach the network."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from tests.aio.netutil import loopback, run

import smocast
from smocast.aio import receiver as receiver_module
from smocast.smo.receiver import Receiver

pytestmark = pytest.mark.network


class _Stop(Exception):
    """Raised in place of the first SYN: the test has what it measures."""


def test_the_first_syn_waits_for_the_join_to_settle(monkeypatch: pytest.MonkeyPatch) -> None:
    net = loopback(ssm=True)
    times: dict[str, float] = {}
    make_sockets = receiver_module.receiver_sockets

    def sockets(*args: Any, **kwargs: Any) -> Any:
        made = make_sockets(*args, **kwargs)
        times["joined"] = asyncio.get_running_loop().time()
        return made

    def connect(self: Receiver, now: float) -> None:
        times["syn"] = asyncio.get_running_loop().time()
        raise _Stop

    monkeypatch.setattr(receiver_module, "receiver_sockets", sockets)
    monkeypatch.setattr(Receiver, "connect", connect)

    async def main() -> None:
        async with smocast.connect(net.server, net.group, secure=False):
            pass

    with pytest.raises(_Stop):
        run(main())
    assert times["syn"] - times["joined"] >= receiver_module.JOIN_SETTLE > 0
