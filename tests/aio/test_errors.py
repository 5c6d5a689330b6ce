"""Failures become one clear exception (or a one-line CLI error), never a hang."""

from __future__ import annotations

import errno
import socket
from pathlib import Path

import pytest
from tests.aio.netutil import loopback, run

import smocast
from smocast.aio import ConnectFailedError, NetworkError, ResetError
from smocast.aio.errors import os_error_message
from smocast.cli.main import main
from smocast.core.errors import ConfigError

network = pytest.mark.network


def one_line(err: str) -> str:
    """The error message with rich's wrapping at the console width undone; exactly one message."""
    assert err.count("error:") == 1
    return " ".join(err.split())


@network
def test_a_port_in_use_is_a_network_error() -> None:
    net = loopback()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as squatter:
        squatter.bind(net.server)

        async def attempt() -> None:
            async with smocast.open_channel(net.group, net.server):
                pass

        with pytest.raises(NetworkError, match="already in use") as info:
            run(attempt())
    assert info.value.errno == errno.EADDRINUSE
    assert f"{net.server[0]}:{net.server[1]}" in str(info.value)


@network
def test_an_unknown_host_is_a_network_error() -> None:
    async def attempt() -> None:
        async with smocast.connect("no-such-host.invalid:5000", "239.255.1.1:5000"):
            pass

    with pytest.raises(NetworkError, match=r"unknown host 'no-such-host\.invalid'"):
        run(attempt())


@network
def test_a_silent_source_gives_connect_failed_after_the_timeout() -> None:
    net = loopback()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(net.server)  # takes the SYNs, answers nothing

        async def attempt() -> None:
            async with smocast.connect(net.server, net.group, timeout=0.4, syn_interval=0.1):
                pass

        with pytest.raises(ConnectFailedError, match="no answer"):
            run(attempt(), limit=10)


@network
def test_nothing_listening_is_connection_refused() -> None:
    net = loopback()  # its port was free a moment ago and nobody binds it

    async def attempt() -> None:
        async with smocast.connect(net.server, net.group, timeout=5):
            pass

    with pytest.raises(ConnectFailedError, match="refused"):
        run(attempt(), limit=10)


@network
def test_a_late_joiner_is_refused_once_a_file_transfer_started() -> None:
    net = loopback()

    async def attempt() -> str:
        async with (
            smocast.open_channel(net.group, net.server, min_receivers=1) as ch,
            smocast.connect(net.server, net.group, linger=0) as first,
        ):
            await ch.send(b"x" * 10_000)
            await first.readexactly(10_000)
            with pytest.raises(ResetError) as info:
                async with smocast.connect(net.server, net.group):
                    pass
            ch.close()
            async for _ in first:
                pass
        return str(info.value)

    assert "refused" in run(attempt())


@network
def test_the_source_vanishing_is_noticed_by_the_idle_timeout() -> None:
    net = loopback()

    async def attempt() -> None:
        channel = await smocast.open_channel(net.group, net.server, min_receivers=2)
        async with smocast.connect(net.server, net.group, idle_timeout=0.3) as rx:
            channel.abort()
            await rx.read()

    with pytest.raises((ResetError, NetworkError)):
        run(attempt(), limit=10)


def test_bad_addresses_and_options_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="not a multicast address"):
        smocast.open_channel("10.0.0.1:5000")
    with pytest.raises(ConfigError, match="HOST:PORT"):
        smocast.connect("localhost", "239.1.1.1:5000")
    with pytest.raises(ConfigError, match="unknown channel option 'min_recievers'"):
        smocast.open_channel("239.1.1.1:5000", min_recievers=3)
    with pytest.raises(ConfigError, match="unknown window policy"):
        smocast.open_channel("239.1.1.1:5000", policy="fastest")


def test_every_errno_message_comes_from_one_table() -> None:
    assert (
        os_error_message(OSError(errno.ENOSPC, "No space left on device"), "cannot write f")
        == "cannot write f: disk full"
    )
    assert "already in use" in os_error_message(OSError(errno.EADDRINUSE, "x"), "bind")
    assert "no route" in os_error_message(OSError(errno.ENETUNREACH, "x"), "send")
    assert (
        os_error_message(OSError(errno.ELOOP, "Too many levels of symbolic links"), "open")
        == "open: Too many levels of symbolic links"
    )


@network
def test_cli_send_reports_a_port_in_use_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    net = loopback()
    path = tmp_path / "f.bin"
    path.write_bytes(b"data")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as squatter:
        squatter.bind(net.server)
        code = main(["send", str(path), "--group", net.group_text, "--bind", net.server_text, "--json"])
    err = one_line(capsys.readouterr().err)
    assert code == 1
    assert err.startswith("error: cannot bind the source") and "already in use" in err


@network
def test_cli_recv_reports_an_unknown_host_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["recv", "--server", "no-such-host.invalid:5000", "--group", "239.255.1.1:5000", "-o", str(tmp_path), "--json"]
    )
    err = one_line(capsys.readouterr().err)
    assert code == 1
    assert err.startswith("error: unknown host 'no-such-host.invalid'")


def test_cli_recv_refuses_a_missing_output_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["recv", "--server", "127.0.0.1:5000", "--group", "239.255.1.1:5000", "-o", str(tmp_path / "missing")])
    assert code == 1
    assert one_line(capsys.readouterr().err).endswith("does not exist")
