"""``send --watch`` (the live receivers table) and ``send --stats-file`` (per-receiver JSON every second)."""

from __future__ import annotations

import io
import json
import random
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from rich.console import Console
from tests.aio.netutil import loopback, payload

from smocast.aio.channel import ReceiverRecord
from smocast.aio.sockets import port_in_use
from smocast.cli.common import CommandError
from smocast.cli.monitor import StatsFile
from smocast.cli.receivers_view import first_rows, receiver_rows, receivers_table, stats_json, totals
from smocast.cli.units import Units

MSS = 1400


@dataclass(frozen=True)
class Live:
    receiver: int
    state: str


def channel_of(n: int, seed: int = 5) -> tuple[list[ReceiverRecord], list[Live]]:
    """``n`` receivers: most established, a few completed or dropped (with a reason), as a channel keeps them."""
    rng = random.Random(seed)
    records, live = [], []
    for i in range(n):
        status = "dropped" if i % 97 == 5 else "completed" if i % 50 == 1 else "joined"
        record = ReceiverRecord(
            i,
            (f"10.{i // 250}.{i % 250}.{1 + i % 7}", 40000 + i),
            status,
            joined_at=rng.uniform(0, 1),
            ended_at=2.5 if status != "joined" else None,
            acked=rng.randrange(1 << 20, 20 << 20),
            srtt=rng.uniform(0.0005, 0.05),
            cwnd=rng.randrange(10, 200) * MSS,
            repairs_unicast=rng.randrange(5),
            repairs_multicast=rng.randrange(3),
            reason="no-progress: no acknowledgement for 10 s" if status == "dropped" else None,
        )
        records.append(record)
        if status == "joined":
            live.append(Live(i, "established"))
    return records, live


def render(records: list[ReceiverRecord], live: list[Live], *, sort: str = "acked", top: int = 20) -> str:
    rows = receiver_rows(records, live, now=3.0)
    table = receivers_table(rows, sort=sort, top=top, units=Units("MiB"), mss=MSS, title="sending: f to g")
    out = io.StringIO()
    Console(file=out, width=200, color_system=None).print(table)
    return out.getvalue()


def test_the_live_table_renders_1000_receivers_as_the_top_n_and_totals() -> None:
    records, live = channel_of(1000)
    text = render(records, live, top=20)
    (header,) = [line for line in text.splitlines() if line.startswith("┃")]
    body = [line for line in text.splitlines() if line.startswith("│")]
    assert len(body) == 20 + 1  # 20 receivers, then the totals
    assert "1000 receivers" in body[-1]
    for column in ("address", "state", "acked", "goodput", "SRTT", "cwnd", "repairs", "reason"):
        assert column in header
    least = min(records, key=lambda r: r.acked)
    assert f"{least.address[0]}:{least.address[1]}" in body[0]  # the least acked first
    assert "established" in text


def test_the_first_rows_follow_the_chosen_column() -> None:
    records, live = channel_of(300)
    rows = receiver_rows(records, live, now=3.0)
    by_srtt = first_rows(rows, "srtt", 5)
    assert [r.srtt_ms for r in by_srtt] == sorted((r.srtt_ms or 0 for r in rows), reverse=True)[:5]
    by_goodput = first_rows(rows, "goodput", 5)
    assert [r.goodput_bps for r in by_goodput] == sorted(r.goodput_bps for r in rows)[:5]
    by_repairs = first_rows(rows, "repairs", 3)
    assert by_repairs[0].repairs == max(r.repairs for r in rows)


def test_rows_carry_state_goodput_and_reason() -> None:
    records, live = channel_of(200)
    rows = {r.receiver: r for r in receiver_rows(records, live, now=3.0)}
    dropped = rows[5]
    assert dropped.state == "dropped" and dropped.reason is not None and "no-progress" in dropped.reason
    established = rows[0]
    record = records[0]
    assert established.state == "established"
    assert established.goodput_bps == pytest.approx(record.acked * 8 / (3.0 - (record.joined_at or 0)))
    completed = rows[1]
    assert completed.goodput_bps == pytest.approx(records[1].acked * 8 / (2.5 - (records[1].joined_at or 0)))


def test_totals_count_every_receiver() -> None:
    records, live = channel_of(1000)
    t = totals(receiver_rows(records, live, now=3.0))
    assert t["receivers"] == 1000 and sum(t["states"].values()) == 1000
    assert t["bytes_acked"] == sum(r.acked for r in records)
    assert t["least_acked"] == min(r.acked for r in records)


def test_the_stats_file_is_replaced_whole_and_leaves_nothing_beside_it(tmp_path: Path) -> None:
    records, live = channel_of(50)
    stats = StatsFile(tmp_path / "stats.json")
    for second in range(3):
        stats.write(stats_json(receiver_rows(records, live, now=3.0), time=second, state="sending"))
    obj = json.loads((tmp_path / "stats.json").read_text())
    assert obj["time"] == 2 and len(obj["receivers"]) == 50 and obj["totals"]["receivers"] == 50
    assert {"receiver", "address", "state", "bytes_acked", "goodput_bps", "srtt_ms", "reason"} <= set(
        obj["receivers"][0]
    )
    assert [p.name for p in tmp_path.iterdir()] == ["stats.json"]


def test_a_stats_file_in_a_missing_directory_is_a_file_error(tmp_path: Path) -> None:
    with pytest.raises(CommandError) as info:
        StatsFile(tmp_path / "missing" / "stats.json")
    assert (info.value.code, info.value.kind) == (1, "file") and "is not a directory" in str(info.value)


def test_a_failing_write_is_logged_once_and_the_run_goes_on(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    folder = tmp_path / "d"
    folder.mkdir()
    stats = StatsFile(folder / "stats.json")
    folder.rmdir()
    stats.write({"a": 1})
    stats.write({"a": 2})
    assert [r.message for r in caplog.records].count(
        f"cannot write {folder / 'stats.json'}: No such file or directory"
    ) == 1


@pytest.mark.network
def test_send_with_watch_and_a_stats_file_on_loopback(tmp_path: Path) -> None:
    net = loopback()
    data = tmp_path / "data.bin"
    data.write_bytes(payload(2_000_000))
    stats = tmp_path / "stats.json"
    base = [sys.executable, "-m", "smocast.cli.main"]
    argv = ["send", str(data), "--group", net.group_text, "--bind", net.server_text, "--min-receivers", "2"]
    sender = subprocess.Popen([*base, *argv, "--watch", "--stats-file", str(stats)], stdout=subprocess.PIPE, text=True)
    receivers = []
    try:
        deadline = time.monotonic() + 10
        while not port_in_use(net.server) and time.monotonic() < deadline:
            time.sleep(0.01)
        for index in range(2):
            out = tmp_path / f"out{index}"
            out.mkdir()
            recv = ["recv", "--server", net.server_text, "--group", net.group_text, "-o", str(out), "--json"]
            receivers.append(subprocess.Popen([*base, *recv], stdout=subprocess.PIPE))
        summary, _ = sender.communicate(timeout=60)
        for process in receivers:
            process.communicate(timeout=30)
    finally:
        for process in (sender, *receivers):
            process.kill()
    assert sender.returncode == 0
    assert "2 of 2 completed" in summary
    final = json.loads(stats.read_text())
    assert final["state"] == "finished" and final["file"] == "data.bin"
    assert [r["state"] for r in final["receivers"]] == ["completed", "completed"]
    assert all(r["bytes_acked"] > 2_000_000 for r in final["receivers"])
