"""The parsers of ``smocast bench files``, ``resume`` and ``rate`` (issue 13's measurements).

Light on purpose (``bench_cmd`` imports it to build its parser); the benchmarks run in
:mod:`smocast.bench.deploy`.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from smocast.cli.common import HelpFormatter, fail, positive_int, print_json, size_arg

FILES_DESCRIPTION = """\
Per-file overhead of a transfer of many files: `smocast send` of a tree of --files files of
--size bytes each to one `smocast recv`, against one file of the same total size, in the same
run, --repeat times each (interleaved). Reports the receive times (medians), the overhead per
file ((tree - single) / files), the manifest's bytes per file, and the source's time to walk
and hash the tree. On loopback, or with --testbed on the namespace testbed (root).

examples:
  smocast bench files --files 10000 --size 1K --repeat 3
  smocast bench files --files 1000 --testbed
"""

RESUME_DESCRIPTION = """\
Resume after a restart: a receiver of a --size file sent at --rate is killed (SIGKILL) once
half the file is in and started again at once. Reports the time from the restart to the
verified file and to its first byte, the time the remaining bytes take at the cap, and an
uninterrupted receive in the same run (medians of --repeat). The killed connection holds the
others back until the source drops it after --progress-timeout.

examples:
  smocast bench resume --size 100M --rate 200mbit --repeat 3
  smocast bench resume --testbed --size 64M --rate 100mbit
"""

RATE_DESCRIPTION = """\
Goodput against the rate cap: `smocast send --rate CAP` of a --size file to --receivers
receivers, for each cap, and uncapped in the same run (medians of --repeat), with the
ratio of goodput to cap (file bytes over the time; the cap counts headers too).

examples:
  smocast bench rate --rates 10mbit,50mbit,100mbit --size 20M
  smocast bench rate --testbed --receivers 2 --rates 20mbit,50mbit
"""


def register(group: Any) -> None:
    files = _add(group, "files", "per-file overhead of a tree of small files (loopback or testbed)", FILES_DESCRIPTION)
    files.add_argument("--files", type=positive_int, default=10_000, help="files in the tree")
    files.add_argument("--size", type=size_arg, default="1K", help="bytes per file")
    files.set_defaults(handler=_run("files", lambda a, p: {"count": a.files, "size": int(a.size)}))
    res = _add(group, "resume", "time to resume after a receiver is killed half way", RESUME_DESCRIPTION)
    res.add_argument("--size", type=size_arg, default="100M", help="file size")
    res.add_argument("--rate", default="200mbit", help="the sender's rate cap")
    res.add_argument("--progress-timeout", default="2s", help="the sender's --progress-timeout")
    res.set_defaults(
        handler=_run(
            "resume", lambda a, p: {"size": int(a.size), "rate": a.rate, "progress_timeout": a.progress_timeout}
        )
    )
    rate = _add(group, "rate", "goodput against send --rate caps", RATE_DESCRIPTION)
    rate.add_argument("--rates", default="10mbit,50mbit,100mbit", help="caps to measure, comma-separated")
    rate.add_argument("--size", type=size_arg, default="20M", help="file size")
    rate.add_argument("--receivers", type=positive_int, default=1, help="receivers (testbed: one host each)")
    rate.set_defaults(
        handler=_run("rate", lambda a, p: {"caps": a.rates.split(","), "size": int(a.size), "receivers": a.receivers})
    )


def _add(group: Any, name: str, summary: str, description: str) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = group.add_parser(
        name, help=summary, description=description, formatter_class=HelpFormatter
    )
    p.add_argument("--repeat", type=positive_int, default=3, help="runs; the medians are reported")
    p.add_argument("--testbed", action="store_true", help="run on the namespace testbed (root) instead of loopback")
    p.add_argument("--prefix", default="bdp", help="testbed prefix with --testbed")
    p.add_argument("--json", action="store_true", help="accepted for symmetry; output is always JSON")
    return p


def _run(
    name: str, settings: Callable[[argparse.Namespace, Any], dict[str, Any]]
) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        from smocast.bench import deploy  # noqa: PLC0415  (benchmarks load only when asked for)

        with _place(args) as place:
            try:
                print_json(getattr(deploy, name)(place, **settings(args, place), repeat=args.repeat))
            except (RuntimeError, OSError) as exc:
                fail(f"bench {name}: {exc}")
        return 0

    return handler


@contextlib.contextmanager
def _place(args: argparse.Namespace) -> Iterator[Any]:
    from smocast.bench.deploy import Place  # noqa: PLC0415

    if not args.testbed:
        yield Place()
        return
    from smocast.testbed import Testbed  # noqa: PLC0415

    receivers = getattr(args, "receivers", 1)
    with Testbed(args.prefix).running(hosts=1 + max(1, receivers)) as tb:
        yield Place(tb)
