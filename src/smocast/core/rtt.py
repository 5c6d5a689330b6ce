"""Round-trip time estimation and the retransmission timeout, as RFC 6298 specifies.

Karn's rule (RFC 6298 section 3 and 5.7), for a caller without timestamps: no RTT sample is
taken from an ACK that covers retransmitted data (``on_sample(..., covers_retransmission=True)``),
and a backed-off RTO is kept until a valid sample arrives. The TCP-SMO source does not need it:
its ACKs echo timestamps, which name the transmission answered (see ``smocast.smo.sampling``).
"""

from __future__ import annotations

from dataclasses import dataclass

RTO_ALPHA = 1 / 8  # RFC 6298 (2.3): gain of SRTT
RTO_BETA = 1 / 4  # RFC 6298 (2.3): gain of RTTVAR
RTO_K = 4  # RFC 6298 (2.2): weight of RTTVAR in the RTO


@dataclass(frozen=True, slots=True)
class RtoSettings:
    """Bounds of the retransmission timeout, in seconds.

    RFC 6298 asks for a 1 s minimum; like Linux we default to 200 ms, which suits the LANs
    and simulated paths smocast targets. ``granularity`` is the clock granularity G.
    """

    initial: float = 1.0
    minimum: float = 0.2
    maximum: float = 60.0
    granularity: float = 0.001


class RttEstimator:
    """SRTT, RTTVAR and RTO of one path; feed it samples, read ``rto`` and ``srtt``."""

    __slots__ = ("_settings", "backoff", "latest", "min_rtt", "rto", "rttvar", "samples", "srtt")

    def __init__(self, settings: RtoSettings | None = None) -> None:
        self._settings = settings or RtoSettings()
        self.srtt: float | None = None
        self.rttvar = 0.0
        self.latest: float | None = None
        self.min_rtt: float | None = None
        self.samples = 0
        self.backoff = 1
        """The Karn back-off factor applied to the RTO (1: none); only the estimator changes it."""
        self.rto = self._settings.initial
        """The current timeout, with any Karn back-off applied and clamped to the bounds."""

    def _update_rto(self) -> None:
        s = self._settings
        base = s.initial if self.srtt is None else self.srtt + max(s.granularity, RTO_K * self.rttvar)
        self.rto = min(s.maximum, max(s.minimum, base) * self.backoff)

    def on_sample(self, rtt: float, *, covers_retransmission: bool = False) -> bool:
        """Feed one RTT measurement; return False when Karn's rule (or a negative value) discards it."""
        if covers_retransmission or rtt < 0:
            return False
        self.update(rtt)
        return True

    def update(self, rtt: float) -> None:
        """A valid (unambiguous, non-negative) sample: RFC 6298 (2.2) and (2.3), then (2.4)/(2.5).

        A valid sample also ends any Karn back-off (RFC 6298 (5.7)).
        """
        self.latest = rtt
        self.samples += 1
        srtt = self.srtt
        if srtt is None:
            self.min_rtt = rtt
            srtt = self.srtt = rtt  # RFC 6298 (2.2)
            rttvar = self.rttvar = rtt / 2
        else:
            if rtt < self.min_rtt:  # type: ignore[operator]  # noqa: PLR1730  (per sample: cheaper than min())
                self.min_rtt = rtt
            rttvar = self.rttvar = (1 - RTO_BETA) * self.rttvar + RTO_BETA * abs(srtt - rtt)
            srtt = self.srtt = (1 - RTO_ALPHA) * srtt + RTO_ALPHA * rtt
        self.backoff = 1
        s = self._settings
        base = srtt + (RTO_K * rttvar if RTO_K * rttvar > s.granularity else s.granularity)
        self.rto = s.maximum if base > s.maximum else (s.minimum if base < s.minimum else base)

    def back_off(self, ceiling: float | None = None) -> None:
        """The retransmission timer expired: double the RTO (RFC 6298 (5.5)), up to the maximum.

        With ``ceiling`` the RTO doubles no further than that (nor below its value now), so a
        sender can keep probing a lossy path more often than a liveness timeout: RFC 6298
        (5.5) leaves the upper bound to the implementation, provided it is at least 60 s for
        the Internet at large; smocast's paths are LANs and managed networks.
        """
        maximum = self._settings.maximum
        if self.rto >= maximum:
            return
        if ceiling is not None and self.rto * 2 > ceiling:
            self.backoff = max(self.backoff, 2)  # backed off: no tail loss probe until a sample
            self.rto = min(maximum, max(self.rto, ceiling))
            return
        self.backoff *= 2
        self._update_rto()
