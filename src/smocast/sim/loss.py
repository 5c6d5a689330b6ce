"""Packet loss models. Each draws from the ``random.Random`` it is given, never the global one."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Protocol

from smocast.core.errors import ConfigError


class LossModel(Protocol):
    """Decides, packet by packet, whether a link loses a packet."""

    def lost(self, rng: random.Random, now: float) -> bool:
        """True when the packet sent at ``now`` is lost."""


class NoLoss:
    """A perfect link."""

    def lost(self, rng: random.Random, now: float) -> bool:
        return False


@dataclass(slots=True)
class Bernoulli:
    """Independent loss with probability ``p`` per packet."""

    p: float

    def __post_init__(self) -> None:
        if not 0 <= self.p < 1:
            raise ConfigError(f"loss probability must be in [0, 1), got {self.p}")

    def lost(self, rng: random.Random, now: float) -> bool:
        return self.p > 0 and rng.random() < self.p


@dataclass(slots=True)
class GilbertElliott:
    """Bursty loss: a two-state Markov chain, lossless when good, losing ``loss_bad`` when bad.

    The chain takes one step per packet, and also one step per ``slot`` seconds of idle time,
    so a burst is a burst in time as well: a link that carries only a timeout's
    retransmission every few seconds does not stay in its bad state for minutes. Build it
    from a mean loss rate and a mean burst length in packets with :meth:`from_mean`.
    """

    p_good_to_bad: float
    p_bad_to_good: float
    loss_good: float = 0.0
    loss_bad: float = 1.0
    slot: float = 0.001
    bad: bool = False
    last: float | None = None

    @classmethod
    def from_mean(cls, loss: float, burst: float, slot: float = 0.001) -> GilbertElliott:
        """Stationary loss rate ``loss``, mean length of a bad period ``burst`` steps."""
        if not 0 <= loss < 1 or burst < 1:
            raise ConfigError(f"need 0 <= loss < 1 and burst >= 1, got loss={loss} burst={burst}")
        to_good = 1.0 / burst
        to_bad = loss * to_good / (1.0 - loss)
        return cls(min(1.0, to_bad), to_good, slot=slot)

    def lost(self, rng: random.Random, now: float) -> bool:
        idle_steps = 0 if self.last is None else int((now - self.last) / self.slot)
        self.last = now if self.last is None else max(self.last, now)
        if idle_steps > 0:
            self._age(idle_steps, rng)
        if self.bad:
            if rng.random() < self.p_bad_to_good:
                self.bad = False
        elif rng.random() < self.p_good_to_bad:
            self.bad = True
        rate = self.loss_bad if self.bad else self.loss_good
        return rate > 0 and rng.random() < rate

    def _age(self, steps: int, rng: random.Random) -> None:
        """Advance the chain ``steps`` steps at once (the closed form of a two-state chain)."""
        total = self.p_good_to_bad + self.p_bad_to_good
        stationary_bad = self.p_good_to_bad / total if total else 0.0
        decay = (1.0 - total) ** steps
        p_bad = stationary_bad + ((1.0 if self.bad else 0.0) - stationary_bad) * decay
        self.bad = rng.random() < p_bad


def make_loss(p: float, burst: float | None = None, slot: float = 0.001) -> LossModel:
    """Bernoulli loss, or Gilbert-Elliott bursts when a mean ``burst`` length is given.

    ``slot`` is the idle time that counts as one step of the burst chain: set it near the
    spacing of the packets, so that a burst of ``burst`` packets lasts about as long in time.
    """
    if p <= 0:
        return NoLoss()
    if burst is not None and burst > 1:
        return GilbertElliott.from_mean(p, burst, slot)
    return Bernoulli(p)
