"""``smocast send`` queues its set while the receivers join, so the first ACKs find data waiting."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from tests.aio.netutil import loopback

from smocast.cli import send_run
from smocast.cli.main import main

pytestmark = pytest.mark.network


def test_the_set_is_queued_before_any_receiver_joined(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    payload = tmp_path / "payload.bin"
    payload.write_bytes(bytes(300_000))
    queued: list[int] = []
    wait_started = send_run._wait_started

    async def watched(channel: Any, wait: float | None) -> None:
        await asyncio.sleep(0.1)  # the sending task runs meanwhile
        queued.append(channel.unsent_bytes)
        await wait_started(channel, wait)

    monkeypatch.setattr(send_run, "_wait_started", watched)
    net = loopback()
    argv = ["send", str(payload), "--group", net.group_text, "--bind", net.server_text, "--min-receivers", "1"]
    code = main([*argv, "--wait", "0.3s", "--json", "--insecure", "--no-announce"])
    assert code != 0  # nobody joined
    assert queued and queued[0] >= payload.stat().st_size  # the file waited in the channel
