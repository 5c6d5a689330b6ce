"""Failures: one JSON object with --json, the same kind and exit code on every command, the usage at fault."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import pytest
from tests.aio.netutil import loopback

from smocast.aio.sockets import free_udp_port, host_interfaces
from smocast.cli import errors
from smocast.cli.main import main

DOCS = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def outcome(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of ``main(argv)``, whether it returns or exits."""
    try:
        code = main(argv)
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def error_object(out: str) -> dict[str, object]:
    (line,) = [line for line in out.splitlines() if line.strip()]
    obj = json.loads(line)
    assert set(obj) == {"error"}
    error: dict[str, object] = obj["error"]
    return error


def command_argv(command: str, group: str, tmp_path: Path) -> list[str]:
    data = tmp_path / "f.bin"
    data.write_bytes(b"x")
    return {
        "send": ["send", str(data), "--group", group],
        "recv": ["recv", "--server", "127.0.0.1:5000", "--group", group, "-o", str(tmp_path)],
        "stream": ["stream", "--group", group, "--rate", "10"],
        "relay": ["relay", "--upstream", "127.0.0.1:5000", "--upstream-group", "239.1.1.1:5000", "--group", group],
    }[command]


@pytest.mark.parametrize("command", ["send", "recv", "stream", "relay"])
def test_a_group_that_is_not_multicast_is_the_same_usage_error_everywhere(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = outcome([*command_argv(command, "10.0.0.1:5000", tmp_path), "--json"], capsys)
    assert code == 2
    error = error_object(out)
    assert error["kind"] == "usage" and error["exit_code"] == 2
    assert "10.0.0.1 is not a multicast address" in str(error["message"])
    assert f"usage: smocast {command}" in err


@pytest.mark.parametrize("command", ["send", "recv", "stream", "relay"])
def test_an_unknown_option_shows_the_sub_commands_usage(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = outcome([*command_argv(command, "239.1.1.9:5000", tmp_path), "--bogus"], capsys)
    assert code == 2 and out == ""
    assert err.startswith(f"usage: smocast {command} ")
    assert f"smocast {command}: error: unrecognized arguments: --bogus" in err


def test_an_unknown_option_of_a_simulation_shows_its_usage(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = outcome(["sim", "transfer", "--receivers", "3", "--bogus", "--json"], capsys)
    assert code == 2 and err.startswith("usage: smocast sim transfer ")


def test_usage_errors_print_a_json_object_with_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = outcome(["sim", "transfer", "--loss", "1.5", "--json"], capsys)
    assert code == 2
    error = error_object(out)
    assert error["kind"] == "usage" and "probability" in str(error["message"])


@pytest.mark.network
def test_a_refused_recv_prints_one_json_error_and_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    net = loopback()
    argv = [
        "recv",
        "--server",
        net.server_text,
        "--group",
        net.group_text,
        "-o",
        str(tmp_path),
        "--json",
        "--wait",
        "0",
    ]
    code, out, err = outcome(argv, capsys)
    assert code == 1
    error = error_object(out)
    assert error == {"kind": "connect-failed", "message": error["message"], "exit_code": 1}
    assert "connection refused" in str(error["message"])
    assert err.strip() == f"error: {error['message']}"


@pytest.mark.network
def test_a_port_in_use_is_the_same_network_error_on_send_and_stream(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    net = loopback()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as squatter:
        squatter.bind(net.server)
        found = []
        for command in ("send", "stream"):
            argv = [*command_argv(command, net.group_text, tmp_path), "--bind", net.server_text, "--json"]
            code, out, _ = outcome(argv, capsys)
            found.append((code, error_object(out)["kind"]))
    assert found == [(1, "network"), (1, "network")]


def test_without_json_a_failure_prints_nothing_on_stdout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = outcome(["recv", "--server", "127.0.0.1:1", "--group", "239.1.1.1:1", "-o", "/no/such"], capsys)
    assert code == 1 and out == "" and err.startswith("error: the output directory")


@pytest.mark.network
def test_interface_takes_a_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    net = loopback()
    argv = ["recv", "--server", net.server_text, "--group", net.group_text, "--interface", "lo", "--json"]
    code, out, _ = outcome([*argv, "-o", str(tmp_path), "--wait", "0"], capsys)
    assert code == 1 and error_object(out)["kind"] == "connect-failed"  # got as far as the handshake


@pytest.mark.network
@pytest.mark.parametrize("wrong", ["eth9", "192.0.2.254"])
def test_a_wrong_interface_lists_the_hosts_interfaces(
    wrong: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_udp_port()
    argv = ["recv", "--server", f"127.0.0.1:{port}", "--group", f"239.1.1.1:{port}", "--interface", wrong]
    code, out, err = outcome([*argv, "-o", str(tmp_path), "--json"], capsys)
    assert code == 2
    message = str(error_object(out)["message"])
    assert wrong in message and "inet_aton" not in message
    for interface in host_interfaces():
        assert interface.name in message and (interface.ipv4 is None or interface.ipv4 in message)
    assert err.startswith("error: ")


def test_control_characters_in_an_error_are_escaped(capsys: pytest.CaptureFixture[str]) -> None:
    errors.report("reset: \x1b[31mred\x07 [bold]x[/bold]", "reset", 1, as_json=True)
    captured = capsys.readouterr()
    assert "\x1b" not in captured.err and "\x07" not in captured.err
    assert "\\x1b[31mred\\x07 [bold]x[/bold]" in captured.err
    assert error_object(captured.out)["message"] == "reset: \x1b[31mred\x07 [bold]x[/bold]"  # JSON escapes it


def test_the_exit_codes_in_the_docs_are_the_codes_of_the_code() -> None:
    rows = re.findall(r"^\| (\d+) \|\s*`?([a-z-]*)`?\s*\|", DOCS.read_text(), re.MULTILINE)
    documented = {(int(code), kind) for code, kind in rows}
    in_code = {(code, kind) for kind, code in errors.EXIT_CODES.items()} | {(0, "")}
    assert documented == in_code
    table = re.findall(r"^(\d+) +([a-z-]+) ", errors.__doc__ or "", re.MULTILINE)
    assert {(int(code), kind) for code, kind in table} | {(0, "")} == in_code


@pytest.mark.network
def test_the_error_object_in_the_docs_is_what_recv_prints(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    documented = json.loads(re.search(r'^\{"error": .*\}$', DOCS.read_text(), re.MULTILINE).group())  # type: ignore[union-attr]
    net = loopback()
    argv = [
        "recv",
        "--server",
        net.server_text,
        "--group",
        net.group_text,
        "-o",
        str(tmp_path),
        "--json",
        "--wait",
        "0",
    ]
    _, out, _ = outcome(argv, capsys)
    printed = json.loads(out)
    printed["error"]["message"] = printed["error"]["message"].replace(net.server_text, "127.0.0.1:5000")
    assert printed == documented
