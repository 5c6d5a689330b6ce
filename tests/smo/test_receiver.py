from __future__ import annotations

import random

from smocast.core.datagram import Address
from smocast.smo import events as ev
from smocast.smo.config import ReceiverConfig
from smocast.smo.receiver import Receiver, ReceiverState
from smocast.wire import FLAG_RESUME, Packet, PacketType, ResetCode, decode, delay_sample, encode

SERVER: Address = ("192.0.2.1", 5000)


def sent(rx: Receiver, now: float = 0.0) -> list[Packet]:
    return [decode(d.data) for d in rx.datagrams_to_send(now)]


def events(rx: Receiver) -> list[object]:
    out = []
    while (e := rx.next_event()) is not None:
        out.append(e)
    return out


def connected(start: int = 0) -> Receiver:
    rx = Receiver(SERVER, ReceiverConfig(), random.Random(3))
    rx.connect(0.0)
    sent(rx)
    rx.receive_packet(Packet(PacketType.SYN_ACK, 1, rx.connection, seq=start, tsval=77), SERVER, 0.01)
    sent(rx, 0.01)
    events(rx)
    return rx


def data(seq: int, payload: bytes, every: int = 2) -> Packet:
    return Packet(PacketType.DATA, 1, 0, seq, tsval=seq, ack_every=every, payload=payload)


def test_handshake_is_receiver_initiated() -> None:
    rx = Receiver(SERVER, ReceiverConfig(), random.Random(3))
    rx.connect(0.0)
    (syn,) = sent(rx)
    assert syn.type is PacketType.SYN and syn.connection == rx.connection
    rx.receive_packet(Packet(PacketType.SYN_ACK, 1, rx.connection, seq=4200, tsval=99), SERVER, 0.01)
    (ack,) = sent(rx, 0.01)
    assert ack.type is PacketType.ACK and ack.ack == 4200 and ack.tsecr == 99
    assert events(rx) == [ev.Connected(4200, 0.01)]
    assert rx.state is ReceiverState.ESTABLISHED


def test_syn_is_retried_then_gives_up() -> None:
    rx = Receiver(SERVER, ReceiverConfig(connect_timeout=2.0, syn_interval=0.5), random.Random(3))
    rx.connect(0.0)
    syns = len(sent(rx))
    now = 0.0
    while (deadline := rx.next_deadline()) is not None:
        now = deadline
        rx.handle_timer(now)
        syns += len(sent(rx, now))
    assert syns >= 3
    (failed,) = events(rx)
    assert isinstance(failed, ev.ConnectFailed) and "no answer" in failed.reason
    assert now >= 2.0


def test_resume_offset_is_asked_for_in_the_syn() -> None:
    rx = Receiver(SERVER, ReceiverConfig(resume_from=123_000), random.Random(3))
    rx.connect(0.0)
    (syn,) = sent(rx)
    assert syn.flags & FLAG_RESUME and syn.ack == 123_000


def test_in_order_delivery_with_delayed_acks() -> None:
    rx = connected()
    rx.receive_packet(data(0, b"a" * 100), SERVER, 0.1)
    assert sent(rx, 0.1) == []  # first of two: the ACK waits
    assert rx.next_deadline() is not None
    rx.receive_packet(data(100, b"b" * 100), SERVER, 0.1)
    (ack,) = sent(rx, 0.1)
    assert ack.ack == 200 and ack.sack == ()
    assert [e.data for e in events(rx) if isinstance(e, ev.DataReceived)] == [b"a" * 100, b"b" * 100]


def test_delayed_ack_timer_fires() -> None:
    rx = connected()
    rx.receive_packet(data(0, b"a" * 100, every=8), SERVER, 0.1)
    deadline = rx.next_deadline()
    assert deadline is not None
    rx.handle_timer(deadline)
    (ack,) = sent(rx, deadline)
    assert ack.ack == 100


def test_out_of_order_is_sacked_at_once_and_filled_exactly_once() -> None:
    rx = connected()
    rx.receive_packet(data(100, b"b" * 100), SERVER, 0.1)
    (ack1,) = sent(rx, 0.1)
    assert ack1.ack == 0 and ack1.sack == ((100, 200),)
    rx.receive_packet(data(300, b"d" * 100), SERVER, 0.1)
    (ack2,) = sent(rx, 0.1)
    assert ack2.ack == 0 and ack2.sack == ((300, 400), (100, 200))
    rx.receive_packet(Packet(PacketType.REPAIR, 1, rx.connection, 0, payload=b"a" * 100), SERVER, 0.2)
    rx.receive_packet(data(100, b"b" * 100), SERVER, 0.2)  # a duplicate
    acks = sent(rx, 0.2)
    assert acks[-1].ack == 200 and acks[-1].sack == ((100, 200), (300, 400))  # the duplicate first: D-SACK
    rx.receive_packet(data(500, b"f" * 100), SERVER, 0.3)
    (ack3,) = sent(rx, 0.3)
    assert ack3.sack == ((500, 600), (300, 400))  # the duplicate is reported once
    delivered = b"".join(e.data for e in events(rx) if isinstance(e, ev.DataReceived))
    assert delivered == b"a" * 100 + b"b" * 100
    assert rx.stats.duplicates == 1


def test_a_repair_to_the_group_we_already_have_brings_no_ack_but_one_to_us_alone_does() -> None:
    """A multicast repair lands as a duplicate on every receiver that did not lose the segment:
    if each ACKed it at once, one repair would bring an ACK from nearly every receiver."""
    rx = connected()
    rx.receive_packet(data(0, b"a" * 100, every=8), SERVER, 0.1)
    assert sent(rx, 0.1) == []
    waiting = rx.next_deadline()
    repair = Packet(PacketType.REPAIR, 1, 0, 0, tsval=5, payload=b"a" * 100)
    rx.receive_packet(repair, SERVER, 0.105, via_group=True)
    assert sent(rx, 0.105) == [] and rx.stats.duplicates == 1
    assert rx.next_deadline() == waiting  # the data's delayed ACK, neither sooner nor later
    rx.handle_timer(0.2)
    assert [ack.ack for ack in sent(rx, 0.2)] == [100]
    rx.receive_packet(repair, SERVER, 0.3, via_group=True)
    assert sent(rx, 0.3) == [] and rx.next_deadline() is None
    rx.receive_packet(repair, SERVER, 0.4)  # repaired to us alone: our last ACK may be lost
    assert [ack.ack for ack in sent(rx, 0.4)] == [100]


def test_late_joiner_ignores_data_before_its_start_and_keeps_early_data() -> None:
    rx = Receiver(SERVER, ReceiverConfig(), random.Random(3))
    rx.connect(0.0)
    sent(rx)
    rx.receive_packet(data(5000, b"e" * 100), SERVER, 0.005)  # multicast before the SYN-ACK
    rx.receive_packet(Packet(PacketType.SYN_ACK, 1, rx.connection, seq=5000), SERVER, 0.01)
    rx.receive_packet(data(4900, b"x" * 100), SERVER, 0.02)
    got = [e for e in events(rx) if isinstance(e, ev.DataReceived)]
    assert got == [ev.DataReceived(5000, b"e" * 100)]


def test_data_before_the_syn_ack_is_kept_within_the_receive_buffer() -> None:
    rx = Receiver(SERVER, ReceiverConfig(receive_buffer=100_000), random.Random(3))
    rx.connect(0.0)
    sent(rx)
    for k in range(200):  # 12 MB of large segments before the handshake completes
        rx.receive_packet(data(k * 60_000, bytes(60_000)), SERVER, 0.005)
    rx.receive_packet(Packet(PacketType.SYN_ACK, 1, rx.connection, seq=0), SERVER, 0.01)
    got = [e for e in events(rx) if isinstance(e, ev.DataReceived)]
    assert sum(len(e.data) for e in got) == 60_000  # one fitted; the rest is repaired later


def test_fin_ends_the_stream_and_is_acked_past_the_end() -> None:
    rx = connected()
    rx.receive_packet(data(0, b"a" * 10, every=1), SERVER, 0.1)
    sent(rx, 0.1)
    rx.receive_packet(Packet(PacketType.FIN, 1, rx.connection, seq=10), SERVER, 0.2)
    (ack,) = sent(rx, 0.2)
    assert ack.ack == 11
    assert any(isinstance(e, ev.StreamEnded) and e.length == 10 for e in events(rx))
    rx.receive_packet(Packet(PacketType.FIN, 1, rx.connection, seq=10), SERVER, 0.5)
    assert [p.ack for p in sent(rx, 0.5)] == [11]  # a retransmitted FIN is acked again


def test_a_finished_receiver_answers_a_repair_to_it_alone_but_not_one_to_the_group() -> None:
    """Late in a transfer, repairs to the group are for receivers still missing data: a receiver
    that has the whole stream (the source sent its FIN, so it knows) has nothing to say to them."""
    rx = connected()
    rx.receive_packet(data(0, b"a" * 10, every=1), SERVER, 0.1)
    rx.receive_packet(Packet(PacketType.FIN, 1, rx.connection, seq=10), SERVER, 0.2)
    assert [p.ack for p in sent(rx, 0.2)] == [11]
    repair = Packet(PacketType.REPAIR, 1, 0, 0, tsval=5, payload=b"a" * 10)
    rx.receive_packet(repair, SERVER, 0.3, via_group=True)
    assert sent(rx, 0.3) == []
    rx.receive_packet(repair, SERVER, 0.4)  # repaired to us alone: our last ACK may be lost
    assert [p.ack for p in sent(rx, 0.4)] == [10]


def test_rst_means_leave() -> None:
    rx = connected()
    payload = bytes([ResetCode.DROPPED]) + b"no-progress"
    rx.receive_packet(Packet(PacketType.RST, 1, rx.connection, payload=payload), SERVER, 0.3)
    assert events(rx) == [ev.ConnectionReset("no-progress", 0.3, ResetCode.DROPPED)]
    assert rx.done


def test_packets_from_strangers_or_other_channels_are_ignored() -> None:
    rx = connected()
    rx.receive_packet(Packet(PacketType.RST, 1, rx.connection), ("203.0.113.9", 5000), 0.3)
    rx.receive_packet(Packet(PacketType.RST, 1, rx.connection + 1), SERVER, 0.3)
    rx.receive_packet(data(0, b"zz"), SERVER, 0.3)
    rx.receive_datagram(encode(Packet(PacketType.DATA, 2, 0, 0, payload=b"other channel")), SERVER, 0.3)
    rx.receive_datagram(b"\x00garbage", SERVER, 0.3)
    assert rx.state is ReceiverState.ESTABLISHED
    assert rx.stats.foreign == 3 and rx.stats.malformed == 1


def test_window_shrinks_with_unconsumed_data_and_next_event_does_not_change_it() -> None:
    rx = connected()
    full = rx.window
    rx.receive_packet(data(0, b"a" * 1000), SERVER, 0.1)
    assert rx.window == full - 1000
    events(rx)
    assert rx.window == full - 1000  # taking the event is not reading the bytes
    rx.consumed(1000)
    assert rx.window == full


def test_data_past_the_offered_window_is_dropped_until_the_application_reads() -> None:
    rx = Receiver(SERVER, ReceiverConfig(receive_buffer=4096), random.Random(3))
    rx.connect(0.0)
    sent(rx)
    rx.receive_packet(Packet(PacketType.SYN_ACK, 1, rx.connection, seq=0, tsval=77), SERVER, 0.01)
    sent(rx, 0.01)
    events(rx)
    for seq in range(0, 6144, 1024):  # nobody reads: the last two do not fit in 4096 bytes
        rx.receive_packet(data(seq, b"x" * 1024), SERVER, 0.1)
    assert (rx.stats.segments, rx.stats.beyond_window, rx.window) == (4, 2, 0)
    acks = [p for p in sent(rx, 0.1) if p.type is PacketType.ACK]
    assert acks and acks[-1].ack == 4096 and acks[-1].window == 0  # the source learns the window is shut
    assert sum(len(e.data) for e in events(rx) if isinstance(e, ev.DataReceived)) == 4096
    rx.consumed(4096)
    rx.receive_packet(data(4096, b"x" * 1024), SERVER, 0.2)  # the repair, once the application read
    assert rx.rcv_nxt == 5120 and rx.stats.beyond_window == 2


def test_close_sends_rst() -> None:
    rx = connected()
    rx.close(1.0)
    (rst,) = sent(rx, 1.0)
    assert rst.type is PacketType.RST


# --- the one-way delay sample of the ACKs -----------------------------------------------------


def _batch(*packets: Packet) -> list[tuple[bytes | memoryview, Address]]:
    return [(encode(p), SERVER) for p in packets]


def test_an_ack_reports_the_one_way_delay_of_the_newest_data_to_the_batchs_arrival() -> None:
    rx = connected()
    stamped = Packet(PacketType.DATA, 1, 0, 0, tsval=1_000_000, ack_every=1, payload=b"a" * 100)
    newest = Packet(PacketType.DATA, 1, 0, 100, tsval=1_000_400, ack_every=1, payload=b"b" * 100)
    rx.receive_datagrams(_batch(stamped, newest), 1.5, via_group=True, arrival=1.0025)  # read 0.5 s late
    (ack,) = sent(rx, 1.5)
    assert ack.ack == 200
    assert delay_sample(ack.seq) == 1_002_500 - 1_000_400  # to the kernel's arrival, not to the read


def test_without_an_arrival_time_the_sample_runs_to_now_and_a_repair_is_none() -> None:
    rx = connected()
    rx.receive_packet(data(0, b"a" * 100, every=1), SERVER, 0.02)
    (ack,) = sent(rx, 0.02)
    assert delay_sample(ack.seq) == 20_000 - 0  # data() stamps tsval = seq
    repair = Packet(PacketType.REPAIR, 1, rx.connection, 100, tsval=5, ack_every=1, payload=b"r" * 100)
    rx.receive_packet(repair, SERVER, 0.03)
    (ack,) = sent(rx, 0.03)
    assert ack.ack == 200 and ack.seq == 0  # a repair's TSval is no delay sample: no sample at all


def test_a_batch_without_data_does_not_move_an_earlier_samples_arrival() -> None:
    rx = connected()
    rx.receive_datagrams(_batch(data(0, b"a" * 100, every=4)), 0.02, via_group=True, arrival=0.019)
    heartbeat_free = Packet(PacketType.RETRY, 1, rx.connection, payload=bytes(16))
    rx.receive_datagrams(_batch(heartbeat_free), 0.5, arrival=0.499)  # no DATA: the sample stays
    rx.handle_timer(rx.next_deadline() or 0.5)
    (ack,) = sent(rx, 0.5)
    assert delay_sample(ack.seq) == 19_000
