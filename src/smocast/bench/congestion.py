"""Random loss is not congestion: two controllers on a lossy LAN and on a shared bottleneck.

Both sides of issue 12's question in one seeded run of the simulator:

* a lossy but uncongested LAN: ``receivers`` receivers behind independent ``loss`` on a
  ``rate`` link (``smocast sim transfer``), each controller over each seed; the goodput per
  receiver (file bits over the time the last receiver completed) and its median over seeds,
  beside the first controller's goodput on the same LAN without loss (first seed);
* a shared drop-tail bottleneck (:mod:`smocast.sim.sharing`: 10 Mbit/s, 64 KiB queue, 20 ms):
  the channel (10 receivers) beside 1 and 4 TCP flows, its rate over a fair share.

Same arguments, same report (the simulator is deterministic): docs/benchmarks.md's table is
checked against it by a test.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

from smocast.sim.sharing import SMOCAST, SharingSpec, run_sharing
from smocast.sim.topology import PathSpec
from smocast.sim.transfer import TransferSpec, run_transfer

CONTROLLERS = ("newreno", "lossfilter")
SHARING_RECEIVERS = 10

Progress = Callable[[str], None]


def lossy_point(receivers: int, size: int, loss: float, rate: float, seed: int, congestion: str) -> dict[str, Any]:
    """One transfer on the lossy LAN: goodput per receiver in Mbit/s (whole file, and its middle half)."""
    path = PathSpec(rate=rate, loss=loss)
    spec = TransferSpec(receivers=receivers, size=size, path=path, seed=seed, congestion=congestion)
    report = run_transfer(spec).as_json()
    return {
        "goodput_mbps": round(report["goodput_bps"] / 1e6, 2),
        "steady_goodput_mbps": round(report["steady_goodput_bps"] / 1e6, 2),
        "completed": report["completed"],
        "all_identical": report["all_identical"],
    }


def share_point(tcp_flows: int, congestion: str, duration: float) -> dict[str, Any]:
    """The channel beside ``tcp_flows`` TCP flows: its share and the TCP flows' mean, over a fair share."""
    spec = SharingSpec(receivers=SHARING_RECEIVERS, tcp_flows=tcp_flows, congestion=congestion, duration=duration)
    steady = run_sharing(spec).as_json()["steady"]
    shares = steady["share_of_fair"]
    tcp = statistics.fmean(v for name, v in shares.items() if name != SMOCAST)
    return {
        "share_of_fair": shares[SMOCAST],
        "tcp_share_of_fair": round(tcp, 3),
        "ratio_to_tcp": round(shares[SMOCAST] / tcp, 2),
        "jain": steady["jain_mean"],
        "utilisation": steady["utilisation"],
    }


def run(
    receivers: list[int],
    seeds: list[int],
    size: int,
    loss: float = 0.02,
    rate: float = 100e6,
    tcp_flows: tuple[int, ...] = (1, 4),
    duration: float = 30.0,
    controllers: tuple[str, ...] = CONTROLLERS,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Every lossy-LAN point and every sharing point; medians over seeds and ratios to the first controller."""
    say = progress or (lambda _: None)
    lossy = []
    for n in receivers:
        row: dict[str, Any] = {"receivers": n}
        reference = lossy_point(n, size, 0.0, rate, seeds[0], controllers[0])
        say(f"{n} receivers, {controllers[0]}, no loss: {reference['goodput_mbps']:g} Mbit/s")
        row["lossless_mbps"] = reference["goodput_mbps"]
        for congestion in controllers:
            runs = []
            for seed in seeds:
                point = lossy_point(n, size, loss, rate, seed, congestion)
                say(f"{n} receivers, {congestion}, seed {seed}: {point['goodput_mbps']:g} Mbit/s")
                runs.append(point)
            goodputs = [p["goodput_mbps"] for p in runs]
            row[congestion] = {"runs": runs, "median_mbps": round(statistics.median(goodputs), 2)}
        first = row[controllers[0]]["median_mbps"]
        for congestion in controllers[1:]:
            row[congestion]["ratio"] = round(row[congestion]["median_mbps"] / first, 2) if first else None
        lossy.append(row)
    sharing = []
    for k in tcp_flows:
        for congestion in controllers:
            share = share_point(k, congestion, duration)
            say(f"beside {k} TCP flow(s), {congestion}: {share['share_of_fair']:g} of a fair share")
            sharing.append({"tcp_flows": k, "congestion": congestion, **share})
    return {
        "lossy_lan": {"loss": loss, "rate_bps": rate, "size": size, "seeds": seeds, "rows": lossy},
        "sharing": {"receivers": SHARING_RECEIVERS, "duration_s": duration, "points": sharing},
        "controllers": list(controllers),
    }


LOSSY_HEADER = (
    "| receivers | newreno, seeds {seeds} (Mbit/s) | median | lossfilter, seeds {seeds} (Mbit/s) | median "
    "| lossfilter / newreno | newreno without loss |\n|---:|---|---:|---|---:|---:|---:|"
)
SHARING_HEADER = (
    "| TCP flows | controller | channel's share of a fair share | TCP flows' mean share | channel / TCP | Jain |\n"
    "|---:|---|---:|---:|---:|---:|"
)


def lossy_rows(report: dict[str, Any]) -> list[str]:
    """The lossy-LAN table's rows in Markdown (newreno against lossfilter), as docs/benchmarks.md has them."""
    rows = []
    for row in report["lossy_lan"]["rows"]:
        old, new = row["newreno"], row["lossfilter"]
        cells = [
            str(row["receivers"]),
            " / ".join(f"{run['goodput_mbps']:g}" for run in old["runs"]),
            f"{old['median_mbps']:g}",
            " / ".join(f"{run['goodput_mbps']:g}" for run in new["runs"]),
            f"{new['median_mbps']:g}",
            f"{new['ratio']:g}",
            f"{row['lossless_mbps']:g}",
        ]
        rows.append("| " + " | ".join(cells) + " |")
    return rows


def sharing_rows(report: dict[str, Any]) -> list[str]:
    """The shared-bottleneck table's rows in Markdown."""
    return [
        f"| {p['tcp_flows']} | {p['congestion']} | {p['share_of_fair']:g} | {p['tcp_share_of_fair']:g} "
        f"| {p['ratio_to_tcp']:g} | {p['jain']:g} |"
        for p in report["sharing"]["points"]
    ]


def markdown(report: dict[str, Any]) -> str:
    """Both tables, with their headers."""
    seeds = "/".join(str(s) for s in report["lossy_lan"]["seeds"])
    lossy = "\n".join([LOSSY_HEADER.format(seeds=seeds), *lossy_rows(report)])
    return lossy + "\n\n" + "\n".join([SHARING_HEADER, *sharing_rows(report)]) + "\n"
