"""A trickle receiver: alive, acknowledging one byte every 5 s (issue 10, section 4).

Measured on main before the defence: such a receiver was never dropped (each ACK is
"progress"), and under the default policy (``slowest``) it stalled every other receiver
indefinitely. Progress must be a rate: under ``slowest`` it is dropped as slow; under
``quorum`` and ``buffer`` the others are not held back by it.

The defence: over each progress timeout, a receiver that acknowledged less than
``min_rate_fraction`` of the channel's median rate while data waited for it, three windows
in a row, is dropped as ``too-slow`` under ``slowest`` (here at 30.6 s) and stops pacing
under ``quorum`` and ``buffer``; under ``buffer:1M`` a receiver that stopped pacing no
longer holds the window, so the buffer fills and resets it (``fell-behind-buffer``).
"""

from __future__ import annotations

import random

import pytest
from tests.attacks import forge
from tests.attacks.net import Net, sha256

from smocast.smo import ChannelConfig, WindowPolicy
from smocast.smo import events as ev

HONEST_DONE_BY = 60.0  # seconds; without the trickler they finish in well under one


def run_with_trickler(policy: str, attack: bool = True) -> tuple[list[str], list[ev.ReceiverDropped], float | None]:
    """Four honest receivers and a trickler (honest too without ``attack``); how each honest
    one ended, the trickler's drop, and when the last honest one finished (None: not all did)."""
    config = ChannelConfig(min_receivers=5, max_window=512 << 10, window_policy=WindowPolicy.parse(policy))
    net = Net(config, seed=41)
    honest = [net.add_receiver() for _ in range(4)]
    trickler = net.add_receiver(capture=True)
    data = random.Random(8).randbytes(2 << 20)
    net.channel.write(data)
    net.channel.close()
    net.run(until=0.05)  # everybody joined; the attacker now answers for the trickler
    assert len(net.of(ev.ReceiverJoined)) == 5
    connection = forge.connection_of(trickler.sent)
    start = trickler.receiver.rcv_nxt
    trickler.frozen = attack

    def trickle(k: int = 1) -> None:
        net.deliver_now(forge.ack(connection, start + k), trickler.address)
        net.at(net.now + 5.0, lambda: trickle(k + 1))

    if attack:
        net.at(net.now + 5.0, trickle)
    net.run(until=120.0, stop=lambda: all(p.ended_at is not None for p in honest))
    for peer in honest:
        assert peer.reset is None and (peer.ended_at is None or peer.sha256 == sha256(data))
    dropped = [e for e in net.of(ev.ReceiverDropped) if e.address == trickler.address]
    ends = [p.ended_at for p in honest if p.ended_at is not None]
    last = max(ends) if len(ends) == len(honest) else None
    return [outcome(p.ended_at, p.received, len(data)) for p in honest], dropped, last


def outcome(ended_at: float | None, received: int, size: int) -> str:
    if ended_at is not None and ended_at <= HONEST_DONE_BY:
        return "done"
    if ended_at is not None:
        return f"done at {ended_at:.0f} s"
    return f"stalled at {received:,} of {size:,} bytes after 120 s"


@pytest.mark.parametrize(
    ("policy", "attack"),
    [
        pytest.param("slowest", False, id="slowest-control"),
        pytest.param("slowest", True, id="slowest"),
        pytest.param("quorum:0.8", True, id="quorum"),  # passes before the defence too: it leaves the trickler behind
        # a buffer at least as large as the window never fills while the trickler holds the
        # window edge: buffer:B then stalls like slowest (as buffer:8M does with the default 4 MiB window)
        pytest.param("buffer:1M", True, id="buffer"),
    ],
)
def test_a_trickle_receiver_does_not_hold_the_others_back(policy: str, attack: bool) -> None:
    outcomes, dropped, _ = run_with_trickler(policy, attack)
    assert outcomes == ["done"] * 4, f"honest receivers: {outcomes}"
    if policy == "slowest" and attack:
        assert dropped, "the trickle receiver was never dropped"
