"""Receiver-side loss recovery with NAKs, in the two styles the classes use.

:class:`DirectNaks` (N1, the ring): a receiver NAKs a lost transmission at once and waits for
the repair; if the wait runs out, that transmission was lost too and it NAKs again. Each lost
transmission therefore costs one NAK (Y_n) and one timer (Y_t), as in the model (§4.2).

:class:`NakAvoidance` (N2, and H2 inside a local group): SRM's request timers. A receiver that
misses a packet waits uniform [c1·d, (c1+c2)·d], d its distance to the repairer; if it hears
another receiver's NAK for the same round first, it suppresses its own and waits for the next
round instead. The interval doubles each round. One timer (Y_t) is charged per round missed,
whether it fired or was cancelled by a NAK heard (§4.3).

Both keep one :class:`~smocast.core.timers.Timer` per missing packet in the endpoint's queue.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from functools import partial

from smocast.classes.config import MAX_BACKOFF_LEVEL, ClassConfig
from smocast.core.timers import Timer, TimerQueue

SendNak = Callable[[int, int, float], None]
"""``send_nak(seq, round, now)``: put a NAK for transmission ``round`` of ``seq`` on the wire."""
OpsFor = Callable[[int], dict[str, int]]
"""``ops_for(seq)``: the operation counts to charge for work on ``seq``."""


class _Wait:
    __slots__ = ("round", "timer")

    def __init__(self, rnd: int, timer: Timer) -> None:
        self.round = rnd  # the transmission this receiver is waiting for (or has NAKed last)
        self.timer = timer


class DirectNaks:
    """NAK every lost transmission at once; wait ``rto`` (doubling on repeats) for the repair."""

    __slots__ = ("_ops_for", "_pending", "_send_nak", "_timers", "_wait")

    def __init__(self, timers: TimerQueue, wait: float, send_nak: SendNak, ops_for: OpsFor) -> None:
        self._timers = timers
        self._wait = wait
        self._send_nak = send_nak
        self._ops_for = ops_for
        self._pending: dict[int, _Wait] = {}

    def __contains__(self, seq: int) -> bool:
        return seq in self._pending

    def __len__(self) -> int:
        return len(self._pending)

    def start(self, seq: int, now: float, rnd: int = 1) -> None:
        """Transmission ``rnd`` of ``seq`` was lost: NAK it now."""
        if seq in self._pending:
            return
        state = self._pending[seq] = _Wait(rnd, Timer(partial(self._on_expired, seq)))
        self._nak(seq, state, now)

    def arrived(self, seq: int) -> None:
        """``seq`` arrived: its wait ends (one timer processed)."""
        state = self._pending.pop(seq, None)
        if state is not None:
            self._timers.disarm(state.timer)
            self._ops_for(seq)["Y_t"] += 1

    def _nak(self, seq: int, state: _Wait, now: float) -> None:
        self._ops_for(seq)["Y_n"] += 1
        self._send_nak(seq, state.round, now)
        level = min(state.round - 1, MAX_BACKOFF_LEVEL)
        self._timers.arm(state.timer, now + self._wait * (1 << level))

    def _on_expired(self, seq: int, now: float) -> None:
        state = self._pending.get(seq)
        if state is None:
            return
        self._ops_for(seq)["Y_t"] += 1
        state.round += 1
        self._nak(seq, state, now)


class NakAvoidance:
    """SRM-style NAK suppression: random back-off scaled by the distance to the repairer."""

    __slots__ = ("_c1", "_c2", "_distance", "_ops_for", "_pending", "_rng", "_scale", "_send_nak", "_timers", "group")

    def __init__(
        self,
        timers: TimerQueue,
        rng: random.Random,
        config: ClassConfig,
        distance: Callable[[], float],
        send_nak: SendNak,
        ops_for: OpsFor,
    ) -> None:
        self._timers = timers
        self._rng = rng
        self._c1 = config.c1
        self._c2 = config.c2
        self._scale = config.scale_c2
        self._distance = distance
        self.group = 1
        """G, the receivers that may NAK the same loss (c2 is scaled by √G if configured)."""
        self._send_nak = send_nak
        self._ops_for = ops_for
        self._pending: dict[int, _Wait] = {}

    def __contains__(self, seq: int) -> bool:
        return seq in self._pending

    def __len__(self) -> int:
        return len(self._pending)

    def start(self, seq: int, now: float) -> None:
        """The first transmission of ``seq`` was lost: start its request timer."""
        if seq in self._pending:
            return
        state = self._pending[seq] = _Wait(1, Timer(partial(self._on_fired, seq)))
        self._timers.arm(state.timer, now + self._backoff(0))

    def heard(self, seq: int, rnd: int, now: float) -> None:
        """Another receiver NAKed transmission ``rnd`` of ``seq``: suppress ours for that round."""
        state = self._pending.get(seq)
        if state is None or rnd < state.round:
            return
        self._ops_for(seq)["Y_t"] += 1  # this round's timer ends, cancelled
        state.round = rnd + 1
        self._timers.arm(state.timer, now + self._backoff(rnd))

    def arrived(self, seq: int) -> None:
        """``seq`` arrived: stop its timer (the round it waited for was not missed)."""
        state = self._pending.pop(seq, None)
        if state is not None:
            self._timers.disarm(state.timer)

    def _on_fired(self, seq: int, now: float) -> None:
        state = self._pending.get(seq)
        if state is None:
            return
        ops = self._ops_for(seq)
        ops["Y_t"] += 1
        ops["Y_n"] += 1
        self._send_nak(seq, state.round, now)
        state.round += 1
        self._timers.arm(state.timer, now + self._backoff(state.round - 1))

    def _backoff(self, level: int) -> float:
        c2 = self._c2 * math.sqrt(self.group) if self._scale else self._c2
        return (self._c1 + self._rng.random() * c2) * self._distance() * (1 << min(level, MAX_BACKOFF_LEVEL))
