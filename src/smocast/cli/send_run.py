"""``smocast send``: send files, directories or standard input to every receiver of a TCP-SMO channel.

The parser is in :mod:`smocast.cli.send_cmd`; :func:`run` is its handler. The set to send is
:func:`smocast.apps.setsource.scan`'s; the channel is announced
(:class:`~smocast.apps.announcer.Announcer`) while it lives, and serves resumes from the
files (:class:`~smocast.apps.setsource.SetHistory`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import secrets
import socket
from collections.abc import Iterator
from typing import Any

from rich.table import Table

from smocast.aio import AsyncChannel, NetworkError, open_channel
from smocast.aio.channel import ChannelSummary
from smocast.aio.netaddr import family_of, format_address
from smocast.apps.announce import Announcement, default_group
from smocast.apps.announcer import Announcer
from smocast.apps.manifest import ManifestError
from smocast.apps.setsource import Sent, SetHistory, SourceError, SourceSet, scan_async, send_set
from smocast.cli.common import console, err_console, fail, print_json
from smocast.cli.monitor import ChannelMonitor, LiveTable, StatsFile
from smocast.cli.receivers_view import receiver_rows, receivers_table, table_note
from smocast.cli.security_args import segment_size, source_notes, source_options, source_security_json
from smocast.cli.transfer_ui import TransferProgress, failure
from smocast.cli.units import Units
from smocast.core.congestion import controller_factory
from smocast.logs import log_events, stop_logging
from smocast.smo.policies import CwndPolicy, RttPolicy, WindowPolicy
from smocast.text import plain

SUMMARY_ROWS = 50
"""Receivers the final table lists (the least acked first); more would flood a terminal at scale."""


def run(args: argparse.Namespace) -> int:
    policy = WindowPolicy.parse(args.policy)
    CwndPolicy.parse(args.cwnd_policy)
    RttPolicy.parse(args.rtt_policy)
    controller_factory(args.congestion)
    if "-" in args.files and len(args.files) > 1:
        fail("'-' (standard input) must be the only thing sent", 2)
    stats = StatsFile(args.stats_file) if args.stats_file is not None else None
    if args.pmtu == "off" and args.max_mtu is not None:
        fail("--max-mtu caps path MTU discovery: it cannot go with --no-pmtu", 2)
    source, summary, sent, protection, pmtu = asyncio.run(_send(args, stats))
    code, verdict = outcome(summary, policy)
    report = {**report_json(source, summary, sent), "outcome": verdict, "security": protection, "pmtu": pmtu}
    if args.json:
        print_json(report)
    else:
        _summary(source, summary, report, protection["mss"], verdict)
    return code


def outcome(summary: ChannelSummary, policy: WindowPolicy) -> tuple[int, str]:
    """The exit status of a send and why: 0 when every receiver completed, or when some were
    dropped (or left) but the user asked for a quorum (``quorum:<f>``) and it was met."""
    joined, completed = summary.receivers, summary.completed
    lost = [
        f"{n} receiver{'' if n == 1 else 's'} {what}"
        for n, what in ((summary.dropped, "dropped"), (summary.left, "left"))
        if n
    ]
    if not completed:
        return 1, ", ".join(["no receiver completed", *lost])
    if not lost:
        return 0, f"all {completed} receiver{'' if completed == 1 else 's'} completed"
    if policy.kind != "quorum":
        return 1, ", ".join(lost)
    needed = policy.acks_needed(joined)
    met = completed >= needed
    return (0 if met else 1), f"quorum {needed} of {joined} {'met' if met else 'not met'}: " + ", ".join(
        [f"{completed} completed", *lost]
    )


async def _send(
    args: argparse.Namespace, stats: StatsFile | None
) -> tuple[SourceSet, ChannelSummary, Sent, dict[str, Any], dict[str, Any]]:
    try:
        secure, security = source_options(args)
        source = await scan_async(args.files, args.name)
        _say_skipped(args, source)
        history = None if source.is_stream else SetHistory(source)
        with history or contextlib.nullcontext():
            opening = open_channel(
                args.group,
                args.bind,
                interface=args.interface,
                ttl=args.ttl,
                min_receivers=args.min_receivers,
                policy=args.policy,
                cwnd_policy=args.cwnd_policy,
                rtt_policy=args.rtt_policy,
                congestion_control=args.congestion,
                progress_timeout=args.progress_timeout,
                min_rate_fraction=args.min_rate_fraction,
                mss=segment_size(args.mss, secure),
                pmtu=args.pmtu == "on",
                max_mtu=args.max_mtu,
                max_rate=args.rate,
                history=history,
                secure=secure,
                security=security,
            )
            async with opening as channel:
                sent = await _serve(channel, args, source, stats)
    except (NetworkError, SourceError, ManifestError) as exc:
        raise failure(exc) from None
    return source, channel.summary(), sent, source_security_json(channel), channel.path_mtu()


def _say_skipped(args: argparse.Namespace, source: SourceSet) -> None:
    if source.skipped and not args.json:
        shown = ", ".join(plain(s) for s in source.skipped[:5])
        more = f" and {len(source.skipped) - 5} more" if len(source.skipped) > 5 else ""
        err_console.print(f"[yellow]not sent[/] (links and special files are never sent): {shown}{more}")


def announcement_of(channel: AsyncChannel, args: argparse.Namespace, source: SourceSet) -> Announcement:
    """What the announcer says about ``channel``: where it is, and the manifest's summary.

    A source with an allow-list (``--allow``) says only where it is and the manifest's digest:
    announcements travel in the clear, and a receiver not on the list learns nothing of the
    set, not even its name."""
    fileset = source.fileset
    private = getattr(args, "allow", None) is not None and channel.secure
    return Announcement(
        secrets.token_bytes(8),
        channel.address,
        args.group,
        None,
        fileset.digest,
        "" if private else fileset.name,
        0 if private else fileset.total_bytes,
        0 if private else fileset.files,
        0 if private else fileset.directories,
        "" if private else args.description,
        history=not source.is_stream,
        stream=source.is_stream,
    )


def _announcer(channel: AsyncChannel, args: argparse.Namespace, source: SourceSet) -> Announcer | None:
    if args.no_announce:
        return None
    group = args.announce_group or default_group(6 if family_of(args.group[0]) == socket.AF_INET6 else 4)
    identity = channel.identity
    sign = None
    if identity is not None:
        from smocast.apps.announce_auth import sign_announcement  # noqa: PLC0415  (the secure mode only)

        sign = functools.partial(sign_announcement, identity)
    return Announcer(
        announcement_of(channel, args, source),
        group,
        interface=args.interface,
        ttl=args.ttl,
        interval=args.announce_interval,
        sending_interval=3 * args.announce_interval,
        sign=sign,
    )


async def _serve(channel: AsyncChannel, args: argparse.Namespace, source: SourceSet, stats: StatsFile | None) -> Sent:
    """Announce, wait for the receivers, send the set, close, and wait until every receiver is done."""
    if not args.json:
        here, group = plain(format_address(channel.address)), plain(format_address(args.group))
        err_console.print(f"source listening on {here}, multicasting to {group}")
        for note in source_notes(channel):
            err_console.print(note)
    fileset = source.fileset
    about = {"file": fileset.name, "bytes": fileset.total_bytes, "group": format_address(args.group)}
    total = len(source.manifest) + fileset.total_bytes
    announcer = _announcer(channel, args, source)
    with _display(args, total, fileset.total_bytes, channel.config.mss) as (progress, table):
        monitor = ChannelMonitor(
            channel, wanted=args.min_receivers, about=about, progress=progress, table=table, stats=stats
        )
        tasks: list[asyncio.Task[Any]] = [asyncio.create_task(monitor.run())]
        if announcer is not None:
            tasks.append(asyncio.create_task(announcer.run(channel)))
        logging = asyncio.create_task(log_events(channel.events()))
        # The set is queued while the receivers join (the channel holds it until they have), so
        # the first ACKs find data waiting, not a source busy reading the first megabytes.
        sending = asyncio.create_task(send_set(channel, source))
        tasks.append(sending)
        try:
            await _wait_started(channel, args.wait)
            sent = await sending
            channel.close()
            await channel.wait_closed()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await stop_logging(logging, finished=channel.finished)
            monitor.write_stats()
    return sent


def report_json(source: SourceSet, s: ChannelSummary, sent: Sent) -> dict[str, Any]:
    """The JSON report: the set sent, and how the channel ended."""
    fileset = source.fileset
    single = fileset.entries[0] if len(fileset.entries) == 1 else None
    size = sent.bytes
    digest = fileset.digest.hex()  # of the manifest, for a set of several entries
    if single is not None:
        digest = sent.stream_sha256.hex() if sent.stream_sha256 is not None else single.hexdigest
    return {
        "file": fileset.name,
        "sha256": digest,
        "digest": fileset.digest.hex(),
        "files": fileset.files,
        "directories": fileset.directories,
        "receivers": s.receivers,
        "completed": s.completed,
        "dropped": s.dropped,
        "left": s.left,
        "refused": s.refused,
        "bytes": size,
        "manifest_bytes": len(source.manifest),
        "wall_time_s": round(s.wall_time_s, 6) if s.wall_time_s is not None else None,
        "goodput_bps": round(size * 8 / s.wall_time_s, 1) if s.wall_time_s else 0.0,
        "segments": {
            "original": s.stats.original_segments,
            "repair_unicast": s.stats.repair_unicast,
            "repair_multicast": s.stats.repair_multicast,
        },
        "acks_processed": s.stats.acks_processed,
        "catch_up": s.stats.catch_up(),
        "congestion": {  # over all receivers: how many of their loss episodes cut a window, whose paths reorder
            "loss_episodes": sum(r.loss_episodes for r in s.records),
            "window_cuts": sum(r.window_cuts for r in s.records),
            "receivers_reordering": sum(r.reordering for r in s.records),
        },
        "skipped": list(source.skipped),
        "per_receiver": [r.as_json() for r in s.records],
    }


@contextlib.contextmanager
def _display(
    args: argparse.Namespace, total: int, size: int, mss: int
) -> Iterator[tuple[TransferProgress | None, LiveTable | None]]:
    """The progress bar, or with ``--watch`` the live table; neither with ``--json``."""
    if args.json:
        yield None, None
    elif args.watch:
        with LiveTable(sort=args.watch_sort, top=args.watch_top, units=Units.fitting(size), mss=mss) as table:
            yield None, table
    else:
        with TransferProgress("waiting for receivers", total, enabled=True) as progress:
            yield progress, None


async def _wait_started(channel: AsyncChannel, wait: float | None) -> None:
    try:
        async with asyncio.timeout(wait):
            await channel.wait_started()
    except TimeoutError:
        joined = len(channel.receivers())
        fail(f"only {joined} of {channel.config.min_receivers} receivers joined within {wait:g} s", kind="timeout")


def catch_up_line(catch_up: dict[str, int], units: Units) -> str:
    """The summary's catch-up row: what went from the file to receivers that resumed, and the cap's holds."""
    line = f"{catch_up['pieces']} pieces ({units.bytes(catch_up['bytes'])}) from the file to receivers that resumed"
    return line + (f"; held {catch_up['holds']} times by --rate" if catch_up["holds"] else "")


def congestion_line(congestion: dict[str, int]) -> str:
    """The summary's congestion row, from the report's ``congestion``: loss episodes, the window
    cuts they made, and the receivers whose paths reorder (where only time declares a loss)."""
    line = f"{congestion['loss_episodes']} loss episodes, {congestion['window_cuts']} window cuts"
    reordering = congestion["receivers_reordering"]
    if reordering == 1:
        line += "; 1 receiver's path reorders: its losses are declared by time, not by duplicate ACKs"
    elif reordering:
        line += f"; {reordering} receivers' paths reorder: their losses are declared by time, not by duplicate ACKs"
    return line


def _summary(source: SourceSet, s: ChannelSummary, r: dict[str, Any], mss: int, verdict: str) -> None:
    fileset = source.fileset
    units = Units.fitting(r["bytes"])
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row(
        "receivers",
        f"{s.completed} of {s.receivers} completed, {s.dropped} dropped, {s.left} left"
        + (f", {s.refused} refused" if s.refused else ""),
    )
    table.add_row("outcome", verdict)
    if len(fileset.entries) == 1:
        table.add_row("file", f"{plain(fileset.name)}, {units.bytes(r['bytes'])}, SHA-256 {r['sha256'][:16]}...")
    else:
        table.add_row(
            "files",
            f"{plain(fileset.name)}: {fileset.files} files, {fileset.directories} directories, "
            f"{units.bytes(r['bytes'])}, manifest {r['manifest_bytes']} bytes, digest {r['digest'][:16]}...",
        )
    if s.wall_time_s is not None:
        table.add_row("time", f"{s.wall_time_s:.3f} s, from the start (every receiver joined) to the last completion")
        table.add_row("goodput", units.rate_of(r["goodput_bps"]))
    seg = r["segments"]
    table.add_row(
        "segments",
        f"{seg['original']} original, {seg['repair_unicast']} unicast repairs, "
        f"{seg['repair_multicast']} multicast repairs",
    )
    table.add_row("congestion", congestion_line(r["congestion"]))
    if r["catch_up"]["pieces"]:
        table.add_row("catch-up", catch_up_line(r["catch_up"], units))
    pmtu = r["pmtu"]
    if pmtu["enabled"]:
        table.add_row(
            "segment size",
            f"{pmtu['largest_segment']} bytes at most (path MTU discovery; {pmtu['base_segment']} to start), "
            f"{pmtu['probes_sent']} probes",
        )
    console.print(table)
    if s.records:
        end = max((rec.ended_at or 0.0 for rec in s.records), default=0.0)
        rows = receiver_rows(s.records, [], end)
        title = "receivers" if len(rows) <= SUMMARY_ROWS else f"receivers: the {SUMMARY_ROWS} least acked"
        console.print(receivers_table(rows, sort="acked", top=SUMMARY_ROWS, units=units, mss=mss, title=title))
        console.print(table_note(rows, sort="acked", top=SUMMARY_ROWS, mss=mss))
