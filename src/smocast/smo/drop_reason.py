"""Why a source drops a receiver: named by the source's events, the child's outcomes and the
channel's rules, in a module of its own so that none of them imports the receiver's events
(``smocast.smo.events.DropReason`` still works: that module loads this one on first use)."""

from __future__ import annotations

from enum import StrEnum


class DropReason(StrEnum):
    """Why the source dis-associated a receiver."""

    RTT_EXCESSIVE = "rtt-excessive"
    CWND_FLOOR = "cwnd-below-floor"
    NO_PROGRESS = "no-progress"
    TOO_SLOW = "too-slow"
    FELL_BEHIND = "fell-behind-buffer"
    HANDSHAKE_TIMEOUT = "handshake-timeout"
    REFUSED = "late-join-refused"
    APPLICATION = "application"
    MESSAGE_TOO_LARGE = "message-too-large"
    UNREACHABLE = "unreachable"  # ICMP port unreachable, then no ACK for a few round trips
