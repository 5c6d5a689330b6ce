"""``smocast bench ...``: speed and scale measurements that print JSON (not tests)."""

from __future__ import annotations

import argparse
from typing import Any

from smocast.cli import bench_secure_cmd
from smocast.cli.bench_ack_server_args import register as register_ack_server
from smocast.cli.bench_congestion_args import register as register_congestion
from smocast.cli.bench_deploy_args import register as register_deploy
from smocast.cli.bench_peers_args import register as register_peers
from smocast.cli.bench_receive_args import register as register_receive
from smocast.cli.common import (
    EXIT_USAGE,
    HelpFormatter,
    check_baseline_src,
    duration_arg,
    fail,
    int_list,
    positive_int,
    print_json,
    probability,
    rate_arg,
    show_help,
    size_arg,
)

DESCRIPTION = """\
Benchmarks: measurements of speed and scale, printed as JSON. They are not tests; the
figures and the commands that produced them are recorded in docs/benchmarks.md. Each
reports medians of several runs, and ratios against a baseline measured in the same run.

examples:
  smocast bench ack --receivers 10,100,1000 --repeat 5
  smocast bench aggregate --receivers 100,1000,10000
  smocast bench sim --receivers 1000 --size 2M
  smocast bench ack-server --receivers 1000 --duration 5s
  smocast bench startup --repeat 9
  smocast bench crypto --repeat 5
  smocast bench failures --repeat 3
  smocast bench files --files 10000 --size 1K
  smocast bench resume --size 100M --rate 200mbit
  smocast bench rate --rates 10mbit,50mbit,100mbit
  smocast bench receive --receivers 1,4 --size 50M
  smocast bench offload --testbed
  smocast bench congestion --receivers 4,16,32 --seeds 1,2,3
  smocast bench <benchmark> --help      the options of one benchmark
"""

ACK_DESCRIPTION = """\
The source's cost per ACK, in process: decode, the child's update, the master's
aggregation and the sends that result, for each group size; median of --repeat runs.

examples:
  smocast bench ack
  smocast bench ack --receivers 10,100,1000,10000 --acks 200000 --repeat 5
  smocast bench ack --instructions --receivers 100,1000 --acks 10000 --baseline-src ../before/src
"""

SIM_DESCRIPTION = """\
The simulator's speed: one simulated TCP-SMO transfer to --receivers receivers with
--loss, timed --repeat times; reports receiver-segment deliveries per second (median).

examples:
  smocast bench sim
  smocast bench sim --receivers 100 --size 1M --loss 0.05 --repeat 5
"""

STARTUP_DESCRIPTION = """\
The CPU a command spends to start (the interpreter, the imports, the parser), measured as
the user+sys CPU of whole processes: `smocast recv --help`, `smocast recv` against a closed
port (refused at once), a whole secure `smocast recv` of a 1 KiB file from a secure
`smocast send` started first (what a receiver pays), `smocast send --help` and `smocast
--version`, each --repeat times, interleaved, with `python -c pass` as the floor. With
--baseline-src (the src folder of another checkout) every case also runs against that tree,
interleaved, and the report gives the ratio: before and after in one run. Also reports
`python -X importtime` by top-level module.

The children find their bytecode cached, as an installed copy does (under a temporary
PYTHONPYCACHEPREFIX, warmed by one unmeasured run of each case; no tree is written to);
--no-bytecode-cache leaves their environment as it is (with PYTHONDONTWRITEBYTECODE set,
every run then compiles the tree's modules from source).

examples:
  smocast bench startup
  smocast bench startup --repeat 15 --baseline-src ../main/src
  smocast bench startup --repeat 5 --no-bytecode-cache
"""


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "bench", help="measure speed and scale (prints JSON)", description=DESCRIPTION, formatter_class=HelpFormatter
    )
    group = parser.add_subparsers(title="benchmarks", metavar="<benchmark>")
    ack = group.add_parser(
        "ack",
        help="source-side cost of one ACK at several group sizes",
        formatter_class=HelpFormatter,
        description=ACK_DESCRIPTION,
    )
    ack.add_argument(
        "--receivers", type=int_list, default="10,100,1000,10000", metavar="N,...", help="group sizes to measure"
    )
    ack.add_argument("--acks", type=int, default=200_000, help="ACKs timed per group size and run")
    ack.add_argument("--repeat", type=int, default=5, help="runs per group size; the median is reported")
    ack.add_argument(
        "--batch",
        type=int,
        default=16,
        help="ACKs handled between two calls of datagrams_to_send (the runtime drains in batches)",
    )
    ack.add_argument(
        "--instructions",
        action="store_true",
        help="count CPU instructions per ACK under callgrind (valgrind) instead of timing: steady on a busy machine",
    )
    ack.add_argument(
        "--baseline-src",
        default=None,
        metavar="DIR",
        help="with --instructions: the src folder of another checkout, measured in the same run (ratio reported)",
    )
    ack.add_argument("--json", action="store_true", help="accepted for symmetry; output is always JSON")
    ack.set_defaults(handler=_run_ack)
    sim = group.add_parser(
        "sim",
        help="simulator speed in receiver-segment deliveries per second",
        formatter_class=HelpFormatter,
        description=SIM_DESCRIPTION,
    )
    sim.add_argument("--receivers", type=positive_int, default=1000, help="receivers in the simulated transfer")
    sim.add_argument("--size", type=size_arg, default="2M", help="bytes transferred, e.g. 2M")
    sim.add_argument("--loss", type=probability, default=0.01, help="data loss probability per receiver and packet")
    sim.add_argument("--repeat", type=positive_int, default=3, help="runs; the median is reported")
    sim.add_argument("--json", action="store_true", help="accepted for symmetry; output is always JSON")
    sim.set_defaults(handler=_run_sim)
    agg = group.add_parser(
        "aggregate",
        help="the master's aggregation step alone, against a scan of all children",
        formatter_class=HelpFormatter,
        description="Per ACK, one child's value moves and the channel needs the minimum over "
        "all children: the counting structure the channel uses, against a scan "
        "timed in the same run.\n\nexample:\n  smocast bench aggregate "
        "--receivers 100,1000,10000 --repeat 5",
    )
    agg.add_argument(
        "--receivers", type=int_list, default="100,1000,10000", metavar="N,...", help="group sizes to measure"
    )
    agg.add_argument("--acks", type=int, default=200_000, help="ACKs timed per group size and run")
    agg.add_argument("--scan-acks", type=int, default=5_000, help="ACKs the (slow) scan is timed over")
    agg.add_argument("--repeat", type=int, default=5, help="runs per group size; the median is reported")
    agg.add_argument("--json", action="store_true", help="accepted for symmetry; output is always JSON")
    agg.set_defaults(handler=_run_aggregate)
    register_ack_server(group)
    _register_fanout(group)
    _register_startup(group)
    _register_crypto(group)
    bench_secure_cmd.register(group)
    _register_failures(group)
    register_deploy(group)
    register_peers(group)
    register_receive(group)
    register_congestion(group)
    parser.set_defaults(handler=show_help(parser))


FANOUT_DESCRIPTION = """\
One generated file to N receivers on the namespace testbed (needs root): for each N, one
`smocast send` to N `smocast recv` processes, then N parallel kernel-TCP transfers of the same
file from the same sender over the same link (egress shaped to --rate by tc tbf). Receivers are
spread round-robin over min(max N, --hosts) receiver hosts. Reports per N and method: completion
time, goodput per receiver (median and minimum), the sender's transmitted bytes against the
file size, and the CPU used. The testbed (prefix --prefix) is torn down afterwards, also on
errors and Ctrl-C.

examples:
  smocast bench fanout --receivers 1,4,16,64 --rate 100mbit --json
  smocast bench fanout --receivers 1,2 --size 1M --prefix bfx
"""


def _register_fanout(group: Any) -> None:
    p = group.add_parser(
        "fanout",
        help="smocast against N x TCP on the testbed: time, goodput, egress (root)",
        description=FANOUT_DESCRIPTION,
        formatter_class=HelpFormatter,
    )
    p.add_argument("--receivers", type=int_list, default="1,4,16,64", help="group sizes N")
    p.add_argument("--rate", default="100mbit", help="the sender's link rate (tc tbf)")
    p.add_argument("--size", type=size_arg, default="20M", help="file size")
    p.add_argument("--hosts", type=positive_int, default=16, help="receiver hosts at most")
    p.add_argument("--prefix", default="bfo", help="testbed prefix (namespaces PREFIX-h0...)")
    p.add_argument("--json", action="store_true", help="accepted for symmetry; output is always JSON")
    p.set_defaults(handler=_run_fanout)


def _register_startup(group: Any) -> None:
    p = group.add_parser(
        "startup",
        help="CPU to start a command (recv --help, recv against a closed port...)",
        description=STARTUP_DESCRIPTION,
        formatter_class=HelpFormatter,
    )
    p.add_argument("--repeat", type=positive_int, default=9, help="runs of each case; the medians are reported")
    p.add_argument(
        "--baseline-src",
        default=None,
        metavar="DIR",
        help="the src folder of another checkout, measured in the same run (its ratio is reported)",
    )
    p.add_argument(
        "--no-bytecode-cache",
        action="store_true",
        help="run the children in this environment as it is (no bytecode cache of their own, no warm-up run)",
    )
    p.add_argument("--json", action="store_true", help="accepted for symmetry; output is always JSON")
    p.set_defaults(handler=_run_startup)


CRYPTO_DESCRIPTION = """\
What the secure mode costs, in one process (medians of --repeat runs): ChaCha20-Poly1305
seal and open and SHA-256 per packet at 64, 512 and 1400 bytes and per byte (AES-256-GCM and
cryptography's hash object beside them, for comparison); Ed25519 sign and verify of a block;
an X25519 agreement; then the protection layer itself around a stub core: the source's and a
receiver's CPU per group packet for each block size (the block's signature and verification
spread over its packets), and the time a live stream at 1, 10 and 100 Mbit/s takes to fill
each block. With --sim, also simulated TCP-SMO transfers to --receivers receivers, without
the layer and with it at each block delay (0 to 5 ms, 64 packets at most): goodput in sim time
(the same seed gives the same figures) and the CPU the simulation took. docs/security.md
explains how the block sizes were chosen from these figures.

examples:
  smocast bench crypto
  smocast bench crypto --blocks 1,8,16,32,64 --repeat 7 --packets 4096
  smocast bench crypto --sim --receivers 4 --size 16M --delay 0.5ms
"""


FAILURES_DESCRIPTION = """\
How fast a dead peer is noticed, with the real commands on loopback, killed with SIGKILL:
dead-source times a `smocast recv` giving up after its waiting `smocast send` was killed;
dead-receiver times a `smocast send` dropping one of --receivers `smocast recv` killed 0.5 s
into a transfer of --size (from the source's JSON log). With --baseline-src (the src folder
of another checkout) each run is repeated against that tree, interleaved: before and after.

examples:
  smocast bench failures
  smocast bench failures --case dead-receiver --repeat 5 --baseline-src ../before/src
"""


def _register_failures(group: Any) -> None:
    p = group.add_parser(
        "failures",
        help="seconds to notice a killed source or a killed receiver",
        description=FAILURES_DESCRIPTION,
        formatter_class=HelpFormatter,
    )
    p.add_argument("--case", default="dead-source,dead-receiver", help="cases to run: dead-source, dead-receiver")
    p.add_argument("--repeat", type=positive_int, default=3, help="runs of each case; the medians are reported")
    p.add_argument("--size", type=size_arg, default="100M", help="file size of the dead-receiver transfer")
    p.add_argument("--receivers", type=positive_int, default=3, help="receivers of the dead-receiver transfer")
    p.add_argument("--baseline-src", default=None, metavar="DIR", help="the src folder of another checkout")
    p.add_argument(
        "--insecure",
        action="store_true",
        help="run send and recv with --insecure (the receivers pin no key; every tree measured must know the option)",
    )
    p.add_argument("--json", action="store_true", help="accepted for symmetry; output is always JSON")
    p.set_defaults(handler=_run_failures)


def _run_failures(args: argparse.Namespace) -> int:
    from smocast.bench.failures import CASES, run  # noqa: PLC0415

    cases = [c.strip() for c in args.case.split(",") if c.strip()]
    if not cases or not set(cases) <= set(CASES):
        fail(f"--case {args.case}: choose from {', '.join(CASES)}", EXIT_USAGE)
    if args.receivers < 2:
        fail("--receivers: at least 2 (one is killed, the others go on)", EXIT_USAGE)
    check_baseline_src(args.baseline_src)
    print_json(run(cases, args.repeat, int(args.size), args.receivers, args.baseline_src, args.insecure))
    return 0


def _register_crypto(group: Any) -> None:
    p = group.add_parser(
        "crypto",
        help="secure mode: seal/open per packet, sign/verify per block, per byte",
        description=CRYPTO_DESCRIPTION,
        formatter_class=HelpFormatter,
    )
    p.add_argument("--blocks", type=int_list, default="1,4,16,32,64", metavar="K,...", help="block sizes (packets)")
    p.add_argument("--repeat", type=positive_int, default=5, help="runs of each measurement; the median is reported")
    p.add_argument("--packets", type=positive_int, default=2048, help="group packets per run of the layer")
    p.add_argument("--sim", action="store_true", help="also simulate transfers at each block delay (sim time)")
    p.add_argument("--receivers", type=positive_int, default=4, help="receivers of the simulated transfers")
    p.add_argument("--size", type=size_arg, default="16M", help="bytes of each simulated transfer")
    p.add_argument("--rate", type=rate_arg, default="100mbit", help="link rate of the simulated transfers")
    p.add_argument("--delay", type=duration_arg, default="0.5ms", help="one-way delay of the simulated links")
    p.add_argument("--seed", type=int, default=1, help="seed of the simulated transfers")
    p.add_argument("--json", action="store_true", help="accepted for symmetry; output is always JSON")
    p.set_defaults(handler=_run_crypto)


def _run_crypto(args: argparse.Namespace) -> int:
    from smocast.bench.crypto import run  # noqa: PLC0415
    from smocast.secure.blocks import MAX_BLOCK_PACKETS  # noqa: PLC0415

    if any(k > MAX_BLOCK_PACKETS for k in args.blocks):
        fail(f"--blocks: a block covers at most {MAX_BLOCK_PACKETS} packets", EXIT_USAGE)
    report = run(args.blocks, args.repeat, args.packets)
    if args.sim:
        from smocast.bench.crypto_sim import run as simulate  # noqa: PLC0415

        report["sim"] = simulate(args.receivers, int(args.size), args.rate, args.delay, args.seed)
    print_json(report)
    return 0


def _run_startup(args: argparse.Namespace) -> int:
    from smocast.bench.startup import run  # noqa: PLC0415

    check_baseline_src(args.baseline_src)
    print_json(run(args.repeat, args.baseline_src, bytecode_cache=not args.no_bytecode_cache))
    return 0


def _run_ack(args: argparse.Namespace) -> int:
    if args.instructions:
        from smocast.bench import ack_instructions  # noqa: PLC0415  (benchmarks load only when asked for)

        check_baseline_src(args.baseline_src)
        try:
            print_json(ack_instructions.run(args.receivers, args.acks, args.baseline_src))
        except RuntimeError as exc:
            fail(f"bench ack: {exc}")
        return 0
    from smocast.bench.ack import run  # noqa: PLC0415

    print_json(run(args.receivers, args.acks, args.repeat, args.batch))
    return 0


def _run_aggregate(args: argparse.Namespace) -> int:
    from smocast.bench.aggregate import run  # noqa: PLC0415

    print_json(run(args.receivers, args.acks, args.scan_acks, args.repeat))
    return 0


def _run_sim(args: argparse.Namespace) -> int:
    from smocast.bench.sim import run  # noqa: PLC0415

    print_json(run(args.receivers, args.size, args.loss, args.repeat))
    return 0


def _run_fanout(args: argparse.Namespace) -> int:
    from smocast.bench.fanout import FanoutSettings, run  # noqa: PLC0415
    from smocast.testbed.runner import TestbedError  # noqa: PLC0415

    try:
        settings = FanoutSettings(args.receivers, args.rate, int(args.size), args.hosts, args.prefix)
    except (ValueError, TestbedError) as exc:
        fail(str(exc), EXIT_USAGE)
    try:
        print_json(run(settings))
    except (TestbedError, RuntimeError, OSError) as exc:
        fail(f"bench fanout: {exc}")
    return 0
