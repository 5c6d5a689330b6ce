"""Random loss against congestion on the namespace testbed (root): real processes, real TCP.

* :func:`lossy_lan`: ``smocast send`` on host 0 (egress shaped to 100 Mbit/s by tbf) to N
  ``smocast recv`` spread over up to four receiver hosts, each host dropping ``loss`` of what
  it receives (nftables); each controller in turn, ``repeat`` times, interleaved. Goodput per
  receiver is the file's bits over the source's wall time (all receivers verified).
* :func:`sharing`: the run of ``smocast repro open-congestion-testbed`` (3 receivers beside
  kernel TCP flows from iperf3 through a 20 Mbit/s tbf bottleneck with a 50 ms queue), with
  the controller given; the channel's share and the TCP flows' mean, over a fair share.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from smocast.apps.processes import processes
from smocast.bench.fanout_runs import Outcome, outcome, python, wait_listening
from smocast.repro.open_congestion_testbed import _summary, testbed_point
from smocast.testbed import Testbed

GROUP = "232.8.8.8:5700"
PORT = 5700
RECEIVER_HOSTS = 4
LINK_RATE = "100mbit"
RUN_LIMIT = 600.0


def _transfer(tb: Testbed, payload: Path, work: Path, receivers: int, congestion: str, tag: str) -> dict[str, Any]:
    """One ``smocast send`` to ``receivers`` ``smocast recv``; its wall time and exit codes."""
    server = f"{tb.address(0)}:{PORT}"
    send = ["send", str(payload), "--group", GROUP, "--bind", server, "--min-receivers", str(receivers), "--insecure"]
    with processes() as started:
        pipes: dict[str, Any] = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
        sender = tb.popen(0, python("smocast.cli.main", *send, "--congestion", congestion, "--json"), **pipes)
        started.append(sender)
        wait_listening(sender, PORT, "udp")
        receiving = []
        for i in range(receivers):
            out = work / f"{tag}-r{i}"
            out.mkdir()
            recv = ["recv", "--server", server, "--group", GROUP, "-o", str(out), "--timeout", "60s", "--json"]
            recv.append("--insecure")  # congestion control is measured on the plain protocol
            receiving.append(tb.popen(1 + i % RECEIVER_HOSTS, python("smocast.cli.main", *recv), **pipes))
            started.append(receiving[-1])
        deadline = time.monotonic() + RUN_LIMIT
        received: list[Outcome] = [outcome(proc, deadline) for proc in receiving]
        sent = outcome(sender, deadline)
    wall = sent.report.get("wall_time_s") if sent.report else None
    return {
        "wall_s": wall,
        "goodput_mbps": round(payload.stat().st_size * 8 / wall / 1e6, 2) if wall else None,
        "ok": sent.code == 0 and all(r.code == 0 for r in received),
        "load_average": round(os.getloadavg()[0], 1),
    }


def lossy_lan(
    receivers: list[int],
    size: int,
    loss: float,
    repeat: int,
    controllers: tuple[str, ...],
    say: Callable[[str], None],
) -> list[dict[str, Any]]:
    """For each N, each controller ``repeat`` times (interleaved): goodput per receiver, and medians."""
    rows = []
    hosts = min(max(receivers), RECEIVER_HOSTS)
    with Testbed(f"lc{os.getpid() % 10000}").running(hosts=hosts + 1) as tb, tempfile.TemporaryDirectory() as tmp:
        tb.set_rate(0, LINK_RATE)
        for host in range(1, hosts + 1):
            tb.set_loss(host, loss)
        payload = Path(tmp) / "payload.bin"
        payload.write_bytes(os.urandom(size))
        for n in receivers:
            runs: dict[str, list[dict[str, Any]]] = {c: [] for c in controllers}
            for k in range(repeat):
                for congestion in controllers:
                    run = _transfer(tb, payload, Path(tmp), n, congestion, f"{n}-{congestion}-{k}")
                    say(f"testbed, {n} receivers, {congestion}, run {k + 1}: {run['goodput_mbps']} Mbit/s")
                    runs[congestion].append(run)
            rows.append({"receivers": n} | {c: _medians(r) for c, r in runs.items()})
    return rows


def _medians(runs: list[dict[str, Any]]) -> dict[str, Any]:
    rates = [r["goodput_mbps"] for r in runs if r["ok"] and r["goodput_mbps"]]
    return {"runs": runs, "median_mbps": round(statistics.median(rates), 2) if rates else None}


def sharing(tcp_flows: int, seconds: int, congestion: str) -> dict[str, Any]:
    """The channel beside ``tcp_flows`` kernel TCP flows on the tbf bottleneck, over a fair share."""
    point = testbed_point(tcp_flows, seconds, "min", congestion)
    summary = _summary(point)
    shares = summary["share_of_fair"]
    tcp = statistics.fmean(v for name, v in shares.items() if name != "smocast")
    return {
        "tcp_flows": tcp_flows,
        "congestion": congestion,
        "share_of_fair": round(shares["smocast"], 3),
        "tcp_share_of_fair": round(tcp, 3),
        "ratio_to_tcp": round(shares["smocast"] / tcp, 2),
        "jain": round(summary["jain_mean"], 3),
        "load_average": point["load_average"],
    }


def run(
    receivers: list[int],
    size: int,
    loss: float,
    repeat: int,
    seconds: int,
    controllers: tuple[str, ...],
    say: Callable[[str], None],
) -> dict[str, Any]:
    """Both sides on the testbed: the lossy LAN, then the tbf bottleneck beside 1 and 4 TCP flows."""
    rows = lossy_lan(receivers, size, loss, repeat, controllers, say)
    points = []
    for k in (1, 4):
        for congestion in controllers:
            point = sharing(k, seconds, congestion)
            say(f"testbed, beside {k} TCP flow(s), {congestion}: {point['share_of_fair']:g} of a fair share")
            points.append(point)
    return {
        "testbed": True,
        "lossy_lan": {"loss": loss, "rate": LINK_RATE, "size": size, "repeat": repeat, "rows": rows},
        "sharing": {"seconds": seconds, "bottleneck": "20mbit, 50 ms queue", "points": points},
        "controllers": list(controllers),
    }


_SHARING_HEAD = "| beside kernel TCP | channel's share of a fair share | TCP flows' mean share | channel / TCP | Jain |"


def markdown(report: dict[str, Any]) -> str:
    """The two tables of docs/benchmarks.md for a ``--testbed`` report: goodput per receiver on
    the lossy LAN (the median, and each run's where there were several), and the shares beside
    kernel TCP."""
    controllers = report["controllers"]
    lossy = report["lossy_lan"]
    title = f"{lossy['loss'] * 100:g}% loss, {lossy['size'] / (1 << 20):g} MiB"
    head = f"| {title} | " + " | ".join(
        f"{c} (Mbit/s per receiver)" if i == 0 else c for i, c in enumerate(controllers)
    )
    ratio = len(controllers) >= 2
    if ratio:
        head += f" | {controllers[1]} / {controllers[0]}"
    lines = [head + " |", "|---|" + "---:|" * (len(controllers) + ratio)]
    for row in lossy["rows"]:
        cells = [_goodput(row[c]) for c in controllers]
        if ratio:
            first, second = row[controllers[0]]["median_mbps"], row[controllers[1]]["median_mbps"]
            cells.append(f"{second / first:.2f}" if first and second else "-")
        lines.append(f"| N = {row['receivers']} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "| beside kernel TCP | channel's share of a fair share | TCP flows' mean share | channel / TCP | Jain |",
    ]
    lines.append("|---|---:|---:|---:|---:|")
    for point in report["sharing"]["points"]:
        flows = point["tcp_flows"]
        name = f"{flows} flow{'s' if flows != 1 else ''}, {point['congestion']}"
        lines.append(
            f"| {name} | {point['share_of_fair']:.2f} | {point['tcp_share_of_fair']:.2f} "
            f"| {point['ratio_to_tcp']:.2f} | {point['jain']:.2f} |"
        )
    return "\n".join(lines) + "\n"


def _goodput(cell: dict[str, Any]) -> str:
    """The median, with each run's figure after it when there were several."""
    median = cell["median_mbps"]
    text = "-" if median is None else f"{median:.1f}"
    rates = [r["goodput_mbps"] for r in cell["runs"]]
    if len(rates) > 1:
        text += " (" + " / ".join("-" if r is None else f"{r:.1f}" for r in rates) + ")"
    return text
