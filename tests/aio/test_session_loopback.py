"""Session relay on loopback multicast: a receiver talks back, the source repeats it to everyone."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
from tests.aio.netutil import loopback, run

from smocast.aio import AsyncChannel, AsyncReceiver, connect, open_channel, open_relay
from smocast.aio.sockets import loopback_multicast_works
from smocast.core.errors import LocalProtocolError
from smocast.smo.events import SessionData

pytestmark = [
    pytest.mark.network,
    pytest.mark.timeout(90),
    pytest.mark.skipif(not loopback_multicast_works(), reason="multicast on 127.0.0.1 does not work here"),
]

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "classroom.py"


async def read_all(rx: AsyncReceiver) -> bytes:
    return b"".join([chunk async for chunk in rx])


async def first_message(ch: AsyncChannel) -> SessionData:
    async for message in ch.session_messages():
        return message
    raise AssertionError("the channel ended without a session message")


def test_a_question_goes_up_with_its_sender_and_comes_back_to_every_receiver() -> None:
    net = loopback()
    question = b"what about loss? " * 200  # several UPDATA segments

    async def scenario() -> None:
        async with (
            open_channel(net.group, net.server, min_receivers=2) as ch,
            connect(net.server, net.group) as asker,
            connect(net.server, net.group) as other,
        ):
            await ch.send(b"lecture\n")
            await asker.send_up(question)
            await asker.flush_up()
            assert asker.up_pending == 0
            message = await first_message(ch)
            assert message.data == question
            assert message.address == asker.local_address != other.local_address
            joined = {r.receiver for r in ch.records() if r.address == asker.local_address}
            assert joined == {message.receiver}
            await ch.send(b"Q: " + message.data)
            ch.close()
            heard = await asyncio.gather(read_all(asker), read_all(other))
        assert heard == [b"lecture\nQ: " + question] * 2

    run(scenario())


def test_a_question_from_behind_a_relay_reaches_the_root_and_comes_back_through_it() -> None:
    root, down = loopback(), loopback()

    async def scenario() -> None:
        async with open_channel(root.group, root.server, min_receivers=1) as ch:
            relay = await open_relay(root.server, root.group, down.group, down.server)
            async with connect(down.server, down.group) as student:
                await ch.send(b"lecture\n")
                assert await student.readexactly(8) == b"lecture\n"
                await student.send_up(b"why relays?")
                message = await first_message(ch)
                assert message.data == b"why relays?"
                assert message.address != student.local_address  # the root sees the relay ask
                await ch.send(b"Q: why relays?\n")
                ch.close()
                assert await read_all(student) == b"Q: why relays?\n"
            report = await relay.wait_closed()
        assert report.messages_up == 1 and report.summary.completed == 1

    run(scenario())


def test_sending_up_after_the_stream_ended_is_a_clear_error() -> None:
    net = loopback()

    async def scenario() -> None:
        async with open_channel(net.group, net.server, min_receivers=1) as ch, connect(net.server, net.group) as rx:
            await ch.send(b"bye")
            ch.close()
            assert await read_all(rx) == b"bye"
            with pytest.raises(LocalProtocolError, match="finished"):
                await rx.send_up(b"too late")

    run(scenario())


def test_the_classroom_example_runs_on_loopback_with_no_arguments() -> None:
    done = subprocess.run([sys.executable, str(EXAMPLE)], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert any("asks: What happens when a relay dies?" in line and line.startswith("teacher:") for line in lines)
    for k in range(3):
        repeated = [line for line in lines if line.startswith(f"student {k} heard: Q from receiver ")]
        assert len(repeated) == 1 and repeated[0].endswith(": What happens when a relay dies?")
        assert f"student {k} heard: Class dismissed." in lines
    assert lines[-1] == "every student heard the question: yes"
