"""Each receiver's loss accounting: the loss episodes it entered, and how many cut its window.

They reach ``smocast send --json`` (``per_receiver`` and the ``congestion`` totals), so a user
sees what the congestion controller made of the losses: NewReno cuts at every episode, a fixed
window never, the loss filter only where a queue showed.
"""

from __future__ import annotations

import random

import pytest
from tests.fakenet import FakeNet, Terrible

from smocast.smo import events as ev
from smocast.smo.config import ChannelConfig
from smocast.smo.source_events import ReceiverInfo


def _final_accounting(congestion: str, seed: int = 4) -> list[ReceiverInfo]:
    """A lossy transfer to three receivers, run to the end; each receiver's final accounting."""
    config = ChannelConfig(min_receivers=3, mss=500, pacing=False, congestion_control=congestion)
    net = FakeNet(config, 3, seed=seed, net=Terrible(drop=0.03, delay=0.002))
    net.channel.write(random.Random(seed).randbytes(120_000))
    net.channel.close()
    net.run(until=60.0)
    infos = [e.info for e in net.source_events if isinstance(e, ev.ReceiverCompleted)]
    assert len(infos) == 3 and all(p.data == random.Random(seed).randbytes(120_000) for p in net.peers)
    return infos


def test_newreno_cuts_its_window_at_every_loss_episode() -> None:
    infos = _final_accounting("newreno")
    assert all(info.loss_episodes > 0 for info in infos)
    assert all(info.window_cuts >= info.loss_episodes for info in infos)  # timeouts cut too


def test_a_fixed_window_is_never_cut() -> None:
    infos = _final_accounting("fixed")
    assert sum(info.loss_episodes for info in infos) > 0
    assert all(info.window_cuts == 0 for info in infos)


@pytest.mark.parametrize("seed", [4, 5])
def test_the_loss_filter_cuts_for_few_of_the_random_losses(seed: int) -> None:
    """Random loss on a path without a queue: most episodes leave the window alone."""
    infos = _final_accounting("lossfilter", seed)
    episodes = sum(info.loss_episodes for info in infos)
    assert episodes > 0
    assert sum(info.window_cuts for info in infos) < episodes / 2
