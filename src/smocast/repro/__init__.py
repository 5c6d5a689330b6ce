"""Reproducing the two papers: one result per figure, table or claim, the paper's value beside ours.

``RESULTS`` lists every result in the order of ``smocast repro --list`` and of
``docs/reproduction.md``. Each is a :class:`~smocast.repro.base.Result`: its runs at the default
(reduced) size or at the paper's size, how they become rows of the paper's value, ours, and the
ratio or pass/fail, and how to plot them in the paper's axes. :func:`run_results` runs them.
"""

from __future__ import annotations

from smocast.repro.base import Outcome, Result, Row
from smocast.repro.registry import RESULTS, find, names
from smocast.repro.runner import run_results

__all__ = ["RESULTS", "Outcome", "Result", "Row", "find", "names", "run_results"]
