"""docs/reproduction.md must be what `smocast repro all --markdown` produces today.

This reruns every result at its default size (about 2.5 CPU-minutes: 1.5 minutes on two quiet
cores; the timeout allows for a busy shared machine) and compares the page with the committed
one, leaving out the blocks marked "not compared" (times and real-network runs). Seeded
simulations and the model must match exactly.
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path

import pytest

from smocast.repro import RESULTS, run_results
from smocast.repro.markdown import compared_part, render

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "reproduction.md"
FULL = ROOT / "docs" / "data" / "repro-full.json"
REGENERATE = "smocast repro all --jobs 2 --markdown --plot docs/img/repro > docs/reproduction.md"


@pytest.mark.timeout(1200)
def test_the_committed_reproduction_page_is_what_the_code_produces() -> None:
    outcomes = run_results(RESULTS, full=False, jobs=2, real_network=False)
    full = json.loads(FULL.read_text()) if FULL.exists() else None
    produced = compared_part(render(outcomes, plotted=True, full=full))
    committed = compared_part(PAGE.read_text())
    if produced != committed:
        diff = "\n".join(
            difflib.unified_diff(
                committed.splitlines(), produced.splitlines(), "docs/reproduction.md", "the code today", lineterm=""
            )
        )
        raise AssertionError(
            f"docs/reproduction.md is stale; regenerate it with `{REGENERATE}` (add --with-full when "
            f"{FULL.relative_to(ROOT)} exists):\n{diff[:20000]}"
        )
