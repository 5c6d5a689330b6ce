"""What ``smocast bench peers`` reports: one record per run, medians per peer, ratios, goals.

A run's transfer window runs from its start to the completion of its last receiver. The start
is the tool's own where it states one in absolute time (udpcast's "Starting transfer", uftp's
first FILEINFO, the TCP server's first send); smocast states only durations, so its start is
read from the wire: the first sampling period in which host 0 sent a burst of data. Each
record keeps both, where both exist, as a check on the other (``wire_lag_s``).

CPU "during" is each process's CPU inside that window; "total" is all it used, start-up
included. Receivers' CPU is summed over the N receivers; "per MB" divides it by the megabytes
delivered (N x file size / 10^6).
"""

from __future__ import annotations

import statistics
from typing import Any

from smocast.bench.peers_procs import Finished, Sampler
from smocast.bench.peers_tools import Measured

#: The figures compared across peers: medians per peer, and smocast's ratio against each peer.
METRICS = (
    "completion_s",
    "goodput_median_bps",
    "goodput_min_bps",
    "egress_ratio",
    "wire_egress_ratio",
    "sender_cpu_total_s",
    "sender_cpu_during_s",
    "receivers_cpu_total_s",
    "receivers_cpu_during_s",
    "receivers_cpu_during_per_mb_s",
)

GOAL_COMPLETION_VS_UDPCAST = 1.0  # no slower than udpcast on a clean link
GOAL_COMPLETION_VS_BEST_UNDER_LOSS = 1.5  # at 2% loss, N = 16 and 32
GOAL_LOSS_AT_RECEIVERS = 16
GOAL_RECEIVERS_CPU_VS_UDPCAST = 1.5  # per delivered megabyte
GOAL_STARTUP_CPU_S = 0.15


def run_record(
    peer: str, round_: int, measured: Measured, sampler: Sampler, egress: int, size: int, wire_bytes: int | None = None
) -> dict[str, Any]:
    """The record of one peer's run: copies, times, goodput, egress and CPU.

    ``egress``: the bytes host 0's interface counted; ``wire_bytes``: those its shaper sent, each
    segment of a GSO batch with its own headers (None: no shaper)."""
    transfer = measured.transfer
    n = transfer.receivers
    identical = transfer.verified == n and len(transfer.times_s) == n
    times = transfer.times_s
    completion = max(times) if identical else None
    wire = sampler.data_started_at()
    start = measured.start_at if measured.start_at is not None else wire
    record: dict[str, Any] = {
        "peer": peer,
        "round": round_,
        "copies_identical": transfer.verified,
        "all_identical": identical,
        "completion_s": completion,
        "goodput_median_bps": _rounded(statistics.median(size * 8 / t for t in times)) if identical else None,
        "goodput_min_bps": _rounded(size * 8 / completion) if completion else None,
        "egress_bytes": egress,
        "egress_ratio": round(egress / size, 4),
        # The interface counts a GSO batch once, with one set of headers; the shaper, like the
        # wire, counts each of its segments whole: the egress to compare across tools.
        "wire_egress_bytes": wire_bytes,
        "wire_egress_ratio": round(wire_bytes / size, 4) if wire_bytes is not None else None,
        "start_from": "wire" if measured.start_at is None else "tool",
        "wire_lag_s": round(measured.start_at - wire, 4) if measured.start_at is not None and wire else None,
        **_cpu(measured, sampler, start, completion, n * size / 1e6),
        "receiver_times_s": times,
        "commands": _commands(measured),
        **transfer.extra,
        "errors": transfer.errors[:5],
    }
    return record


def _cpu(
    measured: Measured, sampler: Sampler, start: float | None, completion: float | None, megabytes: float
) -> dict[str, Any]:
    sender, receivers = measured.sender, measured.receivers
    window = (start, start + completion) if start is not None and completion is not None else None

    def during(done: Finished) -> float | None:
        return sampler.cpu_between(done.pid, *window, done.cpu_s) if window else None

    parts = [during(r) for r in receivers]
    summed = round(sum(p for p in parts if p is not None), 4) if parts and None not in parts else None
    mine = during(sender) if sender else None
    machine = sampler.machine_cpu_between(*window) if window else None
    others = machine - mine - summed if machine is not None and mine is not None and summed is not None else None
    return {
        "sender_cpu_total_s": sender.cpu_s if sender else None,
        "sender_cpu_during_s": mine,
        "receivers_cpu_total_s": round(sum(r.cpu_s for r in receivers), 4),
        "receivers_cpu_during_s": summed,
        "receivers_cpu_during_per_mb_s": round(summed / megabytes, 6) if summed is not None else None,
        "receiver_cpu_total_median_s": statistics.median(r.cpu_s for r in receivers) if receivers else None,
        # Everything else the machine ran meanwhile (other users, this benchmark's own sampling):
        # in cores, so 0.5 means half a core was not available to the run.
        "other_cores_during": round(max(0.0, others) / completion, 2) if others is not None and completion else None,
    }


def _commands(measured: Measured) -> dict[str, str]:
    """The command lines the source and the first receiver ran (without the namespace wrapper)."""
    out = {}
    if measured.sender:
        out["source"] = " ".join(measured.sender.argv)
    if measured.receivers:
        out["receiver"] = " ".join(measured.receivers[0].argv)
    return out


def _rounded(value: float) -> int:
    return round(value)


def medians(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per metric, the median over the runs in which every copy was identical."""
    good = [run for run in runs if run["all_identical"]]
    out: dict[str, Any] = {"runs": len(runs), "runs_all_identical": len(good)}
    for metric in (*METRICS, "other_cores_during"):
        values = [run[metric] for run in good if run[metric] is not None]
        out[metric] = round(statistics.median(values), 6) if values else None
    return out


def ratios(by_peer: dict[str, list[dict[str, Any]]], middle: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """smocast against each other peer, per metric: the ratio of medians, and the median ratio of the
    runs paired round by round (interleaved, so each pair shared the machine's conditions)."""
    if "smocast" not in by_peer:
        return {}
    mine = {run["round"]: run for run in by_peer["smocast"] if run["all_identical"]}
    out: dict[str, Any] = {}
    for peer, runs in by_peer.items():
        if peer == "smocast":
            continue
        theirs = {run["round"]: run for run in runs if run["all_identical"]}
        out[peer] = {
            metric: {
                "of_medians": _ratio(middle["smocast"][metric], middle[peer][metric]),
                "paired_median": _paired(mine, theirs, metric),
            }
            for metric in METRICS
        }
    return out


def _paired(mine: dict[int, dict[str, Any]], theirs: dict[int, dict[str, Any]], metric: str) -> float | None:
    pairs = [_ratio(mine[r][metric], theirs[r][metric]) for r in sorted(mine.keys() & theirs.keys())]
    values = [p for p in pairs if p is not None]
    return round(statistics.median(values), 4) if values else None


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 4) if a is not None and b else None


def goals(rows: list[dict[str, Any]], loss: float, startup: dict[str, Any] | None) -> dict[str, Any]:
    """The issue's goals, as measured in this run, from the rounds' paired ratios (a goal whose peer
    was not run is left out)."""
    out: dict[str, Any] = {}
    for row in rows:
        if "smocast" not in row["medians"]:
            continue
        n, ratio = row["receivers"], row["ratios"]
        entry: dict[str, Any] = {}
        if loss == 0 and "udpcast" in ratio:
            entry["completion_vs_udpcast"] = _goal(ratio["udpcast"]["completion_s"], GOAL_COMPLETION_VS_UDPCAST)
        if loss > 0 and n >= GOAL_LOSS_AT_RECEIVERS and {"udpcast", "uftp"} & row["runs"].keys():
            best = {"paired_median": _paired_best(row["runs"], ("udpcast", "uftp"))}
            entry["completion_vs_best_peer"] = _goal(best, GOAL_COMPLETION_VS_BEST_UNDER_LOSS)
        if "udpcast" in ratio:
            entry["receivers_cpu_per_mb_vs_udpcast"] = _goal(
                ratio["udpcast"]["receivers_cpu_during_per_mb_s"], GOAL_RECEIVERS_CPU_VS_UDPCAST
            )
        if entry:
            out[f"N={n}"] = entry
    if startup is not None and startup["cases"]:
        value = startup["cases"][0]["this"]["cpu_ms_median"] / 1e3  # bench startup's smocast recv
        out["startup_cpu_s"] = {"value": value, "at_most": GOAL_STARTUP_CPU_S, "met": value <= GOAL_STARTUP_CPU_S}
    return out


def _goal(ratio: dict[str, Any], at_most: float) -> dict[str, Any]:
    value = ratio["paired_median"]
    return {"ratio": value, "at_most": at_most, "met": value <= at_most if value is not None else None}


def _paired_best(runs: dict[str, list[dict[str, Any]]], peers: tuple[str, ...]) -> float | None:
    """Per round, smocast's completion over the faster of ``peers`` that delivered every copy; the median."""
    ratios = []
    for mine in runs["smocast"]:
        theirs = [
            run["completion_s"]
            for peer in peers
            for run in runs.get(peer, [])
            if run["round"] == mine["round"] and run["all_identical"]
        ]
        if mine["all_identical"] and theirs:
            ratios.append(mine["completion_s"] / min(theirs))
    return round(statistics.median(ratios), 4) if ratios else None
