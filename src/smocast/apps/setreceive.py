"""Receiving a set of files from a server: waiting for it, resuming, failing over, keeping what can be resumed.

:func:`receive_set` ties the runtime to :class:`~smocast.apps.setsink.SetWriter`:

* **start order**: a receiver started before its source retries the connection (refused,
  or no answer) with backoff for ``wait`` seconds;
* **resume**: a partial transfer that an earlier run left in the output directory (its
  resume state names the same server) is taken up at its first missing byte, asking the
  server (``resume_from``) for a little before it to check it sends the same bytes;
* **fail-over**: when a server dies, the next one takes over at the same byte;
* **interruption** (network failure, Ctrl-C, cancellation): the partial file and its
  resume state stay; a bad manifest, a hash mismatch or a refused write remove them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from smocast.aio.api import connect
from smocast.aio.errors import ConnectFailedError, NetworkError, ResetError
from smocast.aio.netaddr import format_address
from smocast.aio.receiver import AsyncReceiver
from smocast.apps import resume
from smocast.apps.filetransfer import FileTransferError, Server
from smocast.apps.manifest import ManifestError
from smocast.apps.safepath import OutputDir, OutputError
from smocast.apps.setplan import SetReport, WritePolicy
from smocast.apps.setsink import Progress, SetWriter

CHUNK = 1 << 18
OVERLAP = 64 << 10  # bytes a resume asks for again, to compare with the partial file
RETRY_FIRST = 0.2  # seconds before the first retry of a connection; doubles up to RETRY_MAX
RETRY_MAX = 5.0
LATE_JOIN = "late joiners are refused"  # what a source's RST says to a receiver that came too late

Notice = Callable[[str, str], None]
"""Called with an event name and a one-line note for the user: ``connected``, ``authenticated``
(the key the source proved), ``trusted`` (remembered on first use), ``insecure``, ``waiting`` (for
a source not up yet), ``resuming`` (a partial transfer taken up), ``resumed`` (a fail-over to
the next server), ``kept`` (a partial kept for a later resume), ``removed`` (a partial that
cannot be resumed)."""


class SetResult(NamedTuple):
    """A received set: what was written, from which byte, how long it took."""

    report: SetReport
    out: Path
    resumed_from: int
    wall_time_s: float
    transfer_time_s: float
    repairs: int
    failovers: int
    retries: int
    security: dict[str, Any] | None = None  # the secure mode: the source's proven key, the layer's counts

    @property
    def goodput_bps(self) -> float:
        return self.report.bytes * 8 / self.transfer_time_s if self.transfer_time_s > 0 else 0.0

    def as_json(self) -> dict[str, Any]:
        fileset = self.report.fileset
        single = fileset.entries[0] if len(fileset.entries) == 1 else None
        top = fileset.entries[0].path.split("/")[0] if fileset.entries else ""
        digest = fileset.digest.hex()  # of the manifest, for a set of several entries
        if single is not None:
            digest = self.report.stream_sha256.hex() if self.report.stream_sha256 else single.hexdigest
        return {
            "file": str(self.out / (single.path if single is not None else top)),
            "sha256": digest,
            **self.report.as_json(),
            "verified": True,
            "resumed_from": self.resumed_from,
            "wall_time_s": round(self.wall_time_s, 6),
            "transfer_time_s": round(self.transfer_time_s, 6),
            "goodput_bps": round(self.goodput_bps, 1),
            "repairs": self.repairs,
            "failovers": self.failovers,
            "connect_retries": self.retries,
            "security": self.security,
        }


class _Run:
    """The counters of one receive."""

    __slots__ = ("began", "ended_at", "first_data_at", "repairs", "retries", "security")

    def __init__(self, began: float) -> None:
        self.began: float = began
        self.first_data_at: float | None = None
        self.ended_at: float | None = None  # the stream's end (before lingering to re-ACK a lost FIN)
        self.repairs: int = 0
        self.retries: int = 0
        self.security: dict[str, Any] | None = None

    def secured(self, rx: AsyncReceiver) -> None:
        """Add what ``rx``'s protection layer counted (summed over the servers of a fail-over)."""
        stats = rx.protection
        counts = dict(self.security["protection"]) if self.security and self.security["protection"] else {}
        for name, value in (stats.as_json() if stats is not None else {}).items():
            counts[name] = counts.get(name, 0) + value
        self.security = {"secure": rx.secure, "source_key": rx.source_fingerprint, "protection": counts or None}


async def receive_set(
    servers: Sequence[Server],
    out_dir: Path | str,
    *,
    policy: WritePolicy | None = None,
    wait: float = 0.0,
    resume_partial: bool = True,
    late_join: bool = False,
    progress: Progress | None = None,
    notice: Notice | None = None,
    **options: Any,
) -> SetResult:
    """Receive one set of files into ``out_dir`` from the first of ``servers`` that lasts.

    ``wait``: retry connecting for this many seconds (the source may not be up yet).
    ``resume_partial``: take up a partial receive of the same server left in ``out_dir``.
    ``late_join``: join a transfer already under way from byte 0 (the source serves the
    start again from its files). ``options`` go to :func:`~smocast.aio.connect`. Raises
    :class:`~smocast.apps.safepath.OutputError`, :class:`ManifestError`, or the runtime's
    errors; after an interruption the partial file and its resume state are kept.
    """
    out = Path(out_dir)
    if not out.is_dir():
        raise FileTransferError(f"the output directory {out} does not exist")
    if not servers:
        raise FileTransferError("no server to receive from")
    policy = policy or WritePolicy()
    loop = asyncio.get_running_loop()
    with OutputDir(out) as output:
        writer = SetWriter(output, policy, str(servers[0]), progress)
        if resume_partial:
            writer = _restore(writer, out, policy.expected, notice)
        else:
            _forget(writer, out, notice)
        run = _Run(loop.time())
        try:
            used = await _take_from_servers(servers, writer, run, wait, late_join, notice, options)
            report = writer.finish()
            run.ended_at = loop.time() if run.ended_at is None else run.ended_at
        except (NetworkError, asyncio.CancelledError, KeyboardInterrupt):
            if writer.suspend() and notice is not None:
                notice("kept", f"kept the partial transfer at byte {writer.offset} in {out}: run again to resume")
            raise
        except BaseException:
            writer.discard()
            raise
    now = run.ended_at if run.ended_at is not None else loop.time()
    first = run.first_data_at if run.first_data_at is not None else now
    return SetResult(
        report, out, writer.resumed_from, now - run.began, now - first, run.repairs, used, run.retries, run.security
    )


def _restore(writer: SetWriter, out: Path, digest: bytes | None, notice: Notice | None) -> SetWriter:
    """``writer`` taking up the resume state of its origin (or of ``digest``) left in ``out``, if any;
    a fresh writer when that state no longer fits (its partial file is removed)."""
    for state in resume.states(out):
        if (digest is not None and state.digest != digest) or (digest is None and state.origin != writer.origin):
            continue
        manifest = resume.load_manifest(out, state.ident)
        try:
            if manifest is None:
                raise OutputError("its manifest is missing")
            writer.restore(state, manifest)
        except (OutputError, ManifestError) as exc:
            if state.partial is not None:
                writer.out.remove_temp(state.partial.path, state.partial.temp)
            resume.remove(out, state.ident)
            if notice is not None:
                notice("removed", f"removed a partial transfer that cannot be resumed ({exc})")
            return writer.fresh()
        if notice is not None:
            notice("resuming", f"resuming a partial transfer at byte {writer.offset}")
        return writer
    return writer


def _forget(writer: SetWriter, out: Path, notice: Notice | None) -> None:
    """Remove the partial transfers of ``writer``'s origin left in ``out`` (``--no-resume``)."""
    for state in resume.states(out):
        if state.origin == writer.origin:
            if state.partial is not None:
                writer.out.remove_temp(state.partial.path, state.partial.temp)
            resume.remove(out, state.ident)
            if notice is not None:
                notice("removed", f"removed a partial transfer at byte {state.offset} (--no-resume)")


async def _take_from_servers(
    servers: Sequence[Server],
    writer: SetWriter,
    run: _Run,
    wait: float,
    late_join: bool,
    notice: Notice | None,
    options: dict[str, Any],
) -> int:
    """Read the stream to its end from the first server that lasts; return how many were given up."""
    failures: list[str] = []
    for index, server in enumerate(servers):
        try:
            await _take_from(server, writer, run, wait if index == 0 else 0.0, late_join, notice, options)
            return index
        except NetworkError as exc:
            failures.append(f"{server}: {exc}")
            if index + 1 == len(servers):
                if len(servers) == 1:
                    raise
                raise NetworkError("every server failed: " + "; ".join(failures)) from None
            if notice is not None:
                notice("resumed", f"{server} failed ({exc}); resuming at the next server")
    raise AssertionError("unreachable")


async def _take_from(
    server: Server,
    writer: SetWriter,
    run: _Run,
    wait: float,
    late_join: bool,
    notice: Notice | None,
    options: dict[str, Any],
) -> None:
    """Feed ``writer`` from ``server`` until the end of the stream."""
    resume_from = writer.offset - writer.partial_tail(OVERLAP) if writer.offset else (0 if late_join else None)
    rx = await _connect(server, resume_from, run, wait, notice, options)
    if notice is not None:
        notice("connected", f"connected to {format_address(rx.server)} from {format_address(rx.local_address)}")
        _say_security(rx, notice)
    async with rx:
        try:
            at = rx.start or 0
            if at > writer.offset:
                raise NetworkError(
                    f"{server} starts at byte {at}, past byte {writer.offset} (a file needs the whole stream)"
                )
            while chunk := await rx.read(CHUNK, at_least=min(CHUNK, writer.bytes_to_come() or 1)):
                if run.first_data_at is None:
                    run.first_data_at = asyncio.get_running_loop().time()
                writer.feed_at(at, chunk)
                at += len(chunk)
            run.ended_at = asyncio.get_running_loop().time()
        finally:
            run.repairs += rx.stats.repairs
            run.secured(rx)


def _say_security(rx: AsyncReceiver, notice: Notice) -> None:
    """Which key the source proved (and where a first use remembered it), or that nothing is protected."""
    if not rx.secure:
        notice("insecure", "insecure: nothing is authenticated or encrypted")
        return
    notice("authenticated", f"the source proved the key {rx.source_fingerprint}")
    if rx.remembered is not None:
        notice("trusted", f"trusted on first use: added to {rx.remembered}")


async def _connect(
    server: Server, resume_from: int | None, run: _Run, wait: float, notice: Notice | None, options: dict[str, Any]
) -> AsyncReceiver:
    """Connect, retrying a refused or unanswered connection with backoff for ``wait`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    delay = RETRY_FIRST
    while True:
        try:
            return await connect(server.address, server.group, resume_from=resume_from, **options)
        except ResetError as exc:
            if resume_from is not None or LATE_JOIN not in str(exc):
                raise
            raise ResetError(f"{exc}: the transfer started before this receiver joined") from None
        except ConnectFailedError as exc:
            left = deadline - loop.time()
            if left <= 0:
                raise
            if notice is not None and run.retries == 0:
                where = format_address(server.address)
                notice("waiting", f"waiting for the source at {where} ({exc}); retrying for {left:.0f} s")
            run.retries += 1
            await asyncio.sleep(min(delay, left))
            delay = min(delay * 2, RETRY_MAX)
