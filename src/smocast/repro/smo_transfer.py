"""TCP-SMO section V.A-B: ACK processing, Figure 5, the ACK frequency, and lossy receivers.

Every run uses the paper's LAN and the calibrated server of :mod:`smocast.repro.paper_server`.
Throughput is the steady rate: the middle half of the file, from the last receiver to have a quarter
of it to the last to have three quarters, so the first window (sent before any ACK), the handshakes
and the last round trip of a short run do not weigh on it.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from smocast.repro import plotting
from smocast.repro.base import Outcome, Result, Row, Task, bound_row, info_row
from smocast.repro.paper_server import LAN, PAPER_MSS, ack_bound_bps, paper_transfer

SOURCE = "Liang & Cheriton"
MBIT = 1e6


def _mbit(bps: float) -> str:
    return f"{bps / MBIT:.3g} Mbit/s"


# --- smo-ackproc ---------------------------------------------------------------------------------

PAPER_PPS = 100  # "at a rate of about 100 packets/sec"


def _ackproc_size(full: bool) -> int:
    return 36 * 10**6 if full else 512 * 1024


def _ackproc_tasks(full: bool) -> list[Task]:
    size = _ackproc_size(full)
    rate = {"source_rate": PAPER_PPS * PAPER_MSS}
    return [(paper_transfer, (n, size, rate)) for n in (1200, 1500)]


def _ackproc_assemble(full: bool, outputs: list[Any]) -> Outcome:
    ok, over = outputs
    written = -(-ok["bytes"] // PAPER_MSS) / PAPER_PPS  # when the application wrote its last segment
    lag = [(r["finish_s"] or float("inf")) - written for r in outputs]
    rows = [
        bound_row(
            "1200 receivers: ACKs handled",
            "50,000-60,000 ACKs/s",
            f"{ok['acks_per_s']:,.0f} ACKs/s, none lost",
            50_000 <= ok["acks_per_s"] <= 62_500 and ok["ack_drops"] == 0,
        ),
        bound_row(
            "1200 receivers: all complete at the application's rate",
            "all 1200, the 36 MB in about 254 s",
            f"{ok['completed']} identical, last {lag[0]:.2f} s after the last write"
            + (f"; {ok['finish_s']:.0f} s" if full else ""),
            ok["completed"] == 1200 and ok["identical"] and lag[0] < 0.5,
        ),
        bound_row(
            "1500 receivers",
            "ACKs lost at the server; some connections cannot advance in time",
            f"{over['ack_drops']:,} ACKs lost; last receiver {lag[1]:.2f} s behind the application, "
            f"{_mbit(over['steady_goodput_bps'])} instead of {_mbit(PAPER_PPS * PAPER_MSS * 8)}",
            over["ack_drops"] > 0 and lag[1] > 0.5,
        ),
    ]
    notes = [
        f"The application writes {PAPER_PPS} segments of {PAPER_MSS} bytes per second; each receiver ACKs "
        "every second segment, so 1200 receivers offer 60,000 ACKs/s and 1500 offer 75,000/s to a receive path "
        "that serves 62,500/s (the calibration above). Beyond it the queue grows until it drops ACKs; the "
        "window (64 KiB) then holds the source back, and the transfer falls behind the application.",
    ]
    if not full:
        notes.append(
            f"Default size: {_ackproc_size(False) // 1024} KiB instead of 36 MB; --full sends the paper's 36 MB "
            "(about 254 s of simulated time)."
        )
    return Outcome(
        "smo-ackproc",
        "ACK processing: 1200 and 1500 receivers at 100 packets/s",
        SOURCE + " §V.A",
        "simulation",
        f"{_ackproc_size(full):,} bytes at {PAPER_PPS} packets/s, ACK every 2 segments",
        rows,
        notes,
        {"runs": outputs},
    )


SMO_ACKPROC = Result(
    "smo-ackproc",
    "ACK processing: 1200 receivers at about 100 packets/s, 50-60k ACKs/s; 1500 cannot advance",
    SOURCE + " §V.A",
    "simulation",
    _ackproc_tasks,
    _ackproc_assemble,
    None,
    "36 MB to 1200 and to 1500 receivers (hours of CPU)",
)

# --- smo-fig5 and smo-ackfreq ---------------------------------------------------------------------


def _fig5_sizes(full: bool) -> tuple[tuple[int, ...], int]:
    if full:
        return tuple(range(100, 1001, 100)), 4 << 20
    return (100, 300, 600, 1000), 256 * 1024


def _fig5_tasks(full: bool) -> list[Task]:
    receivers, size = _fig5_sizes(full)
    return [(paper_transfer, (n, size, {})) for n in receivers]


def _fig5_bound(n: int) -> tuple[str, float | None]:
    if n == 100:
        return "> 10 Mbit/s", 10 * MBIT
    if n >= 800:
        return "> 1 Mbit/s", 1 * MBIT
    return "-", None


def _fig5_assemble(full: bool, outputs: list[Any]) -> Outcome:
    rows: list[Row] = []
    for run in outputs:
        n = run["receivers"]
        bound, value = _fig5_bound(n)
        ours = f"{_mbit(run['steady_goodput_bps'])} (ACK bound {_mbit(ack_bound_bps(n))})"
        paper = f"{bound} (N unicasts: {100 / n:.3g} Mbit/s)"
        if value is None:
            rows.append(info_row(f"N = {n}", paper, ours))
        else:
            rows.append(bound_row(f"N = {n}", paper, ours, run["steady_goodput_bps"] > value and run["identical"]))
    shape = [r["steady_goodput_bps"] * r["receivers"] for r in outputs]
    rows.append(
        bound_row(
            "shape: throughput × N",
            "falls as 1/N once ACK-bound",
            f"{min(shape) / MBIT:.0f}-{max(shape) / MBIT:.0f} Mbit/s × receivers",
            max(shape) / min(shape) < 1.25,
        )
    )
    receivers, size = _fig5_sizes(full)
    notes = [
        "The ACK bound is the calibrated receive path (62,500 packets/s) × 2 segments per ACK × 1448 bytes / N: "
        "the source processes every ACK, and the window advances only as fast as all of them are processed. "
        "The paper's figure gives bounds in its text (over 10 Mbit/s at 100 receivers, over 1 Mbit/s at 800-1000) "
        "and the N-unicast line 100/N Mbit/s; its plotted TCP-SMO values did not survive extraction.",
    ]
    return Outcome(
        "smo-fig5",
        "Figure 5: throughput against receivers on a 100 Mbit/s LAN",
        SOURCE + " §V.B, Figure 5",
        "simulation",
        f"{size // 1024} KiB to N = {', '.join(map(str, receivers))}",
        rows,
        notes,
        {"runs": outputs},
    )


def _fig5_plot(outcome: Outcome, directory: Path) -> list[Path]:
    runs = outcome.data["runs"]
    xs = [r["receivers"] for r in runs]
    fig, (ax,) = plotting.figure()
    ax.plot(xs, [r["steady_goodput_bps"] / MBIT for r in runs], "o-", label="TCP-SMO (simulated)")
    ax.plot(xs, [ack_bound_bps(n) / MBIT for n in xs], ":", label="ACK bound, 62,500 ACKs/s")
    ax.plot(xs, [100 / n for n in xs], "s--", label="multiple unicasts, 100/N")
    ax.plot([100], [10], "v", color="black", label="paper: > 10 at 100, > 1 at 800-1000")
    ax.plot([800, 1000], [1, 1], "v", color="black")
    ax.set_xlim(0, 1050)
    plotting.finish(ax, "number of receivers", "throughput (Mbit/s)", "TCP-SMO vs multiple unicasts, 100 Mbit/s LAN")
    return [plotting.save(fig, directory, outcome.name)]


SMO_FIG5 = Result(
    "smo-fig5",
    "Figure 5: throughput against 100..1000 receivers on a 100 Mbit/s LAN, and N unicasts",
    SOURCE + " §V.B",
    "simulation",
    _fig5_tasks,
    _fig5_assemble,
    _fig5_plot,
    "4 MiB to N = 100, 200, ..., 1000",
)


def _ackfreq_tasks(full: bool) -> list[Task]:
    receivers, size = _fig5_sizes(full)
    # the runs at one ACK per 2 segments are Figure 5's own (the runner runs them once)
    return [(paper_transfer, (n, size, {} if k == 2 else {"ack_every": k})) for n in receivers for k in (2, 4)]


def _ackfreq_assemble(full: bool, outputs: list[Any]) -> Outcome:
    rows = []
    pairs = list(zip(outputs[0::2], outputs[1::2], strict=True))
    for two, four in pairs:
        ratio = four["steady_goodput_bps"] / two["steady_goodput_bps"]
        rows.append(
            Row(
                f"N = {two['receivers']}",
                "x2 (basically doubled)",
                f"{_mbit(two['steady_goodput_bps'])} → {_mbit(four['steady_goodput_bps'])}, egress "
                f"{two['egress_ratio']:.2f} → {four['egress_ratio']:.2f} × the file",
                f"x{ratio:.2f}" + ("" if 1.7 <= ratio <= 2.3 else " FAIL"),
                1.7 <= ratio <= 2.3,
                ratio,
            )
        )
    receivers, size = _fig5_sizes(full)
    notes = [
        "One ACK per four segments halves the ACKs each receiver sends; the source is ACK-bound, so the rate "
        "doubles (pass: x1.7 to x2.3).",
        "Why an earlier setting halved it instead (x0.47 at 1000 receivers, egress 10.6 times the file): that "
        "source dropped ACKs beyond a queue of 1000 (18 µs each, the window growing to 4 MiB). A receiver whose "
        "ACKs were dropped for two round trips got a tail-loss probe; each probe is a unicast repair, and each "
        "repair draws an immediate ACK, so the overload fed itself. The outcome is chaotic, not a property of "
        "the ACK frequency: in that setting, changing the segment size from 1400 to 1448 bytes turned x0.47 into "
        "x3.1. The paper's TCP had no tail-loss probe; holding the ACKs, as the calibrated model does, removes the "
        "artefact (see the calibration).",
    ]
    return Outcome(
        "smo-ackfreq",
        "One ACK per 4 segments instead of 2",
        SOURCE + " §V.B",
        "simulation",
        f"{size // 1024} KiB to N = {', '.join(map(str, receivers))}, ACK every 2 and every 4 segments",
        rows,
        notes,
        {"runs": outputs},
    )


def _ackfreq_plot(outcome: Outcome, directory: Path) -> list[Path]:
    runs = outcome.data["runs"]
    two, four = runs[0::2], runs[1::2]
    xs = [r["receivers"] for r in two]
    fig, (ax,) = plotting.figure()
    ax.plot(xs, [r["steady_goodput_bps"] / MBIT for r in two], "o-", label="one ACK per 2 segments")
    ax.plot(xs, [r["steady_goodput_bps"] / MBIT for r in four], "s-", label="one ACK per 4 segments")
    ax.plot(xs, [2 * r["steady_goodput_bps"] / MBIT for r in two], ":", label="twice the first (the paper)")
    ax.set_yscale("log")
    plotting.finish(ax, "number of receivers", "throughput (Mbit/s)", "ACK frequency")
    return [plotting.save(fig, directory, outcome.name)]


SMO_ACKFREQ = Result(
    "smo-ackfreq",
    "one ACK per 4 segments instead of 2 roughly doubles throughput at every size",
    SOURCE + " §V.B",
    "simulation",
    _ackfreq_tasks,
    _ackfreq_assemble,
    _ackfreq_plot,
    "4 MiB to N = 100, 200, ..., 1000, twice",
)

# --- smo-lossy -------------------------------------------------------------------------------------

LOSSY_RATES = (0.01, 0.05)


def _lossy_tasks(full: bool) -> list[Task]:
    size = 4 << 20 if full else 256 * 1024
    return [(paper_transfer, (1000, size, {"path": replace(LAN, loss=p, lossy_receivers=400)})) for p in LOSSY_RATES]


def _lossy_assemble(full: bool, outputs: list[Any]) -> Outcome:
    rows = []
    for p, run in zip(LOSSY_RATES, outputs, strict=True):
        seg = run["segments"]
        losses = 400 * p * seg["original"]  # segments lost, expected, over the 400 lossy receivers
        rows.append(
            bound_row(
                f"400 of 1000 lose {p:.0%}",
                "> 1 Mbit/s",
                f"{_mbit(run['steady_goodput_bps'])}; {run['completed']} identical; repairs "
                f"{seg['repair_unicast']:,} unicast, {seg['repair_multicast']:,} multicast for about "
                f"{losses:,.0f} lost segments",
                run["steady_goodput_bps"] > MBIT and run["completed"] == 1000 and run["identical"],
            )
        )
    notes = [
        "The paper's loss rate did not survive extraction (one digit and a percent sign); both 1% and 5% are run. "
        "With 400 lossy receivers at 1%, a segment is missed by about 4 of them, below the multicast-repair "
        "threshold (5% of 1000 = 50), so repairs go by unicast, each to the receiver that missed the segment, "
        "as the paper's fast retransmits did.",
        "Why both runs send several repairs per lost segment: the source is ACK-bound, so "
        "by Little's law its round trip is the window over the rate, about 0.36 s at 1000 receivers, almost all "
        "of it in the receive path's queue. That queue empties whenever a hole holds the window ('wait for the "
        "slowest') and refills when the repair lets it go, so round trips swing between milliseconds and 0.4 s; "
        "retransmission timeouts and tail-loss probes fire on receivers whose ACKs are merely queued, and repair "
        "data they already have. The paper's server dropped ACKs instead of queueing them, so its round trips "
        "stayed short; our model of it holds ACKs (see the calibration), which is faithful to its throughput but "
        "not to its round trip under loss. An ACK that covers a repair still updates the round-trip estimate, "
        "since its echoed timestamp names the repair it answers (RFC 6298 section 3 allows it with timestamps); "
        "under Karn's rule, which the source applied before, the estimate kept its value from before the losses "
        "through every recovery, each repair was sent again before its ACK could come back, and the 5% run fell "
        "short of 1 Mbit/s.",
    ]
    size = 4 << 20 if full else 256 * 1024
    return Outcome(
        "smo-lossy",
        "1000 receivers, 400 of them with independent loss",
        SOURCE + " §V.B",
        "simulation",
        f"{size // 1024} KiB, independent loss on the data path of 400 receivers spread evenly",
        rows,
        notes,
        {"runs": outputs},
    )


SMO_LOSSY = Result(
    "smo-lossy",
    "1000 receivers, 400 of them with independent loss: still over 1 Mbit/s",
    SOURCE + " §V.B",
    "simulation",
    _lossy_tasks,
    _lossy_assemble,
    None,
    "4 MiB",
)
