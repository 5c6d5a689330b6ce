"""Announcements on the network: the source's :class:`Announcer` and the daemon's :class:`Listener`.

The announcer multicasts its :class:`~smocast.apps.announce.Announcement` every
``interval`` seconds while the channel waits for receivers, and every ``sending_interval``
seconds once data flows (for receivers that resume, or join late from the source's files),
until the channel finishes. The listener hands every valid announcement to its consumer
through a bounded queue; what is not an announcement is counted and dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from smocast.aio.netaddr import canonical, sockaddr
from smocast.aio.sockets import announcer_socket, listener_socket
from smocast.apps.announce import Announcement, AnnouncementError, decode
from smocast.core.datagram import Address

if TYPE_CHECKING:
    from smocast.aio.channel import AsyncChannel

INTERVAL = 1.0  # seconds between announcements while the source waits for receivers
SENDING_INTERVAL = 3.0  # ... and while it sends
QUEUE = 256  # announcements waiting for the daemon; more are dropped (they repeat)
DRAIN = 64  # datagrams read per wake-up


class Announcer:
    """Announces ``announcement`` on ``group`` for as long as :meth:`run` runs (cancel it, or it
    returns when the channel finishes)."""

    def __init__(
        self,
        announcement: Announcement,
        group: Address,
        *,
        interface: str | None = None,
        ttl: int = 1,
        interval: float = INTERVAL,
        sending_interval: float = SENDING_INTERVAL,
        sign: Callable[[Announcement], Announcement] | None = None,
    ) -> None:
        """``sign`` (a secure source's) signs each announcement before it goes out."""
        self.announcement = announcement
        self._sign = sign
        self.group = group
        self.sent = 0
        self._interval = interval
        self._sending_interval = sending_interval
        self._sock = announcer_socket(group, interface, ttl, announcement.server[0])

    async def run(self, channel: AsyncChannel) -> None:
        """Announce until ``channel`` finishes; close the socket on the way out."""
        try:
            while not channel.finished:
                self.announcement = self.announcement.next(sending=channel.started)
                sent = self._sign(self.announcement) if self._sign is not None else self.announcement
                with contextlib.suppress(OSError):  # a lost announcement is repeated anyway
                    self._sock.sendto(sent.encode(), sockaddr(self.group))
                    self.sent += 1
                await asyncio.sleep(self._sending_interval if channel.started else self._interval)
        finally:
            self._sock.close()


class Listener:
    """Every announcement heard on ``group``, as ``(announcement, sender)`` from :meth:`get`.

    Use it with ``with Listener(...) as listener:`` inside a running event loop.
    """

    def __init__(self, group: Address, interface: str | None = None) -> None:
        self.group = group
        self.invalid = 0  # datagrams that were not announcements
        self.dropped = 0  # announcements dropped because the consumer fell behind
        self._sock = listener_socket(group, interface)
        self._queue: asyncio.Queue[tuple[Announcement, Address]] = asyncio.Queue(QUEUE)
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self._sock.fileno(), self._on_readable)

    def __enter__(self) -> Listener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def get(self) -> tuple[Announcement, Address]:
        return await self._queue.get()

    def _on_readable(self) -> None:
        for _ in range(DRAIN):
            try:
                data, raw = self._sock.recvfrom(65536)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            try:
                heard = (decode(data), canonical(raw))
            except AnnouncementError:
                self.invalid += 1
                continue
            try:
                self._queue.put_nowait(heard)
            except asyncio.QueueFull:
                self.dropped += 1

    def close(self) -> None:
        if self._sock.fileno() >= 0:
            self._loop.remove_reader(self._sock.fileno())
            self._sock.close()
