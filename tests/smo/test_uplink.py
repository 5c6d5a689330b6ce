"""The source's side of session relay: bounded per receiver and in total."""

from __future__ import annotations

import random
import struct

import pytest

from smocast.smo.framing import MessageTooLarge, frame
from smocast.smo.uplink import UP_SEGMENT, UP_WINDOW, UpBudget, UpReceiver


def segments(stream: bytes, size: int = UP_SEGMENT) -> list[tuple[int, bytes]]:
    return [(at, stream[at : at + size]) for at in range(0, len(stream), size)]


def test_messages_arrive_whole_in_any_order_and_the_budget_is_given_back() -> None:
    rng = random.Random(3)
    messages = [rng.randbytes(rng.randrange(1, 5000)) for _ in range(12)]
    stream = b"".join(frame(m) for m in messages)
    budget = UpBudget(1 << 20)
    up = UpReceiver(budget)
    pieces = segments(stream)
    window = pieces[:40]  # within what a sender keeps in flight
    rng.shuffle(window)
    got = []
    for offset, payload in window + pieces[40:] + pieces:
        got += up.offer(offset, payload)
        assert budget.used == up.holding
    assert got == messages and up.acked == len(stream)
    assert budget.used == up.holding == 0


def test_a_message_over_the_limit_is_refused_as_soon_as_its_length_is_read() -> None:
    up = UpReceiver(UpBudget(1 << 20), max_message=1000)
    assert up.offer(0, frame(bytes(1000))) == [bytes(1000)]
    with pytest.raises(MessageTooLarge, match="4,294,967,295 bytes; the limit is 1,000"):
        up.offer(1004, struct.pack("!I", 0xFFFF_FFFF) + bytes(100))


def test_what_waits_out_of_order_is_bounded_by_the_window() -> None:
    budget = UpBudget(1 << 20)
    up = UpReceiver(budget)
    for offset in range(1, 4 * UP_WINDOW, UP_SEGMENT):  # offset 0 never arrives
        up.offer(offset, bytes(UP_SEGMENT))
    assert budget.used == up.holding > UP_WINDOW - UP_SEGMENT
    assert up.holding <= UP_WINDOW + UP_SEGMENT


def test_all_receivers_together_stay_within_the_budget() -> None:
    budget = UpBudget(3 * UP_WINDOW)
    receivers = [UpReceiver(budget) for _ in range(8)]
    for up in receivers:
        up.offer(0, struct.pack("!I", 1 << 19))  # a long message starts ...
        for offset in range(4, UP_WINDOW, UP_SEGMENT):  # ... and goes on in order
            up.offer(offset, bytes(UP_SEGMENT))
    assert budget.used <= budget.limit and budget.refused > 0
    assert sum(up.holding for up in receivers) == budget.used
    receivers[0].release()  # its receiver left: the others may go on
    assert budget.used == sum(up.holding for up in receivers[1:])
    assert receivers[-1].offer(receivers[-1].acked, bytes(UP_SEGMENT)) == []
    assert receivers[-1].holding > 0
