"""The receiver's side of the handshake: when to send a SYN, with which cookie, until when.

The first SYN carries no cookie; the source answers with a RETRY whose cookie every later
SYN echoes (address validation), and at last with a SYN-ACK. A RETRY is answered at once a
few times; otherwise SYNs go out on a timer that doubles up to a ceiling, until the connect
timeout. The receiver builds and sends the SYNs; this object only keeps the time and the
cookie.
"""

from __future__ import annotations

from enum import Enum

from smocast.smo.receiver_config import ReceiverConfig
from smocast.wire import NO_COOKIE

MAX_RETRIES = 4  # RETRYs answered at once per connect; beyond them the SYN timer paces the SYNs
MAX_SYN_INTERVAL = 4.0  # seconds; the SYN timer's ceiling


class SynTimer(Enum):
    """What the receiver must do when :meth:`Handshake.on_timer` fires."""

    NOTHING = "nothing"
    SEND_SYN = "send-syn"
    GIVE_UP = "give-up"


class Handshake:
    """One connect attempt: its start, the next SYN's time, and the cookie to echo."""

    __slots__ = ("_config", "_interval", "_retries", "cookie", "first", "next_syn")

    def __init__(self, config: ReceiverConfig) -> None:
        self._config = config
        self._interval = config.syn_interval
        self._retries = 0  # RETRYs answered at once
        self.cookie = NO_COOKIE  # the source's latest RETRY cookie, echoed in each SYN (read-only)
        self.first: float | None = None  # when the first SYN went out (read-only)
        self.next_syn: float | None = None  # when the next SYN is due, None when none is (read-only)

    def start(self, now: float) -> None:
        """The first SYN goes out now: the receiver must send it, then call :meth:`sent`."""
        self.first = now

    def sent(self, now: float) -> None:
        """A SYN went out at ``now``: the next one is due an interval later."""
        self.next_syn = now + self._interval

    def on_timer(self, now: float) -> SynTimer:
        """The receiver's timer fired: send another SYN (then :meth:`sent`), or give up."""
        if self.next_syn is None or now < self.next_syn:
            return SynTimer.NOTHING
        assert self.first is not None
        if now - self.first >= self._config.connect_timeout:
            self.next_syn = None
            return SynTimer.GIVE_UP
        self._interval = min(self._interval * 2, MAX_SYN_INTERVAL)
        return SynTimer.SEND_SYN

    def on_retry(self, cookie: bytes) -> bool:
        """The source sent a RETRY with ``cookie``: True when a SYN that echoes it must go out at once."""
        self.cookie = cookie
        if self._retries < MAX_RETRIES:
            self._retries += 1
            return True
        return False

    def established(self, now: float) -> float:
        """The SYN-ACK arrived: no more SYNs; returns the handshake's round trip."""
        assert self.first is not None
        self.next_syn = None
        return now - self.first

    def stop(self) -> None:
        """The receiver left: no more SYNs."""
        self.next_syn = None
