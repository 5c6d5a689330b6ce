"""What a receiver delivered and its application has not read yet: :class:`Inbox`.

The reading side of :class:`~smocast.aio.receiver.AsyncReceiver`. It holds the in-order
bytes (or, with framing, the whole messages and gap notices) until the application takes
them, and it is where reading drives flow control:

* bytes count against the advertised window until they are read; each read tells the
  endpoint (:meth:`~smocast.smo.receiver.Receiver.consumed`), and pumps at once when that
  makes a window update due;
* TCP-RTM without a playout delay: a reader that waits while later data is held skips the
  hole (:meth:`Inbox.skip_if_reader_waits`), so the application never waits for a repair;
* a reader may wait for many bytes at once (:meth:`Inbox.wait` with ``want``): arrivals short
  of that do not wake it (:attr:`Inbox.short_of_want`), so a bulk reader wakes once per
  chunk instead of once per read of the socket. ``want`` is capped at a quarter of the
  receive buffer (:meth:`Inbox.bounded_want`), so the bytes it waits for never close the window.

The receiver must call :meth:`Inbox.attach` once its endpoint and driver exist; before
that, reading takes what is buffered and tells nobody.
"""

from __future__ import annotations

from collections import deque

from smocast.aio.driver import Driver, Signal
from smocast.smo import events as ev
from smocast.smo.receiver import Receiver, ReceiverState
from smocast.smo.receiver_config import ReceiverConfig


class Inbox:
    """The bytes, or messages and gap notices, delivered in stream order and not read yet."""

    def __init__(self, config: ReceiverConfig) -> None:
        self._config = config
        self._chunks: deque[bytes] = deque()
        self._head = 0  # bytes of the first chunk already read
        self._items: deque[ev.MessageReceived | ev.Skipped] = deque()  # framing mode, in stream order
        self._reader_waiting = False
        self._want = 1  # bytes the waiting reader needs before it is woken
        self.buffered = 0  # bytes delivered and not read yet
        self._receiver: Receiver | None = None
        self._driver: Driver | None = None

    def attach(self, receiver: Receiver, driver: Driver) -> None:
        """The endpoint whose window reading reopens, and the driver that sends its updates."""
        self._receiver, self._driver = receiver, driver

    # --- what arrives ------------------------------------------------------------------------

    def add_bytes(self, data: bytes) -> None:
        self._chunks.append(data)
        self.buffered += len(data)

    @property
    def short_of_want(self) -> bool:
        """A reader waits for more bytes than are buffered: a data arrival must not wake it yet."""
        return self._reader_waiting and self.buffered < self._want

    def bounded_want(self, at_least: int) -> int:
        """The bytes a reader asking for ``at_least`` may wait for: at least one, and at most a
        quarter of the receive buffer (bytes not read close the advertised window)."""
        return max(1, min(at_least, self._config.receive_buffer // 4))

    def add_item(self, item: ev.MessageReceived | ev.Skipped) -> None:
        self._items.append(item)

    @property
    def has_bytes(self) -> bool:
        return bool(self._chunks)

    @property
    def has_items(self) -> bool:
        return bool(self._items)

    # --- what the application takes -------------------------------------------------------------

    def take(self, n: int) -> bytes:
        """Up to ``n`` bytes, at least one (the caller checks :attr:`has_bytes` first): from the
        first chunk without copying the rest of it (a batch delivers a run of segments as one
        chunk, which may be large), or whole chunks joined while they fit."""
        chunks, head = self._chunks, self._head
        first = chunks[0]
        left = len(first) - head
        if left >= n:
            data = first if head == 0 and left == n else first[head : head + n]
            if left > n:
                self._head = head + n
            else:
                chunks.popleft()
                self._head = 0
        else:
            parts, size = [first[head:] if head else first], left
            chunks.popleft()
            self._head = 0
            while chunks and size + len(chunks[0]) <= n:
                parts.append(chunks.popleft())
                size += len(parts[-1])
            data = b"".join(parts)
        self.buffered -= len(data)
        self._consumed(len(data))
        return data

    def pop_item(self) -> ev.MessageReceived | ev.Skipped:
        """The next message or gap notice (the caller checks :attr:`has_items` first)."""
        item = self._items.popleft()
        if isinstance(item, ev.MessageReceived):
            self._consumed(len(item.data))
        return item

    def _consumed(self, nbytes: int) -> None:
        """The application took ``nbytes``: the window reopens; a window update goes out when due."""
        receiver, driver = self._receiver, self._driver
        if receiver is None or driver is None or driver.closed:
            return
        receiver.consumed(nbytes)
        if receiver.ack_pending:
            driver.pump()

    # --- waiting ------------------------------------------------------------------------------

    async def wait(self, state: Signal, want: int = 1) -> None:
        """Wait for the receiver's next change of ``state``, unless skipping a hole delivers data now.
        With ``want`` (from :meth:`bounded_want`), data arrivals wake the reader only once
        ``want`` bytes are buffered; every other change of state wakes it at once."""
        self._reader_waiting, self._want = True, want
        try:
            if not self.skip_if_reader_waits():
                await state.wait()
        finally:
            self._reader_waiting, self._want = False, 1

    def skip_if_reader_waits(self) -> bool:
        """TCP-RTM read (no playout delay): the application waits and later data is held, so
        skip the hole; True when something was skipped (and the data after it delivered).
        The driver calls it after every pump."""
        receiver, driver, config = self._receiver, self._driver, self._config
        if (
            not self._reader_waiting
            or receiver is None
            or driver is None
            or driver.closed
            or receiver.state is not ReceiverState.ESTABLISHED
            or not config.realtime
            or config.playout_delay is not None
            or not receiver.skip_hole(driver.now)
        ):
            return False
        driver.pump()
        return True
