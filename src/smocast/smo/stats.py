"""Counters of what a channel did: the channel alone writes them; read them at any time."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class ChannelStats:
    """Counters of what the channel did; read them at any time.

    Attempts that leave no state are counted here and only here (never one event or record
    each): ``retries`` SYNs without a valid cookie answered with a RETRY, ``refused`` SYNs
    with a valid cookie refused (late join, resume impossible), ``unknown_resets`` RSTs sent
    to packets of unknown connections.
    """

    original_segments: int = 0
    repair_unicast: int = 0
    repair_multicast: int = 0
    acks_processed: int = 0
    malformed: int = 0
    foreign: int = 0
    bytes_original: int = 0
    bytes_repair: int = 0
    retries: int = 0
    refused: int = 0
    unknown_resets: int = 0
    catch_up_pieces: int = 0  # unicast repairs sent from history (also counted in repair_unicast)
    catch_up_bytes: int = 0
    catch_up_holds: int = 0  # times the rate cap held a receiver's catch-up until the pacer had room

    def catch_up(self) -> dict[str, int]:
        """What receivers that resumed below the send buffer were sent from history, and how
        often the rate cap held it back (for reports)."""
        return {"pieces": self.catch_up_pieces, "bytes": self.catch_up_bytes, "holds": self.catch_up_holds}
