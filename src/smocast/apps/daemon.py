"""The receiver daemon: listen for announcements, receive each wanted transfer, go back to listening.

:class:`Daemon` hears announcements (:class:`~smocast.apps.announcer.Listener`), keeps those
that pass its :class:`Filter` (the source's address, a name pattern), and receives each
transfer once (:func:`~smocast.apps.setreceive.receive_set`), several at a time. It joins
with the announced manifest digest, so a stream that carries another manifest is refused.
A transfer already under way is joined from its first byte when its source serves history
(``smocast send`` does), and an interrupted one is resumed at the next announcement.

In the secure mode :attr:`Daemon.verify` checks that the key pinned for the announced server
signed the announcement (:class:`~smocast.apps.announce_auth.AnnouncementCheck`); the
handshake then proves that key again.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import ipaddress
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from smocast.aio.errors import NetworkError
from smocast.aio.netaddr import format_address, ip_of
from smocast.apps.announce import Announcement
from smocast.apps.announcer import Listener
from smocast.apps.filetransfer import Server
from smocast.apps.setplan import WritePolicy
from smocast.apps.setreceive import SetResult, receive_set
from smocast.core.datagram import Address
from smocast.core.errors import SmocastError

MAX_CONCURRENT = 4
RETRY_AFTER = 2.0  # seconds before an interrupted transfer is taken up again; doubles per attempt
RETRIES = 4
JOIN_WAIT = 5.0  # seconds to keep trying a source that announced itself
SEEN_KEPT = 4096  # transfers remembered (taken, skipped, refused); the oldest are forgotten past it

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class Filter:
    """Which announced transfers to take: from these networks (none: any), named like these
    shell patterns (none: any; matched against the name and the description)."""

    sources: tuple[Network, ...] = ()
    names: tuple[str, ...] = ()

    @classmethod
    def parse(cls, sources: Sequence[str], names: Sequence[str]) -> Filter:
        """``sources`` like ``10.0.0.5`` or ``2001:db8::/32``; ValueError for a bad one."""
        return cls(tuple(ipaddress.ip_network(s, strict=False) for s in sources), tuple(names))

    def refuses(self, announcement: Announcement, sender: Address) -> str | None:
        """Why the transfer is not wanted, or None."""
        if self.sources:
            ip = ip_of(sender[0])
            if ip is None or not any(ip.version == n.version and ip in n for n in self.sources):
                return f"its source {sender[0]} is not in --from"
        if self.names and not any(
            fnmatch.fnmatchcase(announcement.name, p) or fnmatch.fnmatchcase(announcement.description, p)
            for p in self.names
        ):
            return "its name matches no --name pattern"
        return None


def error_kind(exc: BaseException) -> str:
    """The error's kind as the commands report it (docs/cli.md): network, connect-failed, reset, file..."""
    names = [cls.__name__ for cls in type(exc).__mro__]
    for name, kind in _KINDS:
        if name in names:
            return kind
    return "failure"


_KINDS = (
    ("ConnectFailedError", "connect-failed"),
    ("ResetError", "reset"),
    ("NetworkError", "network"),
    ("OutputError", "file"),
    ("ManifestError", "file"),
    ("FileTransferError", "file"),
)


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one transfer ended: ``result`` when received, else ``error`` (with its ``kind``)."""

    announcement: Announcement
    server: Address
    result: SetResult | None = None
    error: str | None = None
    kind: str = ""
    will_retry: bool = False

    def as_json(self) -> dict[str, Any]:
        a = self.announcement
        about = {
            "transfer": a.ident,
            "name": a.name,
            "description": a.description,
            "server": format_address(self.server),
            "group": format_address(a.group),
        }
        if self.result is not None:
            return {"event": "received", **about, **self.result.as_json()}
        return {
            "event": "failed",
            **about,
            "error": {"kind": self.kind, "message": self.error},
            "will_retry": self.will_retry,
        }


@dataclass(slots=True)
class _Seen:
    """What the daemon knows of one announced transfer."""

    attempts: int = 0
    retry_at: float = 0.0
    finished: bool = False
    skipped: str | None = None
    unverified: bool = False  # an announcement of this id failed the secure mode's check (said once)


@dataclass
class Daemon:
    """Receives announced transfers into ``out`` until :meth:`run` returns (or is cancelled)."""

    out: Path
    group: Address
    interface: str | None = None
    accept: Filter = field(default_factory=Filter)
    policy: WritePolicy = field(default_factory=WritePolicy)
    max_concurrent: int = MAX_CONCURRENT
    options: dict[str, Any] = field(default_factory=dict)
    on_outcome: Callable[[Outcome], None] | None = None
    notice: Callable[[str, str], None] | None = None
    verify: Callable[[Announcement, Address], str | None] = lambda _announcement, _sender: None
    """Why an announcement (heard from an address) is not authentic, or None: the secure mode's check."""
    heard: int = 0
    unverified: int = 0  # announcements the secure mode's check refused
    _seen: dict[bytes, _Seen] = field(default_factory=dict)
    _active: dict[bytes, asyncio.Task[Outcome]] = field(default_factory=dict)

    async def run(self, transfers: int | None = None) -> list[Outcome]:
        """Listen and receive; return after ``transfers`` transfers ended (None: never)."""
        outcomes: list[Outcome] = []
        with Listener(self.group, self.interface) as listener:
            self._say(f"listening for announcements on {format_address(self.group)}; receiving into {self.out}")
            hearing: asyncio.Task[tuple[Announcement, Address]] = asyncio.create_task(listener.get())
            try:
                while transfers is None or len(outcomes) < transfers:
                    waiting: set[asyncio.Future[Any]] = {hearing, *self._active.values()}
                    done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
                    if hearing in done:
                        self._consider(*hearing.result())
                        hearing = asyncio.create_task(listener.get())
                    for key, task in list(self._active.items()):
                        if task in done:
                            outcomes.append(self._finished(key, task))
            finally:
                hearing.cancel()
                for task in self._active.values():
                    task.cancel()
                await asyncio.gather(hearing, *self._active.values(), return_exceptions=True)
        return outcomes

    # --- announcements ----------------------------------------------------------------------------

    def _consider(self, announcement: Announcement, sender: Address) -> None:
        self.heard += 1
        key = announcement.transfer
        seen = self._seen.get(key)
        if seen is None:
            seen = self._seen[key] = _Seen()
            self._forget_oldest()
        if seen.finished or key in self._active or seen.skipped is not None:
            return
        if self._unverified(announcement, sender, seen):
            return
        why = self._refusal(announcement, sender, seen)
        if why is not None:
            seen.skipped = why
            self._say(f"not taking {announcement.name!r} from {sender[0]}: {why}")
            return
        loop = asyncio.get_running_loop()
        if loop.time() < seen.retry_at or len(self._active) >= self.max_concurrent:
            return  # it is announced again
        seen.attempts += 1
        self._active[key] = asyncio.create_task(self._receive(announcement, sender))

    def _unverified(self, announcement: Announcement, sender: Address, seen: _Seen) -> bool:
        """True (and counted, said once per transfer) when the announcement is not authentic. It is
        not remembered as skipped: a forged copy must not make the daemon ignore the real one."""
        why = self.verify(announcement, sender)
        if why is None:
            return False
        self.unverified += 1
        if not seen.unverified:
            seen.unverified = True
            self._say(f"not taking {announcement.name!r} from {sender[0]}: {why}")
        return True

    def _forget_oldest(self) -> None:
        """Keep memory bounded whatever announcements arrive (each new transfer id is an entry)."""
        while len(self._seen) > SEEN_KEPT:
            oldest = next(k for k in self._seen if k not in self._active)
            del self._seen[oldest]

    def _refusal(self, announcement: Announcement, sender: Address, seen: _Seen) -> str | None:
        why = self.accept.refuses(announcement, sender)
        if why is not None:
            return why
        if announcement.sending and (announcement.stream or not announcement.history) and not seen.attempts:
            return "it started before this receiver heard of it, and its source keeps no history"
        with contextlib.suppress(OSError):
            stats = os.statvfs(self.out)
            free = stats.f_bavail * stats.f_frsize
            if announcement.total_bytes > free:
                return f"it holds {announcement.total_bytes} bytes and {self.out} has {free} free"
        return None

    async def _receive(self, announcement: Announcement, sender: Address) -> Outcome:
        server = announcement.server_from(sender)
        self._say(f"receiving {announcement.name!r} ({announcement.files} files) from {format_address(server)}")
        try:
            result = await receive_set(
                [Server(server, announcement.group)],
                self.out,
                policy=self.policy._replace(expected=announcement.digest),
                wait=JOIN_WAIT,
                late_join=announcement.sending,
                notice=self.notice,
                source=announcement.source,
                interface=self.interface,
                **self.options,
            )
        except SmocastError as exc:
            retry = isinstance(exc, NetworkError) and not announcement.stream
            return Outcome(announcement, server, error=str(exc), kind=error_kind(exc), will_retry=retry)
        return Outcome(announcement, server, result=result)

    def _finished(self, key: bytes, task: asyncio.Task[Outcome]) -> Outcome:
        del self._active[key]
        outcome = task.result()
        seen = self._seen[key]
        if outcome.will_retry and seen.attempts < RETRIES:
            seen.retry_at = asyncio.get_running_loop().time() + RETRY_AFTER * 2 ** (seen.attempts - 1)
        else:
            seen.finished = True
            outcome = replace(outcome, will_retry=False)
        if self.on_outcome is not None:
            self.on_outcome(outcome)
        return outcome

    def _say(self, text: str) -> None:
        if self.notice is not None:
            self.notice("notice", text)
