"""An open question of the TCP-SMO paper: its congestion behaviour beside TCP flows, in the simulator.

"We also plan to study the congestion control behavior of TCP-SMO in more depth." Section II.F
claims that the default policy G = ``min`` "results in a multicast session that is strictly fair
to all competing TCP unicast flows", and that ``fair:α,β`` bounds the session's bandwidth
between α and β times a competing TCP flow's. One TCP-SMO channel (10 receivers, all behind the
bottleneck) shares a 10 Mbit/s drop-tail bottleneck with one or four TCP flows
(:mod:`smocast.sim.sharing`).
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from smocast.repro import plotting
from smocast.repro.base import Outcome, Result, Row, Task, bound_row
from smocast.sim.sharing import SMOCAST, SharingSpec, run_sharing

SOURCE = "Liang & Cheriton §II.F, §VII (future work)"
POLICIES = ("min", "fair:2,4")
FLOWS = (1, 4)


def sharing_point(policy: str, tcp_flows: int, duration: float) -> dict[str, Any]:
    """One shared-bottleneck run, as JSON."""
    return run_sharing(SharingSpec(tcp_flows=tcp_flows, cwnd_policy=policy, duration=duration)).as_json()


def _duration(full: bool) -> float:
    return 120.0 if full else 20.0


def _tasks(full: bool) -> list[Task]:
    return [(sharing_point, (policy, k, _duration(full))) for policy in POLICIES for k in FLOWS]


def tcp_ratio(point: dict[str, Any]) -> float:
    """The TCP-SMO channel's steady rate over the mean TCP flow's."""
    shares = point["steady"]["share_of_fair"]
    tcp = statistics.fmean(v for k, v in shares.items() if k != SMOCAST)
    return float(shares[SMOCAST] / tcp)


def _row(point: dict[str, Any]) -> Row:
    policy, k = point["cwnd_policy"], point["tcp_flows"]
    steady = point["steady"]
    ratio = tcp_ratio(point)
    shares = steady["share_of_fair"]
    tcp = [v for name, v in shares.items() if name != SMOCAST]
    ours = (
        f"TCP-SMO {shares[SMOCAST]:.2f} of a fair share, TCP {min(tcp):.2f}-{max(tcp):.2f}; "
        f"ratio {ratio:.2f}; Jain {steady['jain_mean']:.3f}"
    )
    if policy == "min":
        return bound_row(
            f"min, {k} TCP flow{'s' if k > 1 else ''}",
            "strictly fair to competing TCP flows",
            ours,
            steady["jain_mean"] >= 0.9 and 0.75 <= ratio <= 1.33,
        )
    alpha, beta = (float(x) for x in policy.split(":")[1].split(","))
    return bound_row(
        f"{policy}, {k} TCP flow{'s' if k > 1 else ''}",
        f"{alpha:g} ≤ B_smo / B_tcp ≤ {beta:g}",
        ours,
        0.8 * alpha <= ratio <= 1.25 * beta,
    )


def _assemble(full: bool, outputs: list[Any]) -> Outcome:
    notes = [
        "Shares are mean delivered rates after the first 5 s (slow start) over the fair share, bottleneck / "
        "flows; TCP-SMO's rate is the mean over its receivers. Jain's index is computed each second over the "
        "flows' rates and averaged: 1 is perfectly fair, 1/n is one flow taking everything. A TCP flow is a "
        "TCP-SMO channel with one receiver (NewReno with SACK), so this measures the multicast policy G, not "
        "two different TCP implementations; the real-network run below sets it against the kernel's TCP.",
        "With min, every receiver behind the shared bottleneck sees the same drops, so the channel's window "
        "follows one TCP flow's. With fair:2,4, it follows the median child window clamped to 2-4 times the "
        "smallest average window, so it takes more than a fair share, within the bound equation (1) sets.",
    ]
    return Outcome(
        "open-congestion-sim",
        "TCP-SMO beside TCP flows on a shared bottleneck (simulator)",
        SOURCE,
        "simulation",
        f"10 Mbit/s drop-tail bottleneck (64 KiB queue), 20 ms round trip, 10 TCP-SMO receivers, "
        f"{_duration(full):.0f} s",
        [_row(point) for point in outputs],
        notes,
        {"points": outputs},
    )


def _plot(outcome: Outcome, directory: Path) -> list[Path]:
    points = outcome.data["points"]
    fig, axes = plotting.figure(len(points), 1, (7.0, 2.6))
    for ax, point in zip(axes, points, strict=True):
        times = point["times_s"]
        fair = point["fair_share_bps"]
        for name, rates in point["rates_bps"].items():
            style = "-" if name == SMOCAST else ":"
            ax.plot(times, [r / fair for r in rates], style, label=name, linewidth=2 if name == SMOCAST else 1)
        ax.plot(times, point["jain"], "k--", label="Jain's index")
        ax.set_ylim(0, max(2.5, max(max(r) for r in point["rates_bps"].values()) / fair * 1.05))
        plotting.finish(
            ax, "time (s)", "rate / fair share", f"{point['cwnd_policy']}, {point['tcp_flows']} TCP", legend=False
        )
        ax.legend(fontsize="x-small", ncol=6, loc="upper right")
    return [plotting.save(fig, directory, outcome.name)]


OPEN_CONGESTION_SIM = Result(
    "open-congestion-sim",
    "open question: TCP-SMO beside 1 and 4 TCP flows, with min and fair:2,4 (simulator)",
    SOURCE,
    "simulation",
    _tasks,
    _assemble,
    _plot,
    "120 s per run",
)
