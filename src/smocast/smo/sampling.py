"""One receiver's RTT samples, for its retransmission timeout and for its congestion controller.

Two clocks measure a receiver's round trip, and :class:`RttSamples` takes both:

* the echoed timestamp (TSecr) feeds the RFC 6298 estimator behind the retransmission
  timeout, once per round trip on every ACK path: its gains assume about one sample per RTT
  (one timed segment per flight), and a sample from every ACK collapses RTTVAR and with it
  the RTO;
* the send time of the newest segment an ACK delivers feeds a congestion controller that asks
  for RTT samples (``wants_rtt``): unlike the echoed timestamp (of the oldest segment an ACK
  covers) it leaves out the receiver's ACK aggregation, and it is valid in loss recovery, since
  the newest segment was sent once (as Linux gives controllers the RTT of the last segment
  acked, and RACK).

An ACK that covers repaired data gives a timestamp sample too: the echo names the
transmission it answers (a repair carries its own send time), which is why RFC 6298 section
3 exempts timestamps from Karn's rule.
"""

from __future__ import annotations

from smocast.core.congestion import CongestionController
from smocast.core.rtt import RttEstimator
from smocast.core.timestamps import elapsed_since
from smocast.smo.sendbuf import SendBuffer


class RttSamples:
    """A child's RTT sampling: owns when the next timestamp sample may be taken (``after``)."""

    __slots__ = ("_buf", "_cc", "_rtt", "after")

    def __init__(self, rtt: RttEstimator, cc: CongestionController, buf: SendBuffer) -> None:
        self._rtt = rtt
        self._cc = cc
        self._buf = buf
        self.after = 0.0  # take the next timestamp sample no earlier than this

    def echoed(self, tsecr: int, now: float) -> None:
        """An ACK echoed ``tsecr`` and ``now >= after``: sample the RTO's estimator, and wait a
        smoothed RTT for the next sample."""
        rtt = self._rtt
        rtt.update(elapsed_since(tsecr, now))
        self.after = now + rtt.srtt  # type: ignore[operator]

    def delivered(self, upto: int, now: float) -> None:
        """Data up to ``upto`` reached the receiver for the first time: the congestion
        controller's sample, from the send time of the newest segment delivered."""
        sent_at = self._buf.sent_at_of(upto - 1)
        if sent_at is not None:
            self._cc.on_rtt_sample(now - sent_at, now)
