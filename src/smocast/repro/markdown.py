"""``docs/reproduction.md``: the outcomes of ``smocast repro all`` as one document.

What a test compares: everything except the blocks between ``NOT_COMPARED_BEGIN`` and
``NOT_COMPARED_END``, which hold wall-clock times and real-network measurements. Seeded
simulations and the model must render exactly the same text from the same code.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from smocast.repro.base import Outcome, Row
from smocast.repro.calibration import CALIBRATION
from smocast.repro.registry import RESULTS

NOT_COMPARED_BEGIN = "<!-- not compared: begin -->"
NOT_COMPARED_END = "<!-- not compared: end -->"
IMAGE_DIR = "img/repro"
COMMAND = "smocast repro all --jobs 2 --markdown --plot docs/img/repro > docs/reproduction.md"

INTRO = """\
# Reproducing the two papers

Every figure, table and claim of Liang and Cheriton's TCP-SMO paper and of Levine and
Garcia-Luna-Aceves's comparison of reliable multicast classes, with the paper's value (or
bound) beside ours. This page is generated; do not edit it by hand:

```
{command}
```

`smocast repro --list` names every result, `smocast repro NAME` runs one, `--full` runs it at
the paper's size, `--json` prints everything measured, and `--plot DIR` draws each figure in
the paper's axes; `--with-full docs/data/repro-full.json` adds the outcomes of an earlier
`smocast repro all --full --json` run. `tests/repro/test_reproduction_doc.py` reruns the default sizes and fails
when this page no longer matches what the code produces: exactly for the model and the seeded
simulations; the blocks marked "not compared" (times, real-network runs) are left out.

How to read a row: **paper** is the paper's number, or the bound or claim its text makes
(many of its plotted values did not survive the extraction of its text); **ours** is what
smocast gives; the verdict is ours/paper (`x1.00` is equal) or whether the bound holds.
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _table(rows: Sequence[Row]) -> list[str]:
    out = ["| point | paper | ours | verdict |", "|---|---|---|---|"]
    out += [f"| {_cell(r.point)} | {_cell(r.paper)} | {_cell(r.ours)} | {_cell(r.verdict)} |" for r in rows]
    return out


def _agreement(outcome: Outcome) -> str:
    if outcome.skipped:
        return f"skipped: {outcome.skipped}"
    judged = [r for r in outcome.rows if r.passed is not None]
    ratios = [r.ratio for r in outcome.rows if r.ratio is not None and r.passed is None]
    parts = []
    if judged:
        parts.append(f"{sum(1 for r in judged if r.passed)}/{len(judged)} pass")
    if ratios:
        low, high = min(ratios), max(ratios)
        parts.append(f"ratio x{low:.2f}" if f"{low:.2f}" == f"{high:.2f}" else f"ratios x{low:.2f}-x{high:.2f}")
    return ", ".join(parts) or "shown, not judged"


def _section(outcome: Outcome, plotted: bool) -> list[str]:
    result = next(r for r in RESULTS if r.name == outcome.name)
    lines = [
        f'<a id="{outcome.name}"></a>',
        "",
        f"## `{outcome.name}`: {outcome.title}",
        "",
        f"*{outcome.source}*, {outcome.kind}. `smocast repro {outcome.name}` runs: {outcome.setting}.",
    ]
    if result.full_size:
        lines[-1] += f" `--full`: {result.full_size}."
    lines.append("")
    if outcome.skipped:
        lines += [f"Skipped: {outcome.skipped}.", ""]
    else:
        lines += [*_table(outcome.rows), ""]
    for note in outcome.notes:
        lines += [note, ""]
    if plotted and result.plot is not None and not outcome.skipped:
        lines += [f"![{outcome.name}]({IMAGE_DIR}/{outcome.name}.png)", ""]
    if outcome.deterministic:
        return lines
    return [NOT_COMPARED_BEGIN, "", *lines, NOT_COMPARED_END, ""]


def _summary(outcomes: Sequence[Outcome]) -> list[str]:
    lines = ["## Summary", "", "| result | what the paper reports | kind | agreement |", "|---|---|---|---|"]
    for outcome in outcomes:
        result = next(r for r in RESULTS if r.name == outcome.name)
        agreement = _agreement(outcome)
        if not outcome.deterministic:
            agreement = "see its section (measured)"
        lines.append(f"| [`{outcome.name}`](#{outcome.name}) | {_cell(result.title)} | {outcome.kind} | {agreement} |")
    return [*lines, ""]


def _times(outcomes: Sequence[Outcome], full: dict[str, Any] | None, run: dict[str, Any] | None) -> list[str]:
    lines = [
        NOT_COMPARED_BEGIN,
        "",
        "## Times",
        "",
        "Seconds each result's runs took (the sum over its runs, each timed on its own; with `--jobs 2` two run "
        "at once). These were measured on the shared 2-core machine while other work ran on it; the load "
        "average says how busy it was.",
        "",
        "| result | default size (s) | paper's size, `--full` (s) |",
        "|---|---:|---:|",
    ]
    full_times = {o["name"]: o["wall_time_s"] for o in (full or {}).get("results", [])}
    for outcome in outcomes:
        done = full_times.get(outcome.name)
        lines.append(f"| `{outcome.name}` | {outcome.wall_time_s:.1f} | {'-' if done is None else f'{done:.0f}'} |")
    lines.append("")
    for label, info in (("`smocast repro all`", run), ("`smocast repro all --full`", full)):
        if info and info.get("wall_time_s") is not None:
            lines.append(
                f"- {label} with `--jobs {info.get('jobs', 1)}`: {info['wall_time_s'] / 60:.1f} minutes of wall time, "
                f"load average {info.get('load_average', 0):.1f} at the end."
            )
    if not full:
        lines.append(
            "- `smocast repro all --full` has not been run to completion for this page: the largest runs (36 MB to "
            "1200 and 1500 receivers) take hours on this machine. Its outcomes and times join the page with "
            "`--with-full FILE.json`, the output of `smocast repro all --full --json`."
        )
    return [*lines, "", NOT_COMPARED_END, ""]


def _full_section(full: dict[str, Any]) -> list[str]:
    lines = [
        NOT_COMPARED_BEGIN,
        "",
        "## At the paper's size",
        "",
        "From `smocast repro all --full --json > docs/data/repro-full.json`, run once and committed; "
        "not rerun by the test (it takes hours).",
        "",
    ]
    for outcome in full["results"]:
        lines += [f"### `{outcome['name']}` (`--full`): {outcome['setting']}", ""]
        rows = [Row(r["point"], r["paper"], r["ours"], r["verdict"]) for r in outcome["rows"]]
        lines += [*_table(rows), ""] if rows else [f"Skipped: {outcome.get('skipped')}", ""]
    return [*lines, NOT_COMPARED_END, ""]


def render(
    outcomes: Sequence[Outcome],
    *,
    plotted: bool = True,
    full: dict[str, Any] | None = None,
    run: dict[str, Any] | None = None,
) -> str:
    """The whole document. ``full`` is the JSON of an earlier ``--full --json`` run; ``run`` says how this
    run went (``wall_time_s``, ``jobs``, ``load_average``), for the times, which are not compared."""
    lines = [INTRO.format(command=COMMAND), *_summary(outcomes), *CALIBRATION.splitlines(), ""]
    for outcome in outcomes:
        lines += _section(outcome, plotted)
    if full:
        lines += _full_section(full)
    lines += _times(outcomes, full, run)
    return "\n".join(lines).rstrip("\n") + "\n"


def compared_part(text: str) -> str:
    """``text`` without its not-compared blocks: what the document test compares."""
    pattern = re.escape(NOT_COMPARED_BEGIN) + r".*?" + re.escape(NOT_COMPARED_END)
    return re.sub(pattern, "", text, flags=re.DOTALL)
