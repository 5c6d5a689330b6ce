"""How long a receiver lets its source stay silent before it gives up on it.

The source heartbeats when it has nothing to send (its SYN-ACK says how often); a receiver
that hears nothing for a few heartbeats, or for the ``source_timeout`` its application set,
leaves with a reason that says how long it really waited.
"""

from __future__ import annotations

from smocast.smo.receiver_config import ReceiverConfig

MIN_SILENCE = 1.0  # seconds of silence a receiver always allows its source, whatever its heartbeat


class SilenceWatch:
    """When the source was last heard from, and when its silence becomes too long."""

    __slots__ = ("_config", "heartbeat", "last_heard")

    def __init__(self, config: ReceiverConfig) -> None:
        self._config = config
        self.last_heard: float | None = None  # when the source was last heard from (read-only)
        self.heartbeat: float | None = None  # how often the source heartbeats, once known (read-only)

    def heard(self, now: float) -> None:
        """Anything arrived from the channel at ``now``."""
        self.last_heard = now

    def learn_heartbeat(self, interval: float | None) -> None:
        """The source's SYN-ACK announced its heartbeat ``interval`` (None: it sends none)."""
        self.heartbeat = interval

    def due(self) -> float | None:
        """When the silence becomes too long, or None when no limit applies; the receiver asks
        only while established and must give up (:meth:`reason`) once ``now`` reaches it."""
        allowed = self.allowed()
        if allowed is None or self.last_heard is None:
            return None
        return self.last_heard + allowed

    def allowed(self) -> float | None:
        """How long the source may stay silent: ``source_timeout``, else a few of its heartbeats."""
        cfg = self._config
        if cfg.source_timeout is not None:
            return cfg.source_timeout
        if cfg.silent_heartbeats is None or self.heartbeat is None:
            return None
        return max(cfg.silent_heartbeats * self.heartbeat, MIN_SILENCE)

    def reason(self, now: float) -> str:
        """Why the receiver leaves at ``now``: how long it heard nothing (the timer may fire late)."""
        assert self.last_heard is not None
        text = f"nothing heard from the source for {now - self.last_heard:.1f} s"
        if self._config.source_timeout is None and self.heartbeat is not None:
            text += f" (it sends a heartbeat every {self.heartbeat:g} s)"
        return text
