"""Logging: the set-up, one line per protocol event (text or JSON lines), repair bursts, and the commands' use of it."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from smocast.aio.sockets import port_in_use
from smocast.logs import SOURCE, JsonFormatter, RepairWatch, log_event, setup_logging
from smocast.smo import events as ev
from smocast.wire import ResetCode
from tests.aio.netutil import loopback, payload

DOCS = Path(__file__).resolve().parents[1] / "docs" / "cli.md"
PEER = ("10.0.0.4", 40000)


@pytest.fixture
def log_file(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "smocast.log"
    yield path
    logging.getLogger("smocast").handlers.clear()


def lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_every_source_event_is_one_json_line_with_its_fields(log_file: Path) -> None:
    setup_logging("debug", str(log_file), "json")
    events = [
        ev.ReceiverJoined(1, PEER, 0, 0.0),
        ev.ReceiverJoined(2, PEER, 4096, 0.0),
        ev.TransferStarted(2, 0.1),
        ev.ReceiverDropped(1, PEER, ev.DropReason.NO_PROGRESS, "no acknowledgement for 10 s", 1.0),
        ev.ReceiverDropped(3, PEER, ev.DropReason.REFUSED, "the transfer started", 1.0),
        ev.ReceiverLeft(4, PEER, 1.5),
        ev.ReceiverCompleted(2, PEER, 9000, 2.0),
        ev.ChannelFinished(1, 1, 2.0),
    ]
    for event in events:
        log_event(event)
    got = lines(log_file)
    assert [line["event"] for line in got] == [
        "joined",
        "resumed",
        "started",
        "dropped",
        "refused",
        "left",
        "completed",
        "finished",
    ]
    dropped = got[3]
    assert dropped["level"] == "warning" and dropped["logger"] == "smocast.source"
    assert (dropped["reason"], dropped["detail"], dropped["receiver"]) == (
        "no-progress",
        "no acknowledgement for 10 s",
        1,
    )
    assert dropped["address"] == "10.0.0.4:40000"
    assert got[1]["start"] == 4096 and got[6]["bytes_acked"] == 9000
    assert all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$", str(line["time"])) for line in got)


def test_receiver_events_log_and_per_packet_events_do_not(log_file: Path) -> None:
    setup_logging("debug", str(log_file), "json")
    for event in (
        ev.Connected(0, 0.0),
        ev.DataReceived(0, b"x" * 100),
        ev.MessageReceived(0, b"m"),
        ev.Skipped(10, 20, 1.0),
        ev.ConnectionReset("late-join-refused", 2.0),
        ev.StreamEnded(100, 3.0),
    ):
        log_event(event)
    assert [line["event"] for line in lines(log_file)] == ["connected", "skipped", "reset", "finished"]


def test_the_level_filters(log_file: Path) -> None:
    setup_logging("warning", str(log_file), "json")
    log_event(ev.ReceiverJoined(1, PEER, 0, 0.0))
    log_event(ev.ReceiverDropped(1, PEER, ev.DropReason.RTT_EXCESSIVE, "rtt 3 s", 1.0))
    assert [line["event"] for line in lines(log_file)] == ["dropped"]


def test_text_lines_escape_control_characters_from_the_wire(log_file: Path) -> None:
    setup_logging("info", str(log_file), "text")
    log_event(ev.ConnectionReset("bye\x1b[2J\r\nforged line", 0.0))
    text = log_file.read_text()
    assert text.count("\n") == 1 and "\x1b" not in text and "\r" not in text
    assert "bye\\x1b[2J\\x0d\\x0aforged line" in text and " WARNING smocast.receiver: reset: " in text


def test_setting_up_again_replaces_the_handler(log_file: Path, tmp_path: Path) -> None:
    setup_logging("info", str(log_file), "json")
    second = tmp_path / "second.log"
    setup_logging("info", str(second), "json")
    log_event(ev.TransferStarted(1, 0.0))
    assert log_file.read_text() == "" and len(lines(second)) == 1
    assert sum(1 for h in logging.getLogger("smocast").handlers if isinstance(h, logging.FileHandler)) == 1


def test_repair_bursts_are_logged_once_a_check_sees_more(log_file: Path) -> None:
    setup_logging("info", str(log_file), "json")
    watch = RepairWatch()
    watch.check(0, 0, 0.0)
    watch.check(0, 0, 1.0)  # nothing new: no line
    watch.check(12, 3, 2.0)
    watch.check(12, 3, 3.0)
    (burst,) = lines(log_file)
    assert (burst["event"], burst["unicast"], burst["multicast"], burst["seconds"]) == ("repair-burst", 12, 3, 1.0)


def test_the_json_line_in_the_docs_is_what_a_drop_logs() -> None:
    documented = json.loads(re.search(r'^\{"time": .*"event": "dropped".*\}$', DOCS.read_text(), re.M).group())  # type: ignore[union-attr]
    record: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, r: logging.LogRecord) -> None:
            record.append(r)

    keep = Keep()
    SOURCE.addHandler(keep)
    SOURCE.setLevel(logging.INFO)
    try:
        log_event(ev.ReceiverDropped(3, PEER, ev.DropReason.NO_PROGRESS, "no acknowledgement for 10 s", 5.0))
    finally:
        SOURCE.removeHandler(keep)
        SOURCE.setLevel(logging.NOTSET)
    produced = json.loads(JsonFormatter().format(record[0]))
    produced["time"] = documented["time"]
    assert produced == documented


@pytest.mark.network
def test_send_and_recv_log_the_transfer_to_one_file_as_json_lines(tmp_path: Path) -> None:
    net = loopback()
    data = tmp_path / "data.bin"
    data.write_bytes(payload(300_000))
    out = tmp_path / "out"
    out.mkdir()
    log = tmp_path / "run.log"
    logging_options = ["--log-level", "info", "--log-file", str(log), "--log-format", "json"]
    base = [sys.executable, "-m", "smocast.cli.main"]
    sender = subprocess.Popen(
        [*base, "send", str(data), "--group", net.group_text, "--bind", net.server_text, "--json", *logging_options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 10
        while not port_in_use(net.server) and time.monotonic() < deadline:
            time.sleep(0.01)
        receiver = subprocess.run(
            [*base, "recv", "--server", net.server_text, "--group", net.group_text, "-o", str(out), *logging_options],
            capture_output=True,
            timeout=60,
            check=False,
        )
        sender.communicate(timeout=60)
    finally:
        sender.kill()
    assert receiver.returncode == 0 and sender.returncode == 0
    events = [(line["logger"], line["event"]) for line in lines(log)]
    for expected in (
        ("smocast.source", "joined"),
        ("smocast.source", "started"),
        ("smocast.source", "completed"),
        ("smocast.source", "finished"),
        ("smocast.receiver", "connected"),
        ("smocast.receiver", "completed"),
    ):
        assert expected in events
    assert b'"event"' not in receiver.stderr  # the lines went to the file, not to stderr


def test_a_receiver_that_left_is_logged_with_its_reason(log_file: Path) -> None:
    setup_logging("info", str(log_file), "json")
    log_event(ev.ReceiverLeft(4, PEER, 1.5, None, ResetCode.DISK_FULL, "cannot write out/f.bin: disk full"))
    log_event(ev.ReceiverLeft(5, PEER, 1.6))
    full, bare = lines(log_file)
    assert (full["event"], full["reason"], full["detail"]) == ("left", "disk-full", "cannot write out/f.bin: disk full")
    assert full["message"] == f"receiver 4 at {PEER[0]}:{PEER[1]} left: disk-full (cannot write out/f.bin: disk full)"
    assert (bare["reason"], bare["message"]) == ("unspecified", f"receiver 5 at {PEER[0]}:{PEER[1]} left (it closed)")


def test_a_left_reason_from_the_wire_cannot_forge_a_log_line(log_file: Path) -> None:
    setup_logging("info", str(log_file), "text")
    log_event(ev.ReceiverLeft(4, PEER, 1.5, None, ResetCode.RECEIVER_ERROR, "x\r\n2025 ERROR forged\x1b[2J"))
    text = log_file.read_text()
    assert text.count("\n") == 1 and "\x1b" not in text and "left: receiver-error (x\\x0d\\x0a2025 ERROR forged" in text
