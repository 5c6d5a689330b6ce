"""What a receiver delivered and its application has not read yet: :class:`Inbox`.

The reading side of :class:`~smocast.aio.receiver.AsyncReceiver`. It holds the in-order
bytes (or, with framing, the whole messages and gap notices) until the application takes
them, and it is where reading drives flow control:

* bytes count against the advertised window until they are read; each read tells the
  endpoint (:meth:`~smocast.smo.receiver.Receiver.consumed`), and pumps at once when that
  makes a window update due;
* TCP-RTM without a playout delay: a reader that waits while later data is held skips the
  hole (:meth:`Inbox.skip_if_reader_waits`), so the application never waits for a repair.

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
        self._receiver: Receiver | None = None
        self._driver: Driver | None = None

    def attach(self, receiver: Receiver, driver: Driver) -> None:
        """The endpoint whose window reading reopens, and the driver that sends its updates."""
        self._receiver, self._driver = receiver, driver

    # --- what arrives ------------------------------------------------------------------------

    def add_bytes(self, data: bytes) -> None:
        self._chunks.append(data)

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

    async def wait(self, state: Signal) -> None:
        """Wait for the receiver's next change of ``state``, unless skipping a hole delivers data now."""
        self._reader_waiting = True
        try:
            if not self.skip_if_reader_waits():
                await state.wait()
        finally:
            self._reader_waiting = False

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
