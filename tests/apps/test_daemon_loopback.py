"""``smocast recvd``: announced transfers received one after another, at once, late, filtered, forged."""

from __future__ import annotations

import itertools
import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from tests.aio.netutil import loopback, payload, sha
from tests.apps.cmd import Commands, commands, finish, finish_lines
from tests.apps.sets import make_tree, snapshot

from smocast.aio.sockets import free_udp_port
from smocast.apps import resume
from smocast.apps.announce import Announcement

pytestmark = pytest.mark.network
_GROUPS = itertools.count(1)


def announce_group() -> str:
    return f"239.255.92.{next(_GROUPS) % 250 + 1}:{free_udp_port()}"


def daemon(run: Commands, out: Path, group: str, *options: str) -> Any:
    out.mkdir(exist_ok=True)
    proc = run.start("recvd", "-o", str(out), "--announce-group", group, "--interface", "lo", "--json", *options)
    time.sleep(0.5)  # joined the announcement group
    return proc


def send(run: Commands, group: str, *argv: str, min_receivers: int = 1) -> Any:
    net = loopback()
    return run.sender(net, *argv, "--announce-group", group, "--wait", "30s", "--min-receivers", str(min_receivers))


def test_two_announced_transfers_in_a_row(tmp_path: Path) -> None:
    group = announce_group()
    tree = make_tree(tmp_path)
    single = tmp_path / "single.bin"
    single.write_bytes(payload(500_000, seed=2))
    with commands() as run:
        receiver = daemon(run, tmp_path / "out", group, "--count", "2")
        first = finish(send(run, group, str(tree), "--description", "the tree"))
        second = finish(send(run, group, str(single)))
        code, lines, err = finish_lines(receiver)
    assert first[0] == second[0] == 0 and code == 0, err
    assert [(line["event"], line["name"]) for line in lines] == [("received", "tree"), ("received", "single.bin")]
    assert lines[0]["description"] == "the tree" and lines[0]["digest"] == first[1]["digest"]
    assert snapshot(tmp_path / "out" / "tree") == snapshot(tree)
    assert sha((tmp_path / "out" / "single.bin").read_bytes()) == second[1]["sha256"]


def test_two_transfers_at_once(tmp_path: Path) -> None:
    group = announce_group()
    files = []
    for i in range(2):
        path = tmp_path / f"f{i}.bin"
        path.write_bytes(payload(3_000_000, seed=10 + i))
        files.append(path)
    with commands() as run:
        receiver = daemon(run, tmp_path / "out", group, "--count", "2")
        senders = [send(run, group, str(path), "--rate", "30mbit") for path in files]
        results = [finish(s) for s in senders]
        code, lines, err = finish_lines(receiver)
    assert code == 0 and all(r[0] == 0 for r in results), err
    assert sorted(line["name"] for line in lines) == ["f0.bin", "f1.bin"]
    for path in files:
        assert (tmp_path / "out" / path.name).read_bytes() == path.read_bytes()
    starts = sorted(r[1]["per_receiver"][0]["joined_at_s"] for r in results)
    assert all(r[1]["wall_time_s"] for r in results) and starts  # both ran; the daemon took both


def test_filters_keep_what_they_name(tmp_path: Path) -> None:
    group = announce_group()
    for name in ("nightly-1.bin", "other.bin"):
        (tmp_path / name).write_bytes(payload(100_000, seed=len(name)))
    with commands() as run:
        receiver = daemon(run, tmp_path / "out", group, "--count", "1", "--name", "nightly-*")
        ignored = run.sender(
            loopback(),
            str(tmp_path / "other.bin"),
            "--announce-group",
            group,
            "--wait",
            "3s",
            "--announce-interval",
            "200ms",
        )
        wanted = finish(send(run, group, str(tmp_path / "nightly-1.bin")))
        code, lines, err = finish_lines(receiver)
        icode, ireport, _ = finish(ignored)
    assert code == 0 and wanted[0] == 0, err
    assert [line["name"] for line in lines] == ["nightly-1.bin"]
    assert icode == 1 and ireport["error"]["kind"] == "timeout"  # nobody took it
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["nightly-1.bin"]


def test_a_source_filter_refuses_other_addresses(tmp_path: Path) -> None:
    group = announce_group()
    (tmp_path / "x.bin").write_bytes(b"x" * 1000)
    with commands() as run:
        receiver = daemon(run, tmp_path / "out", group, "--from", "192.0.2.0/24", "--log-level", "info")
        ignored = run.sender(loopback(), str(tmp_path / "x.bin"), "--announce-group", group, "--wait", "6s")
        icode, _, _ = finish(ignored)
        receiver.terminate()
        code, _, err = finish_lines(receiver)
    assert icode == 1 and "not in --from" in err
    assert code == 0 and "stopped (SIGTERM)" in err
    assert list((tmp_path / "out").iterdir()) == []


def test_a_transfer_under_way_is_joined_from_its_first_byte(tmp_path: Path) -> None:
    """The daemon starts once the first receiver has data; at 10 Mbit/s the 12 MB transfer runs on
    for about 8 s more, announced every 0.6 s, while the daemon starts and hears it."""
    group = announce_group()
    data = payload(12_000_000, seed=12)
    (tmp_path / "big.bin").write_bytes(data)
    net = loopback()
    with commands() as run:
        sender = run.sender(
            net,
            str(tmp_path / "big.bin"),
            "--announce-group",
            group,
            "--rate",
            "10mbit",
            "--announce-interval",
            "200ms",
        )
        (tmp_path / "first").mkdir()
        first = run.start(
            "recv", "--server", net.server_text, "--group", net.group_text, "-o", str(tmp_path / "first"), "--json",
        )  # fmt: skip
        under_way(tmp_path / "first", first)
        receiver = daemon(run, tmp_path / "late", group, "--count", "1")
        code, lines, err = finish_lines(receiver)
        finish(first)
        _, sent, _ = finish(sender)
    assert code == 0, err
    assert (tmp_path / "late" / "big.bin").read_bytes() == data
    assert sent["completed"] == 2 and lines[0]["event"] == "received"
    assert sorted(r["start"] for r in sent["per_receiver"]) == [0, 0]  # the late one from byte 0


def under_way(out: Path, proc: Any) -> None:
    """Return once the receive into ``out`` has saved progress: the transfer has started."""
    deadline = time.monotonic() + 60
    while not resume.states(out):
        assert proc.poll() is None, f"the first receiver ended: {proc.communicate()[1]}"
        assert time.monotonic() < deadline, "the transfer did not start"
        time.sleep(0.05)


def announce_forged(receiver: Any, group: str, forged: Announcement, seconds: float = 60.0) -> None:
    """Send ``forged`` on the announcement group every 0.2 s (as a source would) until the daemon exits."""
    host, port = group.rsplit(":", 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1"))
        deadline = time.monotonic() + seconds
        while receiver.poll() is None and time.monotonic() < deadline:
            sock.sendto(forged.encode(), (host, int(port)))
            time.sleep(0.2)


def test_an_announcement_that_lies_about_the_manifest_is_refused(tmp_path: Path) -> None:
    """In the insecure mode, a forged announcement points at a real channel with another
    manifest's digest: the daemon joins, finds the manifest differs, and writes nothing."""
    group = announce_group()
    (tmp_path / "real.bin").write_bytes(b"r" * 5000)
    net = loopback()
    with commands() as run:
        receiver = daemon(run, tmp_path / "out", group, "--count", "1", "--insecure")
        sender = run.sender(net, str(tmp_path / "real.bin"), "--no-announce", "--wait", "20s", "--insecure")
        forged = Announcement(b"\x07" * 8, net.server, net.group, None, b"\xee" * 32, "innocent", 5000, 1)
        announce_forged(receiver, group, forged)
        code, lines, err = finish_lines(receiver)
        finish(sender)
    assert code == 1, err
    (line,) = lines
    assert line["event"] == "failed" and "differs from the one the source announced" in line["error"]["message"]
    assert list((tmp_path / "out").iterdir()) == []


def test_a_secure_daemon_ignores_a_forged_announcement_and_takes_the_signed_one(tmp_path: Path) -> None:
    """By default the forged announcement is not even followed (it is not signed by the key pinned
    for its server); the source's signed announcement is taken."""
    group = announce_group()
    (tmp_path / "real.bin").write_bytes(b"r" * 5000)
    net = loopback()
    with commands() as run:
        receiver = daemon(run, tmp_path / "out", group, "--count", "1", "--log-level", "info")
        forged = Announcement(b"\x07" * 8, net.server, net.group, None, b"\xee" * 32, "innocent", 5000, 1)
        forging = threading.Thread(target=announce_forged, args=(receiver, group, forged))
        forging.start()  # until the daemon exits
        time.sleep(2.0)
        sender = run.sender(net, str(tmp_path / "real.bin"), "--announce-group", group, "--wait", "30s")
        code, lines, err = finish_lines(receiver)
        forging.join()
        sent = finish(sender)
    assert code == 0 and sent[0] == 0, err
    (line,) = lines
    assert line["event"] == "received" and line["name"] == "real.bin"
    assert "not taking 'innocent'" in err and "not signed" in err, err
    assert (tmp_path / "out" / "real.bin").read_bytes() == b"r" * 5000
