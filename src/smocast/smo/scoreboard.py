"""The SACK scoreboard: what a receiver reported holding above its cumulative ACK (RFC 2018)."""

from __future__ import annotations

from smocast.core.ranges import RangeSet
from smocast.smo.reassembly import MAX_HELD_RANGES


def record_sack(sacked: RangeSet, blocks: tuple[tuple[int, int], ...], una: int, snd_nxt: int) -> int:
    """Record in ``sacked`` the SACK blocks that lie in ``[una, snd_nxt)``; return how many bytes were new.

    The scoreboard keeps at most as many separate ranges as a receiver holds
    (:data:`~smocast.smo.reassembly.MAX_HELD_RANGES`): a block that would add one more is
    ignored, so a receiver that splits it byte by byte bounds both its size and the work of
    every later ACK. SACK is advisory; the block's bytes are repaired if need be.
    """
    added = 0
    for block_start, block_end in blocks:
        start = max(block_start, una)
        end = min(block_end, snd_nxt)
        if start < end and (len(sacked) < MAX_HELD_RANGES or sacked.overlaps(start - 1, end + 1)):
            added += sacked.add(start, end)
    return added
