"""Session relay from a receiver: messages sent up its own connection to the source (:class:`UpLink`).

The endpoint (:meth:`~smocast.smo.receiver.Receiver.send_up`) frames, queues and repairs
what goes up; this side waits while its queue is full and until the source acknowledged
everything. Neither wait is an event of the endpoint, so both poll every :data:`UP_POLL`
seconds. The receiver must call :meth:`UpLink.attach` once its endpoint and driver exist.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from smocast.aio.driver import Driver
from smocast.core.errors import LocalProtocolError
from smocast.smo.receiver import Receiver, ReceiverState

UP_POLL = 0.01  # seconds between checks while messages sent up wait for room or for their ACK


class UpLink:
    """The way up to the source; ``raise_if_failed`` raises the receiver's error, if it has one."""

    def __init__(self, raise_if_failed: Callable[[], None]) -> None:
        self._raise_if_failed = raise_if_failed
        self._receiver: Receiver | None = None
        self._driver: Driver | None = None

    def attach(self, receiver: Receiver, driver: Driver) -> None:
        self._receiver, self._driver = receiver, driver

    async def send(self, data: bytes) -> None:
        """Queue ``data`` as one message up, waiting while the endpoint's queue is full."""
        while True:
            receiver, driver = self._live()
            if receiver.send_up(data, driver.now):
                driver.pump()
                return
            await asyncio.sleep(UP_POLL)

    @property
    def pending(self) -> int:
        """Bytes sent up (framing included) that the source has not acknowledged yet."""
        return self._receiver.up_pending if self._receiver is not None else 0

    async def flush(self) -> None:
        """Wait until the source acknowledged everything sent up."""
        while self.pending:
            self._live()
            await asyncio.sleep(UP_POLL)

    def _live(self) -> tuple[Receiver, Driver]:
        self._raise_if_failed()
        receiver, driver = self._receiver, self._driver
        if receiver is None or driver is None:
            raise LocalProtocolError("not connected")
        if driver.closed or receiver.state is not ReceiverState.ESTABLISHED:
            raise LocalProtocolError(f"cannot talk to the source: the connection is {receiver.state.value}")
        return receiver, driver
