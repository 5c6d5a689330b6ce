"""Memory growth during an attack, measured with :mod:`tracemalloc`.

Only what is allocated after :meth:`Growth.__enter__` is traced, so the growth is what the
attack made the endpoints keep (plus the harness's bounded bookkeeping).
"""

from __future__ import annotations

import gc
import tracemalloc

MIB = 1 << 20


class Growth:
    """``with Growth() as growth: ...; growth.sample()``: bytes still allocated since entry."""

    def __init__(self) -> None:
        self.peak_sampled = 0

    def __enter__(self) -> Growth:
        gc.collect()
        tracemalloc.start()
        return self

    def __exit__(self, *exc: object) -> None:
        tracemalloc.stop()
        print(f"largest growth sampled: {mib(self.peak_sampled)}")  # shown by pytest -rP

    def sample(self) -> int:
        """Bytes allocated since entry and still alive now; also tracks the largest sample."""
        current = tracemalloc.get_traced_memory()[0]
        self.peak_sampled = max(self.peak_sampled, current)
        return current


def mib(nbytes: float) -> str:
    return f"{nbytes / MIB:.1f} MiB"
