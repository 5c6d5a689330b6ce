"""The receiver's flow control: the window it offers, what counts against it, and when it says it opened."""

from __future__ import annotations

import random
from collections import deque

from smocast.smo.config import ReceiverConfig
from smocast.smo.delivery import Delivery, ReceiverStats
from smocast.smo.flowcontrol import ReceiveWindow
from smocast.smo.receiver import Receiver
from smocast.wire import Packet, PacketType, decode

BUFFER = 4096  # half 2048, quarter 1024
SERVER = ("192.0.2.1", 5000)


def window_over(buffer: int = BUFFER) -> tuple[ReceiveWindow, Delivery]:
    config = ReceiverConfig(receive_buffer=buffer)
    data = Delivery(config, deque(), ReceiverStats())
    return ReceiveWindow(buffer, data), data


def segment(seq: int, size: int) -> Packet:
    return Packet(PacketType.DATA, 1, 0, seq, tsval=1, payload=b"x" * size)


def test_the_window_is_the_buffer_less_held_unconsumed_and_backlog() -> None:
    window, data = window_over()
    assert window.offered == BUFFER and window.room == BUFFER
    data.take_run(0, [b"a" * 1000])  # delivered, not taken by the application
    data.take(segment(1500, 300), None, 0.0)  # held above a hole
    window.set_backlog(200)
    assert window.unconsumed == 1000
    assert window.offered == BUFFER - 1000 - 300 - 200
    assert window.room == BUFFER - 1000 - 200  # in-order data may also fill what is held above the hole
    window.consumed(600)
    assert window.offered == BUFFER - 400 - 300 - 200 and window.unconsumed == 400


def test_the_window_never_goes_below_zero_and_a_negative_backlog_counts_as_none() -> None:
    window, data = window_over()
    data.take_run(0, [b"a" * BUFFER])
    window.set_backlog(500)
    assert window.offered == 0 and window.room == -500
    window.set_backlog(-7)
    assert window.offered == 0 and window.room == 0
    window.consumed(BUFFER)
    assert window.offered == BUFFER


def test_a_window_update_is_due_once_the_window_opened_by_a_quarter_after_offering_less_than_half() -> None:
    window, data = window_over()
    data.take_run(0, [b"a" * BUFFER])
    assert window.advertise() == 0 and window.advertised == 0
    assert not window.consumed(1023)  # opened by less than a quarter
    assert window.consumed(1)  # by a quarter
    assert window.advertise() == 1024
    assert not window.consumed(1000)
    assert window.consumed(24)  # a quarter more than the last ACK offered, which was under half
    assert window.advertise() == 2048
    assert not window.consumed(2048)  # the last ACK offered half already: the source is not starved
    assert window.offered == BUFFER and window.advertised == 2048


def test_a_smaller_backlog_opens_the_window_by_the_same_rule() -> None:
    window, data = window_over()
    data.take_run(0, [b"a" * 1000])
    window.consumed(1000)
    assert not window.set_backlog(3500)  # shrinking never calls for an update
    assert window.advertise() == 596
    assert not window.set_backlog(2600)  # opened by 900
    assert window.set_backlog(2400)  # by 1100
    assert window.advertise() == 1696


def test_stale_says_whether_the_last_ack_carried_the_window_offered_now() -> None:
    window, data = window_over()
    assert not window.stale
    data.take_run(0, [b"a" * 100])
    assert window.stale
    window.advertise()
    assert not window.stale
    window.consumed(1)
    assert window.stale


def test_the_receiver_sends_the_window_update_when_its_window_says_so_and_only_when_established() -> None:
    rx = Receiver(SERVER, ReceiverConfig(receive_buffer=BUFFER), random.Random(3))
    rx.connect(0.0)
    rx.datagrams_to_send(0.0)
    rx.receive_packet(Packet(PacketType.SYN_ACK, 1, rx.connection, seq=0, tsval=7), SERVER, 0.01)
    rx.datagrams_to_send(0.01)
    for seq in range(0, BUFFER, 1024):
        rx.receive_packet(segment(seq, 1024), SERVER, 0.02)
    assert [decode(d.data).window for d in rx.datagrams_to_send(0.02)] == [0]  # the last ACK offered nothing
    while rx.next_event() is not None:
        pass
    assert rx.window == 0 and not rx.ack_pending  # handing events over changed nothing
    rx.consumed(1000)
    assert not rx.ack_pending
    rx.consumed(100)
    assert rx.ack_pending
    (update,) = [decode(d.data) for d in rx.datagrams_to_send(0.03)]
    assert (update.type, update.ack, update.window) == (PacketType.ACK, BUFFER, 1100)
    rx.close(0.04)
    rx.datagrams_to_send(0.04)
    rx.consumed(2996)
    assert not rx.ack_pending and rx.window == BUFFER  # a closed receiver announces nothing
