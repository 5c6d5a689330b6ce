"""The settings of the protocol-class endpoints: one frozen record shared by all six classes."""

from __future__ import annotations

from dataclasses import dataclass, fields

from smocast.core.errors import ConfigError

MAX_BACKOFF_LEVEL = 6
"""NAK-avoidance backoff doubles per round (SRM); it stops doubling after this many rounds."""


@dataclass(frozen=True, slots=True)
class ClassConfig:
    """Timers, buffers and group shape. Times are seconds; sizes are packets.

    interval        the source sends a new packet at most this often (pacing; 0: as fast as allowed)
    buffer          packets the source keeps for retransmission; None: unbounded. The ACK-based
                    classes stop taking packets from the application while it is full; N1 and N2
                    have no release rule, so they evict the oldest (Levine's Theorem 2)
    rto             retransmission timeout of a sender or parent (A, H1), and how long an N1 or
                    ring receiver waits for a repair before it NAKs again
    heartbeat       idle time after the last new packet before the source repeats a session
                    heartbeat (the highest sequence number); it doubles up to heartbeat_max
    c1, c2          SRM's request-timer constants: a NAK waits uniform [c1·d, (c1+c2)·d], d being
                    the one-way distance to the repairer; the interval doubles each round
    scale_c2        multiply c2 by √G, G the receivers that may NAK the same loss (the whole group
                    in N2, the B siblings in H2). With receivers at equal distances only the random
                    part of the timer separates them, and a fixed c2 suppresses almost nothing
                    once many receivers miss the same packet (see docs/classes.md)
    initial_distance  the distance d assumed until a session message or poll measured it
    session_interval  N2: the source's session messages (round-trip measurement) at most this far apart
    poll_every      H2: a parent polls its local group once per this many packets
    poll_idle       H2: a parent with unreleased packets polls after this much silence
    aggregate_delay H1: a leader whose aggregate ACK advanced reports it alone after this much silence
    branching       B, the children of each parent in the trees H1 and H2
    """

    interval: float = 0.001
    buffer: int | None = 256
    rto: float = 0.05
    heartbeat: float = 0.05
    heartbeat_max: float = 1.0
    c1: float = 2.0
    c2: float = 2.0
    scale_c2: bool = True
    initial_distance: float = 0.01
    session_interval: float = 0.5
    poll_every: int = 10
    poll_idle: float = 0.05
    aggregate_delay: float = 0.05
    branching: int = 10

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if (f.name == "buffer" and value is None) or f.name == "scale_c2":
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError(f"{f.name} must be a number, got {value!r}")
            if f.name in ("buffer", "poll_every", "branching"):
                if not isinstance(value, int) or value < 1:
                    raise ConfigError(f"{f.name} must be a whole number >= 1, got {value!r}")
            elif f.name in ("interval", "c1"):
                if not value >= 0:
                    raise ConfigError(f"{f.name} must be >= 0, got {value!r}")
            elif not value > 0:
                raise ConfigError(f"{f.name} must be > 0, got {value!r}")
        if self.heartbeat_max < self.heartbeat:
            raise ConfigError("heartbeat_max must be at least heartbeat")
