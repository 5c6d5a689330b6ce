"""The minimum and the standing value of a path's delay samples, for a delay-aware controller.

:class:`DelayTrack` keeps, for one path, the smallest sample of the last ``MIN_RTT_WINDOW``
seconds (the base: an empty queue, as BBR's RTprop) and the *standing* delay: the smallest
sample of the last few buckets of about half a round trip (as Copa's), and so of at least
the last :data:`STANDING_BUCKETS` samples however sparse they come. A queue keeps every sample
up, so the standing delay rises with it; a delayed ACK or a busy host raises only some
samples, so it does not. Their difference is the queueing delay the path shows.

It also keeps the path's *jitter*: the mean difference between consecutive samples, smoothed
as RFC 3550 (6.4.1) smooths interarrival jitter. A queue moves the delay a little from one
sample to the next; a busy host or a noisy link moves it a lot, both ways. A caller that
compares the queueing delay with a threshold can read it the way RFC 6298 reads RTTVAR: a
rise within a few times the jitter is the path's noise, not a queue.

It takes round-trip times in seconds (:meth:`DelayTrack.add`), or one-way delays in
microseconds of two unsynchronised 32-bit clocks (:meth:`DelayTrack.add_one_way`): those carry
an unknown but constant offset, which the difference with the base cancels.
"""

from __future__ import annotations

import math

from smocast.core.timestamps import TS_MODULUS, TS_UNITS_PER_SECOND

MIN_RTT_WINDOW = 10.0  # the base is renewed after this long (s), as BBR's RTprop
STANDING_WINDOW_FLOOR = 0.005  # a standing bucket lasts at least this long (s)
STANDING_BUCKETS = 3  # the standing delay is the smallest sample of this many buckets, however old
JITTER_GAIN = 1 / 16  # RFC 3550 (6.4.1): each new difference moves the jitter by this much of the gap
_HALF = TS_MODULUS // 2


class DelayTrack:
    """The base and standing delay of one path's samples (seconds)."""

    __slots__ = (
        "_bucket_at",
        "_bucket_min",
        "_closed",
        "_last",
        "_reference",
        "base",
        "base_at",
        "jitter",
        "last_at",
    )

    def __init__(self) -> None:
        self.base: float | None = None  # the smallest sample of the last MIN_RTT_WINDOW (read-only)
        self.base_at = 0.0
        self.last_at: float | None = None  # when the newest sample came (read-only)
        self.jitter = 0.0  # the smoothed difference between consecutive samples (read-only)
        self._last: float | None = None
        self._bucket_at = 0.0
        self._bucket_min = math.inf
        self._closed: tuple[float, ...] = ()  # the minima of the last STANDING_BUCKETS - 1 closed buckets
        self._reference: int | None = None  # the first one-way sample: the others count from it

    @property
    def standing(self) -> float | None:
        """The smallest sample of the open bucket and the last closed ones, or None before any."""
        standing = min((self._bucket_min, *self._closed))
        return None if standing == math.inf else standing

    @property
    def queueing_delay(self) -> float | None:
        """How far the standing delay stands above the base, or None before any sample."""
        standing, base = self.standing, self.base
        return None if standing is None or base is None else standing - base

    def add(self, delay: float, now: float, bucket: float | None = None) -> None:
        """One sample. A standing bucket lasts ``bucket`` seconds (default: half the base), and
        at least :data:`STANDING_WINDOW_FLOOR`.

        A closed bucket counts however long ago it closed: where ACKs come less often than a
        bucket lasts (a receiver ACKing every eighth segment at a low rate, or a busy host), a
        bucket holds one sample, and a standing delay of the open bucket alone would be the
        newest sample: one late ACK would pass for a queue. With the last closed buckets, a
        rise shows once it lasts :data:`STANDING_BUCKETS` samples, as a queue's does."""
        self.last_at = now
        last, self._last = self._last, delay
        if last is not None:
            self.jitter += (abs(delay - last) - self.jitter) * JITTER_GAIN
        if self.base is None or delay <= self.base or now - self.base_at > MIN_RTT_WINDOW:
            self.base, self.base_at = delay, now
        window = max(self.base / 2 if bucket is None else bucket, STANDING_WINDOW_FLOOR)
        elapsed = now - self._bucket_at
        if elapsed < window:
            self._bucket_min = min(self._bucket_min, delay)
            return
        self._closed = (*self._closed, self._bucket_min)[1 - STANDING_BUCKETS :]
        self._bucket_min, self._bucket_at = delay, now

    def add_one_way(self, sample: int, now: float, bucket: float | None) -> None:
        """One one-way delay sample in microseconds modulo 2**32, against an unknown offset."""
        reference = self._reference
        if reference is None:
            reference = self._reference = sample
        relative = (sample - reference + _HALF) % TS_MODULUS - _HALF
        self.add(relative / TS_UNITS_PER_SECOND, now, bucket)
