"""The parsers of ``smocast sim transfer``, ``sim stream`` and ``sim relay``.

They load nothing of the simulator: each handler imports its module (``smocast.cli.sim_*``)
only when it runs.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from smocast.cli.common import (
    HelpFormatter,
    add_drop_rules,
    deferred,
    duration_arg,
    float_list,
    positive_int,
    probability,
    rate_arg,
    size_arg,
)


def lane_arg(text: str) -> tuple[float, float]:
    """``SHARE:DELAY`` for argparse: a probability and a duration, e.g. ``0.05:10ms``."""
    share, colon, delay = text.partition(":")
    if not colon:
        raise argparse.ArgumentTypeError(f"expected SHARE:DELAY (e.g. 0.05:10ms), got {text!r}")
    return probability(share), duration_arg(delay)


CONGESTION_HELP = (
    "congestion control of each receiver: newreno (halves at every loss; the channel follows the smallest "
    "window), lossfilter (halves only for losses that come with RTT growth: for lossy LANs), or fixed "
    "(a constant window)"
)

TRANSFER_DESCRIPTION = """\
Simulate one source sending a file of seeded random bytes to N receivers with TCP-SMO,
then check every completed receiver's bytes against the source's SHA-256.

examples:
  smocast sim transfer --receivers 200 --size 1M --loss 0.05
  smocast sim transfer --receivers 100 --loss 0.02 --ack-loss 0.02 --json
  smocast sim transfer --receivers 50 --policy quorum:0.9 --cwnd-policy fair:1,4
  smocast sim transfer --receivers 16 --size 10M --loss 0.02 --congestion lossfilter  # random loss is not congestion
  smocast sim transfer --receivers 1500 --source-cpu-per-packet 20us   # an overloaded source
  smocast sim transfer --receivers 1200 --send-rate 1.16mbit --mss 1448  # the application paces itself
  smocast sim transfer --receivers 1000 --loss 0.01 --lossy-receivers 400  # loss at 400 of them only
  smocast sim transfer --receivers 16 --delay 1ms --jitter 2ms         # a path that reorders but loses nothing
  smocast sim transfer --receivers 16 --delay 1ms --lane 0.05:10ms     # 5% of the data 10 ms late, as the testbed
  smocast sim transfer --receivers 1000 --secure                         # with the secure mode's CPU cost
  smocast bench crypto --json > costs.json
  smocast sim transfer --receivers 1000 --secure --crypto-costs costs.json   # ... measured on this machine

The simulator runs plain TCP-SMO unless --secure: then every endpoint runs the protection
layer (keys exchanged in the handshake, packets sealed, blocks signed), and each host spends
the CPU the layer costs per datagram and per block (the figures of docs/security.md, or of
--crypto-costs), on one CPU per host. The same seed gives the same result.
"""


def register_transfer(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "transfer",
        help="a simulated TCP-SMO file transfer",
        description=TRANSFER_DESCRIPTION,
        formatter_class=HelpFormatter,
    )
    p.add_argument("--receivers", type=positive_int, default=100, help="number of receivers")
    p.add_argument("--size", type=size_arg, default="4M", help="file size (K, M, G are binary multiples)")
    p.add_argument(
        "--loss", type=probability, default=0.0, help="data loss probability, independent per receiver and packet"
    )
    p.add_argument("--ack-loss", type=probability, default=0.0, help="loss probability of ACKs and control")
    p.add_argument(
        "--burst",
        type=float,
        default=None,
        metavar="PACKETS",
        help="make loss bursty (Gilbert-Elliott) with this mean burst length",
    )
    p.add_argument(
        "--shared-loss",
        type=probability,
        default=0.0,
        help="loss on shared subtree links: correlated across their receivers",
    )
    p.add_argument(
        "--subtree-size", type=int, default=0, help="receivers behind each shared subtree link (0: no subtrees)"
    )
    p.add_argument(
        "--lossy-receivers",
        type=positive_int,
        default=None,
        metavar="K",
        help="apply --loss to K receivers only, spread evenly over them (default: all)",
    )
    p.add_argument("--rate", type=rate_arg, default="100mbit", help="link rate, e.g. 100mbit, 1gbit")
    p.add_argument(
        "--send-rate",
        type=rate_arg,
        default=None,
        help="the source application writes the file at this rate (default: all at once); "
        "unlike --rate it leaves the links, and so the ACK path, at full speed",
    )
    p.add_argument("--delay", type=duration_arg, default="5ms", help="one-way delay of each receiver's path")
    p.add_argument(
        "--delay-max", type=duration_arg, default=None, help="spread receivers' delays evenly from --delay up to this"
    )
    p.add_argument(
        "--jitter",
        type=duration_arg,
        default="0s",
        help="add to each data packet's delay a random amount up to this: packets sent closer together "
        "than that may arrive out of order (reordering, as over parallel paths)",
    )
    p.add_argument(
        "--lane",
        type=lane_arg,
        default="0:0s",
        metavar="SHARE:DELAY",
        help="that share of the data packets takes a lane DELAY slower, so later ones overtake each of them "
        "(reordering as over a slower parallel link; the testbed's --reorder), e.g. 0.05:10ms",
    )
    p.add_argument("--policy", default="slowest", help="window advance F: slowest, quorum:<f>, buffer:<bytes>")
    p.add_argument("--cwnd-policy", default="min", help="congestion window G: min or fair:<alpha>,<beta>")
    p.add_argument("--congestion", default="newreno", help=CONGESTION_HELP)
    p.add_argument("--window", type=size_arg, default=None, help="send window, e.g. 64K (default: 4M)")
    p.add_argument(
        "--ack-every",
        type=positive_int,
        default=None,
        help="fix segments per ACK (default: adaptive, 2 in slow start, up to 8)",
    )
    p.add_argument(
        "--source-cpu-per-packet",
        type=duration_arg,
        default=None,
        metavar="DURATION",
        help="time the source's receive path spends per received packet, e.g. 16us (models an overloaded server)",
    )
    p.add_argument(
        "--source-queue",
        type=positive_int,
        default=1000,
        help="packets that may wait for the source's receive path; more are dropped",
    )
    add_drop_rules(p)
    p.add_argument(
        "--mss", type=positive_int, default=None, help="payload bytes per segment (default 1400; 1366 with --secure)"
    )
    secure = p.add_argument_group("the secure mode")
    secure.add_argument(
        "--secure", action="store_true", help="run every endpoint behind the protection layer, with its CPU cost"
    )
    secure.add_argument(
        "--crypto-costs",
        type=Path,
        default=None,
        metavar="FILE",
        help="the layer's costs from 'smocast bench crypto --json' (default: the figures in docs/security.md)",
    )
    secure.add_argument(
        "--no-crypto-cost", action="store_true", help="with --secure: run the layer but charge no CPU time for it"
    )
    p.add_argument("--time-limit", type=duration_arg, default="60min", help="simulated time before giving up")
    p.add_argument("--seed", type=int, default=1, help="random seed; the same seed gives the same result")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a summary")
    p.set_defaults(handler=deferred("smocast.cli.sim_transfer"))


STREAM_DESCRIPTION = """\
Simulate a live stream: the source sends one message every 1/RATE seconds to N receivers
in real-time mode (TCP-RTM), each with a playout delay of --playout-rtts round trips of
its own path plus --playout-delay. A message is either played on time or skipped. The
same run counts what plain UDP multicast would have delivered.

examples:
  smocast sim stream --receivers 100 --packets 5000 --rate 50 --loss 0.08
  smocast sim stream --loss 0.02,0.04,0.06,0.08,0.10 --json --plot figure7.png   # the paper's Figure 7
  smocast sim stream --delay 20ms --delay-max 100ms --playout-delay 300ms --playout-rtts 0
"""


def register_stream(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "stream",
        help="a simulated live stream with real-time receivers",
        description=STREAM_DESCRIPTION,
        formatter_class=HelpFormatter,
    )
    p.add_argument("--receivers", type=positive_int, default=100, help="number of receivers")
    p.add_argument("--packets", type=positive_int, default=5000, help="messages in the stream")
    p.add_argument("--rate", type=float, default=50.0, help="messages per second")
    p.add_argument("--size", type=positive_int, default=1448, help="bytes per message on the wire")
    p.add_argument("--delay", type=duration_arg, default="20ms", help="one-way delay of the nearest receiver")
    p.add_argument("--delay-max", type=duration_arg, default="100ms", help="one-way delay of the farthest")
    p.add_argument(
        "--loss",
        type=float_list,
        default="0.02",
        metavar="P[,P...]",
        help="independent drop rate on data, per receiver; a list runs one stream per value",
    )
    p.add_argument("--link-rate", type=rate_arg, default="100mbit", help="link rate")
    p.add_argument("--playout-delay", type=duration_arg, default="100ms", help="constant part of the playout delay")
    p.add_argument("--playout-rtts", type=float, default=3.0, help="round trips added to each receiver's delay")
    p.add_argument("--policy", default=None, help="window policy (default: buffer of two seconds of media)")
    p.add_argument(
        "--congestion", default="fixed", help="congestion control: fixed (media rate), newreno or lossfilter"
    )
    p.add_argument("--late-joiners", type=int, default=0, help="receivers that join five seconds in")
    p.add_argument("--seed", type=int, default=1, help="random seed; the same seed gives the same result")
    p.add_argument("--json", action="store_true", help="print one JSON object (a list of points for several --loss)")
    p.add_argument("--plot", metavar="FILE.png", help="plot perceived loss against drop rate, with UDP")
    p.set_defaults(handler=deferred("smocast.cli.sim_stream"))


RELAY_DESCRIPTION = """\
Simulate a root server, levels of relay servers, and many receivers. Each server (root and
relays) handles received packets on a CPU with --cpu-per-packet seconds each (18 us is
the paper's 930 MHz server: about 55,000 ACKs per second), so one server saturates on
ACKs and a hierarchy spreads them.

examples:
  smocast sim relay --levels 2 --relays 3 --receivers 2300 --size 4M     # the paper's experiment
  smocast sim relay --relays 30 --receivers 2300 --json
  smocast sim relay --relays 3 --receivers 60 --kill-relay 1 --kill-at 200ms   # fail over
  smocast sim relay --levels 3 --relays 10 --fanout 10 --receivers 100000 --size 256K
"""


def register_relay(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "relay",
        help="relay hierarchies: root, relays, receivers",
        description=RELAY_DESCRIPTION,
        formatter_class=HelpFormatter,
    )
    p.add_argument("--levels", type=positive_int, default=2, help="levels of servers, the root included")
    p.add_argument("--relays", type=positive_int, default=3, help="relays at the first level")
    p.add_argument("--fanout", type=positive_int, default=None, help="relays below each relay deeper down")
    p.add_argument("--receivers", type=positive_int, default=2300, help="receivers at the bottom, in all")
    p.add_argument("--size", type=size_arg, default="1M", help="file size")
    p.add_argument("--rate", type=rate_arg, default="100mbit", help="link rate")
    p.add_argument(
        "--cpu-per-packet",
        type=duration_arg,
        default="18us",
        metavar="DURATION",
        help="each server's CPU time per received packet; 0 for unlimited",
    )
    p.add_argument("--ack-every", type=positive_int, default=2, help="segments per ACK (the paper: 2, standard TCP)")
    p.add_argument("--policy", default="slowest", help="window policy of every server")
    p.add_argument(
        "--kill-relay", type=int, default=None, metavar="INDEX", help="kill this relay of the last level mid-transfer"
    )
    p.add_argument("--kill-at", type=duration_arg, default="500ms", help="when to kill it, in simulated time")
    p.add_argument("--seed", type=int, default=1, help="random seed; the same seed gives the same result")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=deferred("smocast.cli.sim_relay"))
