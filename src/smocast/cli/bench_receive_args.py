"""The parsers of ``smocast bench receive``, ``bench offload`` and ``bench sendmmsg`` (light:
``bench_cmd`` imports this module to build its parser; the benchmarks load only when run)."""

from __future__ import annotations

import argparse
from typing import Any

from smocast.cli.common import (
    EXIT_USAGE,
    HelpFormatter,
    check_baseline_src,
    fail,
    int_list,
    positive_int,
    print_json,
    size_arg,
)

RECEIVE_DESCRIPTION = """\
The receivers' CPU per delivered megabyte on loopback: one `smocast send` of a --size file to
N `smocast recv` processes, for each N in --receivers, --repeat times. Each process's CPU (user
+ system) is read when it exits; a receiver's fixed cost (start-up, handshake, linger) is
measured in the same run with a 1 KiB file and subtracted. Reports medians per N: receiver CPU
per MB and per 1400-byte datagram, the sender's CPU per MB, the wall time. With --baseline-src
(the src folder of another checkout) every transfer also runs with that tree, interleaved, and
the ratio is reported. With --calls, one receiver per tree also runs under cProfile: Python
calls per delivered datagram and the functions called most. Both sides run with --insecure
unless --secure is given (then with a key made for the run, pinned by the receivers).

examples:
  smocast bench receive --receivers 1,4 --size 50M --repeat 3
  smocast bench receive --receivers 1 --size 20M --secure --calls
  smocast bench receive --receivers 1,4 --size 50M --baseline-src ../before/src --calls --json
"""


OFFLOAD_DESCRIPTION = """\
What the kernel does with UDP GSO and GRO for multicast: a burst of --count datagrams of --size
bytes sent to a group as one GSO sendmsg, then as one sendto each, to two receivers with UDP_GRO
off, then on. Reports whether the kernel took the GSO send, and per receiver the datagrams read
and the messages (recvmmsg entries) they came in: fewer messages than datagrams means they
arrived coalesced. On loopback, or with --testbed (root) across the namespace testbed's veth
pairs and bridge (sender host 0, receivers hosts 1 and 2; --rate shapes the sender with tbf).

examples:
  smocast bench offload
  smocast bench offload --testbed --prefix bof
  smocast bench offload --testbed --rate 100mbit --count 40
  smocast bench offload --testbed --veth-gro      # GRO on the receivers' veths too (needs ethtool)
"""


SENDMMSG_DESCRIPTION = """\
The sender's CPU per datagram on loopback when a batch of N datagrams goes to 8 receivers
(round robin, as unicast repairs to several receivers do): one sendmmsg call (as the runtime
sends such batches) against one sendto each. The same datagrams and sockets, alternating,
--repeat rounds of 500 batches; the receivers never read (the kernel drops at a full buffer),
so only the sender's work is counted, its system time included. Reports the medians and
their ratio for each N in --counts.

examples:
  smocast bench sendmmsg
  smocast bench sendmmsg --counts 2,4,8,16,64 --repeat 15
"""


CORE_DESCRIPTION = """\
The receiver core's cost per datagram on a lossy stream, without sockets: a seeded stream of
--datagrams 1400-byte DATA segments, --loss of them missing and repaired --repair-after batches
later (about a round trip of data), read in batches of --batch as the runtime reads them, through
the sans-IO receiver, each batch followed by its ACKs and events. For each loss rate, --repeat
runs in a fresh process; reports the median microseconds per datagram. With --baseline-src (the
src folder of another checkout) the same replay runs with that tree, alternating, and the ratio
is reported; with --calls, Python calls per datagram (one more run under cProfile); with
--allocations, the interpreter's object allocations per datagram during the replay alone (one
more run per tree, never timed: perf stat counts a uprobe on PyObject_Malloc, so it needs root
and perf with uprobes, Debian: apt install linux-perf).

examples:
  smocast bench receive-core
  smocast bench receive-core --loss 0,0.02,0.05 --calls --baseline-src ../before/src --json
  smocast bench receive-core --loss 0,0.02 --calls --allocations --baseline-src ../before/src --json
"""


def register(group: Any) -> None:
    _register_offload(group)
    _register_sendmmsg(group)
    _register_core(group)
    p: argparse.ArgumentParser = group.add_parser(
        "receive",
        help="receivers' CPU per delivered MB on loopback (and Python calls per datagram)",
        description=RECEIVE_DESCRIPTION,
        formatter_class=HelpFormatter,
    )
    p.add_argument("--receivers", type=int_list, default="1,4", metavar="N,...", help="receiver processes per transfer")
    p.add_argument("--size", type=size_arg, default="50M", help="file size")
    p.add_argument("--repeat", type=positive_int, default=3, help="runs of each transfer; the medians are reported")
    p.add_argument("--baseline-src", default=None, metavar="DIR", help="the src folder of another checkout")
    p.add_argument("--calls", action="store_true", help="also count Python calls per datagram under cProfile")
    p.add_argument("--secure", action="store_true", help="run the secure mode (default: --insecure on both sides)")
    p.add_argument("--json", action="store_true", help="accepted for symmetry; output is always JSON")
    p.set_defaults(handler=_run_receive)


def _run_receive(args: argparse.Namespace) -> int:
    from smocast.bench.receive import ReceiveSettings, run  # noqa: PLC0415  (benchmarks load only when asked for)

    check_baseline_src(args.baseline_src)
    try:
        settings = ReceiveSettings(
            args.receivers, int(args.size), args.repeat, args.baseline_src, args.calls, args.secure
        )
    except ValueError as exc:
        fail(str(exc), EXIT_USAGE)
    try:
        print_json(run(settings))
    except (RuntimeError, OSError) as exc:
        fail(f"bench receive: {exc}")
    return 0


def _register_offload(group: Any) -> None:
    p: argparse.ArgumentParser = group.add_parser(
        "offload",
        help="does the kernel apply UDP GSO/GRO to multicast here (loopback, testbed)",
        description=OFFLOAD_DESCRIPTION,
        formatter_class=HelpFormatter,
    )
    p.add_argument("--count", type=positive_int, default=32, help="datagrams in the burst")
    p.add_argument("--size", type=size_arg, default="1400", help="bytes per datagram")
    p.add_argument("--testbed", action="store_true", help="across the namespace testbed (root) instead of loopback")
    p.add_argument("--prefix", default="bof", help="testbed prefix with --testbed")
    p.add_argument("--rate", default=None, help="with --testbed: shape the sender's egress (tc tbf), e.g. 100mbit")
    p.add_argument(
        "--veth-gro",
        action="store_true",
        help="with --testbed: GRO on the receivers' own veths (NAPI, as a NIC's), TSO off on their bridge ports; "
        "needs ethtool",
    )
    p.add_argument("--json", action="store_true", help="accepted for symmetry; output is always JSON")
    p.set_defaults(handler=_run_offload)


def _run_offload(args: argparse.Namespace) -> int:
    from smocast.bench.offload import run  # noqa: PLC0415

    if int(args.count) * int(args.size) > 65000:
        fail("--count x --size: at most 65,000 bytes fit one GSO send", EXIT_USAGE)
    if args.veth_gro and not args.testbed:
        fail("--veth-gro needs --testbed: loopback has no veth", EXIT_USAGE)
    try:
        if not args.testbed:
            print_json(run(None, args.count, int(args.size)))
            return 0
        from smocast.testbed import Testbed  # noqa: PLC0415

        with Testbed(args.prefix).running(hosts=3, rate=args.rate) as testbed:
            print_json(run(testbed, args.count, int(args.size), veth_gro=args.veth_gro))
    except (RuntimeError, OSError, ValueError) as exc:
        fail(f"bench offload: {exc}")
    return 0


def _register_sendmmsg(group: Any) -> None:
    p: argparse.ArgumentParser = group.add_parser(
        "sendmmsg",
        help="sender's CPU per datagram: one sendmmsg per batch against one sendto each (loopback)",
        description=SENDMMSG_DESCRIPTION,
        formatter_class=HelpFormatter,
    )
    p.add_argument("--counts", type=int_list, default="2,4,8,16,64", metavar="N,...", help="datagrams per batch")
    p.add_argument("--size", type=size_arg, default="1400", help="bytes per datagram")
    p.add_argument("--repeat", type=positive_int, default=9, help="rounds; the medians are reported")
    p.add_argument("--json", action="store_true", help="accepted for symmetry; output is always JSON")
    p.set_defaults(handler=_run_sendmmsg)


def _run_sendmmsg(args: argparse.Namespace) -> int:
    from smocast.bench.sendmmsg import run  # noqa: PLC0415

    if any(n < 1 or n > 64 for n in args.counts) or not 1 <= int(args.size) <= 65000:
        fail("--counts: 1 to 64 datagrams per batch; --size: 1 to 65,000 bytes", EXIT_USAGE)
    try:
        print_json(run(args.counts, int(args.size), args.repeat))
    except OSError as exc:
        fail(f"bench sendmmsg: {exc}")
    return 0


def _loss_list(text: str) -> list[float]:
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected loss rates like 0,0.02, got {text!r}") from None
    if not values or any(not 0 <= v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"loss rates must lie in [0, 1), got {text!r}")
    return values


def _register_core(group: Any) -> None:
    p: argparse.ArgumentParser = group.add_parser(
        "receive-core",
        help="the receiver core's microseconds per datagram on a replayed lossy stream (no sockets)",
        description=CORE_DESCRIPTION,
        formatter_class=HelpFormatter,
    )
    p.add_argument("--loss", type=_loss_list, default="0,0.02", metavar="P,...", help="loss rates to replay")
    p.add_argument("--datagrams", type=positive_int, default=20000, help="DATA segments in the stream")
    p.add_argument("--batch", type=positive_int, default=16, help="datagrams per read")
    p.add_argument("--repair-after", type=positive_int, default=4, help="batches between a loss and its repair")
    p.add_argument("--repeat", type=positive_int, default=5, help="runs per loss rate and tree; medians reported")
    p.add_argument("--baseline-src", default=None, metavar="DIR", help="the src folder of another checkout")
    p.add_argument("--calls", action="store_true", help="also count Python calls per datagram under cProfile")
    p.add_argument(
        "--allocations", action="store_true", help="also count allocations per datagram (root, perf with uprobes)"
    )
    p.add_argument("--json", action="store_true", help="accepted for symmetry; output is always JSON")
    p.set_defaults(handler=_run_core)


def _run_core(args: argparse.Namespace) -> int:
    from smocast.bench.receive_core import CoreSettings, run  # noqa: PLC0415  (benchmarks load only when asked for)

    check_baseline_src(args.baseline_src)
    settings = CoreSettings(
        args.loss,
        args.datagrams,
        args.batch,
        args.repair_after,
        args.repeat,
        args.baseline_src,
        args.calls,
        allocations=args.allocations,
    )
    try:
        print_json(run(settings))
    except (RuntimeError, OSError) as exc:
        fail(f"bench receive-core: {exc}")
    return 0
