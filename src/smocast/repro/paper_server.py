"""The TCP-SMO paper's testbed as simulator settings, with the source's limit calibrated.

The paper's server (a 930 MHz PC, Linux 2.2.12, 100 Mbit/s LAN) handled 50,000-60,000 ACKs/s
while the server *program* used under 10% of the CPU, and it lost ACKs at 1500 receivers. The
limit was the kernel's per-packet receive path (interrupt, driver, IP and TCP input), which runs
outside the program and so outside its CPU load. We model it as one server of fixed time per
received packet in front of the source (``smocast.sim.host.CpuModel``), and calibrate it from the
two section V.A observations:

* 1200 receivers completed 36 MB in about 254 s: 36 MB / 254 s / 1448 B = 97.9 segments/s, one
  ACK per two segments per receiver, so 58,700 ACKs/s were handled;
* 1500 receivers at the same rate offer 73,400 ACKs/s, and the server lost ACKs.

So the rate is between 58,700 and 73,400 packets/s; the paper's "about 50,000 to 60,000" puts it
at the low end: 62,500/s, 16 µs per packet (``RECEIVE_PATH_SECONDS``). Nothing else is fitted:
Figure 5, the ACK-frequency result and the relay experiment follow from it.

ACKs that arrive while the receive path is busy wait in a queue that holds a window's ACKs from
every receiver (``RECEIVE_QUEUE``). The real server's backlog (300 packets in Linux 2.2) must have
dropped some; its TCP, with no tail-loss probes, lost nothing by it, since the next cumulative ACK
replaces a lost one. smocast's source sends a tail-loss probe to a receiver silent for two round
trips, so dropping ACKs in front of it models a different protocol, not a slower server (see
``smo-ackfreq``). The paper's own observation that one ACK per four segments doubled throughput
says its server processed nearly every ACK: had it dropped many, each processed ACK would already
have covered more than two segments, and halving the ACKs could not have doubled the rate.

The prototype had no congestion control (its section V footnote), so the window is fixed at a
Linux 2.2 socket's default send buffer, 64 KiB; segments carry 1448 bytes, as in the paper.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from smocast.sim.topology import PathSpec
from smocast.sim.transfer import TransferResult, TransferSpec, run_transfer

RECEIVE_PATH_SECONDS = 16e-6  # 62,500 packets/s: see the module docstring for the calibration
RECEIVE_QUEUE = 32_768  # > a 64 KiB window's ACKs (45 segments / 2) from 1000 receivers
PAPER_MSS = 1448
PAPER_WINDOW = 64 * 1024
LAN = PathSpec(rate=100e6, delay=0.0005)  # 100 Mbit/s switched LAN, 0.5 ms one-way
ACK_RATE_LIMIT = 1 / RECEIVE_PATH_SECONDS


def ack_bound_bps(receivers: int, segments_per_ack: int = 2) -> float:
    """The throughput the receive path allows when every receiver ACKs every ``segments_per_ack``."""
    return ACK_RATE_LIMIT * segments_per_ack * PAPER_MSS * 8 / receivers


def paper_transfer_spec(receivers: int, size: int, **changes: Any) -> TransferSpec:
    """A transfer on the paper's LAN from the calibrated server; ``changes`` override fields."""
    spec = TransferSpec(
        receivers=receivers,
        size=size,
        path=LAN,
        mss=PAPER_MSS,
        congestion="fixed",
        max_window=PAPER_WINDOW,
        ack_every=2,
        source_cpu_per_packet=RECEIVE_PATH_SECONDS,
        source_cpu_queue=RECEIVE_QUEUE,
    )
    return replace(spec, **changes)


def summary(result: TransferResult) -> dict[str, Any]:
    """The figures the reproduction needs from one transfer (plain data, deterministic)."""
    report = result.as_json()
    done = [o.completed_at for o in result.outcomes if o.completed_at is not None]
    return {
        "receivers": report["receivers"],
        "completed": report["completed"],
        "dropped": report["dropped"],
        "identical": report["all_identical"],
        "bytes": report["bytes"],
        "finish_s": round(max(done), 6) if done else None,
        "goodput_bps": report["goodput_bps"],
        "steady_goodput_bps": report["steady_goodput_bps"],
        "acks_processed": report["acks_processed"],
        "acks_per_s": report["acks_per_s"],
        "ack_drops": report["source_cpu_drops"],
        "egress_ratio": round(report["source_egress_bytes"] / report["bytes"], 4),
        "segments": report["segments"],
        "drop_reasons": report["drop_reasons"],
    }


def paper_transfer(receivers: int, size: int, changes: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run one transfer in the paper's setting and summarise it (a task for the runner)."""
    return summary(run_transfer(paper_transfer_spec(receivers, size, **(changes or {}))))
