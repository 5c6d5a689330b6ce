"""The calibration of the TCP-SMO experiments' source, as the reproduction page states it.

Every number is computed here from the constants of :mod:`smocast.repro.paper_server`, so the
page cannot disagree with the code.
"""

from __future__ import annotations

from smocast.repro.paper_server import (
    ACK_RATE_LIMIT,
    PAPER_MSS,
    PAPER_WINDOW,
    RECEIVE_PATH_SECONDS,
    RECEIVE_QUEUE,
    ack_bound_bps,
)

PAPER_BYTES = 36 * 10**6
PAPER_SECONDS = 254


def _text() -> str:
    per_second = PAPER_BYTES / PAPER_SECONDS / PAPER_MSS
    handled = 1200 * per_second / 2
    offered = 1500 * per_second / 2
    window_segments = PAPER_WINDOW // PAPER_MSS
    window_acks = window_segments * 1000 // 2
    window_kib = PAPER_WINDOW // 1024
    rate = f"{ACK_RATE_LIMIT:,.0f} packets/s, {RECEIVE_PATH_SECONDS * 1e6:.0f} µs per packet"
    bound = f"{ACK_RATE_LIMIT:,.0f} × 2 × {PAPER_MSS} × 8 / N bits/s"
    at_100, at_1000 = ack_bound_bps(100) / 1e6, ack_bound_bps(1000) / 1e6
    return f"""\
## The TCP-SMO experiments: the setting and the source's limit

Every TCP-SMO result runs in the simulator on the paper's LAN: 100 Mbit/s links, 0.5 ms one way,
segments of {PAPER_MSS} bytes, one ACK per two segments (unless the result varies it), a fixed window
of {window_kib} KiB (the prototype had no congestion control; 64 KiB was a Linux 2.2 socket's send buffer), and
the window policy "wait for the slowest". The source application writes the file at its own rate
where the paper says so (`sim transfer --send-rate`), which leaves the links, and so the ACK path, at
full speed.

**The source's limit.** The paper's server handled 50,000-60,000 ACKs/s while the server program used
under 10% of the CPU, and it lost ACKs at 1500 receivers. The work that ran out was the kernel's
per-packet receive path (interrupt, driver, IP and TCP input), which is not charged to the program. We
model it as one server in front of the source that spends a fixed time on every received packet
(`smocast.sim.host.CpuModel`), and calibrate that time from section V.A:

- 1200 receivers took 36 MB in about {PAPER_SECONDS} s: {per_second:.1f} segments/s of {PAPER_MSS} bytes, so
  {handled:,.0f} ACKs/s were handled;
- 1500 receivers at that rate offer {offered:,.0f} ACKs/s, and ACKs were lost.

The rate lies between the two; the paper's "about 50,000 to 60,000" puts it at the low end:
**{rate}**. Nothing else is fitted. Figure 5 follows: once ACK-bound,
throughput = {bound}, {at_100:.1f} Mbit/s at 100 receivers and {at_1000:.2f} Mbit/s at 1000,
against the paper's "over 10" and "over 1".

ACKs that find the receive path busy wait in a queue of {RECEIVE_QUEUE:,} packets, more than one
window's ACKs from every receiver up to Figure 5's 1000 ({window_segments} segments / 2 × 1000 = {window_acks:,}).
The real server's
backlog (300 packets in Linux 2.2) must have dropped ACKs, which its TCP tolerated: the next cumulative
ACK replaces a lost one. smocast's source instead probes a receiver that has been silent for two round
trips (RFC 8985 tail-loss probe), so dropping ACKs in front of it would model a different protocol, not
a slower server (`smo-ackfreq` shows what that did). The paper's own ACK-frequency result says its
server processed nearly every ACK: had it dropped many, each processed ACK would already have covered
more than two segments, and halving the ACKs could not have doubled the throughput. Beyond the limit
(1500 receivers at 100 packets/s) the queue fills and ACKs are lost, as the paper saw.
"""


CALIBRATION = _text()
