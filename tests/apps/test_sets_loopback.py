"""``smocast send`` and ``smocast recv`` with many files, standard input, start order, safe writes,
resume after a kill and the rate cap, as separate processes on loopback multicast."""

from __future__ import annotations

import json
import signal
import stat
import time
from pathlib import Path

import pytest
from tests.aio.netutil import loopback, payload, sha
from tests.apps.cmd import commands, finish, recv
from tests.apps.sets import make_tree, snapshot

from smocast.apps import resume

pytestmark = pytest.mark.network


def test_a_tree_and_a_file_reach_two_receivers_whole(tmp_path: Path) -> None:
    net = loopback(ssm=True)
    tree = make_tree(tmp_path)
    extra = tmp_path / "notes.txt"
    extra.write_text("read me\n")
    with commands() as run:
        sender = run.sender(net, str(tree), str(extra), "--min-receivers", "2", "--wait", "30s", "--no-announce")
        receivers = [recv(run, net, tmp_path / f"out{i}") for i in range(2)]
        results = [finish(r) for r in receivers]
        code, sent, err = finish(sender)
    assert code == 0, err
    assert (sent["files"], sent["directories"], sent["completed"]) == (5, 4, 2)
    for i, (rcode, got, rerr) in enumerate(results):
        assert rcode == 0, rerr
        out = tmp_path / f"out{i}"
        assert snapshot(out / "tree") == snapshot(tree) and (out / "notes.txt").read_text() == "read me\n"
        assert stat.S_IMODE((out / "tree" / "sub" / "b.txt").stat().st_mode) == 0o600
        assert (got["files"], got["written"], got["digest"]) == (5, 5, sent["digest"])


def test_a_receiver_started_before_its_source_waits_for_it(tmp_path: Path) -> None:
    net = loopback()
    data = payload(400_000, seed=4)
    (tmp_path / "late.bin").write_bytes(data)
    with commands() as run:
        impatient = recv(run, net, tmp_path / "impatient", "--wait", "0")
        icode, ireport, _ = finish(impatient)
        patient = recv(run, net, tmp_path / "patient", "--wait", "30s")
        time.sleep(1.5)  # the receiver retries meanwhile
        sender = run.sender(net, str(tmp_path / "late.bin"), "--no-announce", "--wait", "30s")
        code, got, err = finish(patient)
        finish(sender)
    assert icode == 1 and ireport["error"]["kind"] == "connect-failed"
    assert code == 0, err
    assert (tmp_path / "patient" / "late.bin").read_bytes() == data and got["connect_retries"] > 0


def test_standard_input_is_sent_as_one_stream(tmp_path: Path) -> None:
    net = loopback()
    data = payload(1_234_567, seed=5)
    (tmp_path / "piped").write_bytes(data)
    with commands() as run, (tmp_path / "piped").open("rb") as piped:
        receiver = recv(run, net, tmp_path / "out")
        sender = run.start(
            "send", "-", "--name", "dump.bin", "--group", net.group_text, "--bind", net.server_text,
            "--json", "--no-announce", "--wait", "30s", stdin=piped,
        )  # fmt: skip
        code, got, err = finish(receiver)
        scode, sent, serr = finish(sender)
    assert code == 0 and scode == 0, err + serr
    assert (tmp_path / "out" / "dump.bin").read_bytes() == data
    assert got["bytes"] == sent["bytes"] == len(data) and got["sha256"] == sha(data)


def test_an_existing_file_is_refused_at_once_and_backup_keeps_it(tmp_path: Path) -> None:
    net = loopback()
    data = payload(200_000, seed=6)
    (tmp_path / "f.bin").write_bytes(data)
    out = tmp_path / "out"
    out.mkdir()
    (out / "f.bin").write_bytes(b"mine")
    with commands() as run:
        sender = run.sender(net, str(tmp_path / "f.bin"), "--no-announce")
        code, report, _ = finish(recv(run, net, out))  # refused once the manifest is in
        finish(sender)
        sender = run.sender(net, str(tmp_path / "f.bin"), "--no-announce", "--min-receivers", "2")
        kept = recv(run, net, out, "--backup")
        other = recv(run, net, tmp_path / "other")
        results = [finish(kept), finish(other)]
        finish(sender)
    assert code == 1 and report["error"]["kind"] == "file" and "already exists" in report["error"]["message"]
    assert all(r[0] == 0 for r in results), results
    assert (out / "f.bin").read_bytes() == data and (out / "f.bin~").read_bytes() == b"mine"


def test_a_receiver_killed_half_way_resumes_and_ends_identical(tmp_path: Path) -> None:
    net = loopback()
    data = payload(12_000_000, seed=8)
    (tmp_path / "big.bin").write_bytes(data)
    out = tmp_path / "out"
    with commands() as run:
        sender = run.sender(
            net, str(tmp_path / "big.bin"), "--no-announce", "--rate", "40mbit", "--progress-timeout", "3s"
        )
        first = recv(run, net, out)
        offset = wait_for_progress(out, len(data) // 2, first)
        first.send_signal(signal.SIGKILL)
        first.communicate()
        (state,) = resume.states(out)
        assert state.partial is not None and state.offset >= offset
        assert not (out / "big.bin").exists()  # nothing partial under the final name
        second = recv(run, net, out)
        code, got, err = finish(second)
        finish(sender)
    assert code == 0, err
    assert (out / "big.bin").read_bytes() == data and got["sha256"] == sha(data)
    assert got["resumed_from"] >= offset
    assert [p.name for p in out.iterdir()] == ["big.bin"]  # partial and state removed


def test_no_resume_removes_a_partial_and_starts_over(tmp_path: Path) -> None:
    net = loopback()
    data = payload(3_000_000, seed=13)
    (tmp_path / "f.bin").write_bytes(data)
    out = tmp_path / "out"
    with commands() as run:
        sender = run.sender(net, str(tmp_path / "f.bin"), "--no-announce", "--rate", "30mbit")
        first = recv(run, net, out)
        wait_for_progress(out, 1_000_000, first)
        first.send_signal(signal.SIGKILL)
        first.communicate()
        finish(sender)  # the killed receiver is dropped; the source ends
        (state,) = resume.states(out)
        assert state.partial is not None and (out / state.partial.temp).exists()
        sender = run.sender(net, str(tmp_path / "f.bin"), "--no-announce")
        code, got, err = finish(recv(run, net, out, "--no-resume"))
        finish(sender)
    assert code == 0, err
    assert got["resumed_from"] == 0 and (out / "f.bin").read_bytes() == data
    assert [p.name for p in out.iterdir()] == ["f.bin"]  # the old partial and its state are gone


def wait_for_progress(out: Path, at_least: int, proc: object) -> int:
    """Wait until the receive into ``out`` saved a resume state past ``at_least`` bytes; return its offset."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for state in resume.states(out):
            if state.offset >= at_least:
                return state.offset
        time.sleep(0.05)
    raise AssertionError(f"no progress past {at_least} bytes in {out}")


def test_the_rate_cap_holds_the_goodput_under_it(tmp_path: Path) -> None:
    net = loopback()
    (tmp_path / "f.bin").write_bytes(payload(3_000_000, seed=9))
    with commands() as run:
        sender = run.sender(net, str(tmp_path / "f.bin"), "--no-announce", "--rate", "20mbit")
        code, got, err = finish(recv(run, net, tmp_path / "out"))
        scode, sent, serr = finish(sender)
    assert code == scode == 0, err + serr
    assert sent["goodput_bps"] <= 20e6 * 1.01  # slower on a busy machine, never faster
    assert got["goodput_bps"] <= 20e6 * 1.05


def test_recv_json_lines_are_plain_json(tmp_path: Path) -> None:
    """Every field of the report is JSON a script can read (no terminal control, no rich markup)."""
    net = loopback()
    (tmp_path / "x.bin").write_bytes(b"x" * 1000)
    with commands() as run:
        sender = run.sender(net, str(tmp_path / "x.bin"), "--no-announce")
        code, got, err = finish(recv(run, net, tmp_path / "out"))
        finish(sender)
    assert code == 0, err
    assert json.loads(json.dumps(got)) == got and got["verified"] is True
