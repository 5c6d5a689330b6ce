"""The human-readable summary of ``smocast bench peers`` (without ``--json``): rich tables.

Only numbers and the benchmark's own words reach the terminal; nothing a tool printed does.
"""

from __future__ import annotations

from typing import Any

from rich.table import Table


def medians_table(report: dict[str, Any]) -> Table:
    """One row per group size and peer: medians, and smocast's paired ratio against the peer."""
    loss = f", {report['loss']:.1%} loss" if report["loss"] else ""
    loss += f", {report['reorder']:.1%} by a slower lane" if report.get("reorder") else ""
    table = Table(title=f"link {report['rate']}{loss}, MTU {report['mtu']}: medians of {report['repeat']} runs")
    for heading in (
        "N",
        "peer",
        "identical",
        "completion",
        "goodput/receiver",
        "egress/file",
        "source CPU (during)",
        "receivers' CPU (during)",
        "per MB",
        "smocast/peer time",
        "smocast/peer rx CPU",
    ):
        table.add_column(heading, justify="right")
    for row in report["results"]:
        for peer, middle in row["medians"].items():
            ratio = row["ratios"].get(peer, {})
            table.add_row(
                str(row["receivers"]),
                peer,
                f"{middle['runs_all_identical']}/{middle['runs']} runs",
                _num(middle["completion_s"], " s"),
                _num(middle["goodput_median_bps"], " Mbit/s", 1e-6, 1),
                _num(egress_ratio(middle), "", 1, 3),
                _num(middle["sender_cpu_during_s"], " s"),
                _num(middle["receivers_cpu_during_s"], " s"),
                _num(middle["receivers_cpu_during_per_mb_s"], " ms", 1e3, 1),
                _ratio(ratio, "completion_s"),
                _ratio(ratio, "receivers_cpu_during_per_mb_s"),
            )
    return table


def goals_lines(report: dict[str, Any]) -> list[str]:
    """One line per goal of the issue that this run measured: the value, the target, met or not."""
    lines = []
    for where, entry in report["goals"].items():
        if where == "startup_cpu_s":
            lines.append(
                f"start-up CPU of smocast recv: {entry['value']:.3f} s (goal <= {entry['at_most']} s){_met(entry)}"
            )
            continue
        for name, goal in entry.items():
            value = "n/a" if goal["ratio"] is None else f"{goal['ratio']:.2f}"
            lines.append(f"{where} {name.replace('_', ' ')}: {value} (goal <= {goal['at_most']}){_met(goal)}")
    return lines


def _met(goal: dict[str, Any]) -> str:
    return {True: ": met", False: ": not met", None: ""}[goal["met"]]


def _num(value: float | None, unit: str, scale: float = 1.0, digits: int = 2) -> str:
    return "-" if value is None else f"{value * scale:.{digits}f}{unit}"


def _ratio(ratio: dict[str, Any], metric: str) -> str:
    value = ratio.get(metric, {}).get("paired_median")
    return "" if value is None else f"{value:.2f}"


# --- the tables of docs/benchmarks.md, rendered from stored reports -------------------------------


def link_name(report: dict[str, Any]) -> str:
    """``100mbit``, ``unlimited``, ``100mbit, 2% loss``: the link a report was measured on."""
    loss = f", {report['loss']:.0%} loss" if report["loss"] else ""
    loss += f", {report['reorder']:.0%} reordered" if report.get("reorder") else ""  # older reports have none
    return f"{report['rate']}{loss}"


def markdown_medians(report: dict[str, Any]) -> str:
    """The medians of one report as a Markdown table: one row per group size and peer."""
    lines = [
        "| N | peer | runs with all copies identical | completion | goodput per receiver | egress / file "
        "| source CPU during (in all) | receivers' CPU during (in all) | receivers' CPU per MB | other load |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in report["results"]:
        for peer, m in row["medians"].items():
            cells = [
                str(row["receivers"]),
                peer,
                f"{m['runs_all_identical']} of {m['runs']}",
                _num(m["completion_s"], " s"),
                _num(m["goodput_median_bps"], " Mbit/s", 1e-6, 1),
                _num(egress_ratio(m), "", 1, 3),
                f"{_num(m['sender_cpu_during_s'], ' s')} ({_num(m['sender_cpu_total_s'], ' s')})",
                f"{_num(m['receivers_cpu_during_s'], ' s')} ({_num(m['receivers_cpu_total_s'], ' s')})",
                _num(m["receivers_cpu_during_per_mb_s"], " ms", 1e3, 1),
                _num(m["other_cores_during"], " cores", 1, 2),
            ]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def markdown_ratios(report: dict[str, Any]) -> str:
    """smocast against each peer, per group size: the median of the per-round ratios."""
    columns = [
        (metric, peer)
        for metric in ("completion_s", "receivers_cpu_during_per_mb_s", "sender_cpu_during_s")
        for peer in ("udpcast", "uftp", "tcp", "smocast-baseline")
        if peer in report["peers"]
    ]
    titles = {
        "completion_s": "completion",
        "receivers_cpu_during_per_mb_s": "receivers' CPU per MB",
        "sender_cpu_during_s": "source CPU during",
    }
    lines = [
        "| N | " + " | ".join(f"{titles[metric]}: smocast / {peer}" for metric, peer in columns) + " |",
        "|---:|" + "---:|" * len(columns),
    ]
    for row in report["results"]:
        cells = [str(row["receivers"])]
        for metric, peer in columns:
            cells.append(_num(row["ratios"].get(peer, {}).get(metric, {}).get("paired_median"), "", 1, 2))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def markdown_discovery(report: dict[str, Any]) -> str:
    """What smocast's path MTU discovery found in each run: the largest segment it sent, each
    receiver's confirmed MTU, and whether both match the link's MTU (empty for a report without them)."""
    rows = [
        (row["receivers"], run)
        for row in report["results"]
        for run in row.get("runs", {}).get("smocast", [])
        if "smocast_receiver_mtus" in run
    ]
    if not rows:
        return ""
    lines = [
        "| N | round | largest segment | receivers' confirmed MTU | matches the link's MTU |",
        "|---:|---:|---:|---|---|",
    ]
    for receivers, run in rows:
        mtus = ", ".join(str(m) for m in sorted(set(run["smocast_receiver_mtus"]))) or "-"
        matched = "yes" if run["smocast_pmtu_matched"] else "no"
        lines.append(f"| {receivers} | {run['round']} | {run['smocast_segment']} B | {mtus} | {matched} |")
    return "\n".join(lines)


def markdown(report: dict[str, Any]) -> str:
    """The tables of one report, as docs/benchmarks.md shows them (with what path MTU discovery
    found, when the report says it)."""
    discovery = markdown_discovery(report)
    tables = f"{markdown_medians(report)}\n\n{markdown_ratios(report)}\n"
    return f"{tables}\n{discovery}\n" if discovery else tables


def egress_ratio(middle: dict[str, Any]) -> float | None:
    """The egress over the file: as the shaper counted it where the link was shaped (each datagram
    of a GSO batch with its headers), else as the interface did."""
    wire: float | None = middle.get("wire_egress_ratio")
    interface: float | None = middle["egress_ratio"]
    return wire if wire is not None else interface
