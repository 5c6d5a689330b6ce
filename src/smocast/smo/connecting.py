"""The receiver's side of the handshake: its SYNs (when, with which cookie, until when), and
the data that arrives before the SYN-ACK.

The first SYN carries no cookie; the source answers with a RETRY whose cookie every later
SYN echoes (address validation), and at last with a SYN-ACK. A RETRY is answered at once a
few times; otherwise SYNs go out on a timer that doubles up to a ceiling, until the connect
timeout. Multicast data that beats the SYN-ACK is kept, up to ``max_early_segments`` and the
receive buffer, for the receiver to take once it is established.
"""

from __future__ import annotations

from smocast.smo.flowcontrol import ReceiveWindow
from smocast.smo.receiver_config import ReceiverConfig
from smocast.smo.receiver_outbox import ReceiverOutbox
from smocast.wire import NO_COOKIE, Packet

MAX_RETRIES = 4  # RETRYs answered at once per connect; beyond them the SYN timer paces the SYNs
MAX_SYN_INTERVAL = 4.0  # seconds; the SYN timer's ceiling


class Handshake:
    """One connect attempt: its start, its SYNs (sent through ``out``, offering ``window``), the
    cookie to echo, and the data that arrived early."""

    __slots__ = (
        "_config",
        "_early",
        "_early_bytes",
        "_interval",
        "_out",
        "_retries",
        "_window",
        "cookie",
        "first",
        "next_syn",
    )

    def __init__(self, config: ReceiverConfig, out: ReceiverOutbox, window: ReceiveWindow) -> None:
        self._config = config
        self._out = out
        self._window = window
        self._interval = config.syn_interval
        self._retries = 0  # RETRYs answered at once
        self._early: list[Packet] = []  # data that arrived before the SYN-ACK
        self._early_bytes = 0  # their payload, at most the receive buffer
        self.cookie = NO_COOKIE  # the source's latest RETRY cookie, echoed in each SYN (read-only)
        self.first: float | None = None  # when the first SYN went out (read-only)
        self.next_syn: float | None = None  # when the next SYN is due, None when none is (read-only)

    def start(self, now: float) -> None:
        """Connect: the first SYN goes out now."""
        self.first = now
        self._send_syn(now)

    def _send_syn(self, now: float) -> None:
        self._out.syn(self._window.offered, self._config.resume_from, self.cookie, now)
        self.next_syn = now + self._interval

    def on_timer(self, now: float) -> bool:
        """The receiver's timer fired (it arms it for :attr:`next_syn`): send another SYN when
        one is due. True when the connect timeout passed instead: the receiver must give up."""
        if self.next_syn is None or now < self.next_syn:
            return False
        assert self.first is not None
        if now - self.first >= self._config.connect_timeout:
            self.next_syn = None
            return True
        self._interval = min(self._interval * 2, MAX_SYN_INTERVAL)
        self._send_syn(now)
        return False

    def on_retry(self, cookie: bytes, now: float) -> None:
        """The source sent a RETRY with ``cookie``: echo it in a new SYN, at once a few times
        (later SYNs echo it on the timer)."""
        self.cookie = cookie
        if self._retries < MAX_RETRIES:
            self._retries += 1
            self._send_syn(now)

    def keep_early(self, packet: Packet) -> None:
        """Multicast data that beat the SYN-ACK: kept for :meth:`take_early`, within the bounds."""
        size, config = len(packet.payload), self._config
        if len(self._early) < config.max_early_segments and self._early_bytes + size <= config.receive_buffer:
            self._early.append(packet)
            self._early_bytes += size

    def take_early(self) -> list[Packet]:
        """The data kept so far, in arrival order; the receiver must take it once established."""
        early, self._early, self._early_bytes = self._early, [], 0
        return early

    def established(self, now: float) -> float:
        """The SYN-ACK arrived: no more SYNs; returns the handshake's round trip."""
        assert self.first is not None
        self.next_syn = None
        return now - self.first

    def stop(self) -> None:
        """The receiver left: no more SYNs."""
        self.next_syn = None
