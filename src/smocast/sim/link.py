"""A one-way link: serialisation at a bit rate, propagation delay, a drop-tail queue, loss, jitter, a slower lane."""

from __future__ import annotations

import random

from smocast.sim.loss import LossModel, NoLoss


class Link:
    """One direction of a link. ``transmit`` returns the arrival time, or None if dropped.

    ``rate`` None means infinitely fast. The queue is drop-tail, bounded in bytes. ``jitter``
    adds to each packet's delay an amount drawn uniformly from ``[0, jitter)``: packets that
    leave closer together than that may arrive out of order, as over parallel paths. ``lane``:
    that share of the packets (drawn at random) takes a lane ``lane_delay`` slower, so later
    packets overtake each of them by that long, as the testbed's slower lane does.
    """

    __slots__ = (
        "_busy_until",
        "_rng",
        "delay",
        "drops_loss",
        "drops_queue",
        "jitter",
        "lane",
        "lane_delay",
        "loss",
        "queue_bytes",
        "rate",
        "sent_bytes",
        "sent_packets",
    )

    def __init__(
        self,
        rate: float | None,
        delay: float,
        rng: random.Random,
        loss: LossModel | None = None,
        queue_bytes: int = 256 * 1024,
        jitter: float = 0.0,
        lane: tuple[float, float] = (0.0, 0.0),
    ) -> None:
        self.rate = rate
        self.delay = delay
        self.jitter = jitter
        self.lane, self.lane_delay = lane
        self.loss = loss or NoLoss()
        self.queue_bytes = queue_bytes
        self._rng = rng
        self._busy_until = 0.0
        self.sent_packets = 0
        self.sent_bytes = 0
        self.drops_queue = 0
        self.drops_loss = 0

    def transmit(self, size: int, now: float) -> float | None:
        """Queue ``size`` bytes at ``now``; return when they arrive at the far end."""
        rate = self.rate
        if rate is None:
            departure = now
        else:
            start = self._busy_until if self._busy_until > now else now
            backlog = (start - now) * rate / 8
            if backlog + size > self.queue_bytes:
                self.drops_queue += 1
                return None
            departure = start + size * 8 / rate
            self._busy_until = departure
        self.sent_packets += 1
        self.sent_bytes += size
        if self.loss.lost(self._rng, now):
            self.drops_loss += 1
            return None
        arrival = departure + self.delay
        if self.jitter:
            arrival += self._rng.random() * self.jitter
        if self.lane and self._rng.random() < self.lane:
            arrival += self.lane_delay
        return arrival
