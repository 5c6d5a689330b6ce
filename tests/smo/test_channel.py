"""The TCP-SMO source, driven packet by packet."""

from __future__ import annotations

import itertools
import random

import pytest

from smocast.core.datagram import Address
from smocast.core.timestamps import timestamp
from smocast.smo import events as ev
from smocast.smo.channel import Channel
from smocast.smo.config import ChannelConfig, DropRules
from smocast.smo.outbox import SourceDatagram
from smocast.smo.policies import WindowPolicy
from smocast.smo.standin import validated_syn
from smocast.wire import Packet, PacketType, decode, encode

GROUP: Address = ("232.1.1.1", 5000)
MSS = 1000
T0 = 1.0  # a timestamp of 0 means "no echo", so the clock starts later


def peer(i: int) -> Address:
    return (f"198.51.100.{i + 1}", 7000)


class Harness:
    def __init__(self, receivers: int, **config: object) -> None:
        config.setdefault("mss", MSS)
        config.setdefault("min_receivers", receivers)
        config.setdefault("pacing", False)
        self.channel = Channel(GROUP, ChannelConfig(**config), random.Random(1))  # type: ignore[arg-type]
        self.now = T0
        self.events: list[object] = []
        self.sent: list[tuple[Packet, Address, bool]] = []
        for i in range(receivers):
            self.join(i)

    def join(self, i: int) -> Packet:
        self.sent += [(d.packet, d.destination, d.multicast) for d in self.syn(i)]
        synack = [p for p, dest, _ in self.pump() if p.type is PacketType.SYN_ACK and dest == peer(i)][-1]
        self.ack(i, synack.seq, tsecr=timestamp(self.now - 0.01))  # a 10 ms handshake RTT
        return synack

    def syn(self, i: int, connection: int | None = None, **fields: int) -> list[SourceDatagram]:
        """Receiver ``i``'s SYN with the cookie of the source's RETRY (what a real receiver does)."""
        syn = Packet(PacketType.SYN, 1, connection or i + 1, tsval=1, **fields)  # type: ignore[arg-type]
        return validated_syn(self.channel, syn, peer(i), self.now)

    def pump(self) -> list[tuple[Packet, Address, bool]]:
        out = [(decode(d.data), d.destination, d.multicast) for d in self.channel.datagrams_to_send(self.now)]
        self.sent += out
        while (e := self.channel.next_event()) is not None:
            self.events.append(e)
        return out

    def ack(
        self, i: int, ack: int, sack: tuple[tuple[int, int], ...] = (), tsecr: int = 0, window: int = 1 << 24
    ) -> list[tuple[Packet, Address, bool]]:
        packet = Packet(PacketType.ACK, 1, i + 1, ack=ack, window=window, tsecr=tsecr, sack=sack)
        self.channel.receive_datagram(encode(packet), peer(i), self.now)
        return self.pump()

    def advance(self, dt: float) -> list[tuple[Packet, Address, bool]]:
        self.now += dt
        out = []
        while (deadline := self.channel.next_deadline()) is not None and deadline <= self.now:
            self.channel.handle_timer(deadline)
            out += self.pump()
        return out + self.pump()

    def data_sent(self) -> list[Packet]:
        return [p for p, _, _ in self.sent if p.type is PacketType.DATA]

    def repairs(self) -> list[tuple[int, Address, bool]]:
        return [(p.seq, dest, mc) for p, dest, mc in self.sent if p.type is PacketType.REPAIR]

    def of(self, kind: type) -> list[object]:
        return [e for e in self.events if isinstance(e, kind)]


def test_wait_admission_holds_data_until_enough_receivers_join() -> None:
    h = Harness(0, min_receivers=3)
    h.channel.write(bytes(5000))
    h.join(0)
    h.join(1)
    assert h.data_sent() == []
    h.join(2)
    assert len(h.data_sent()) == 5
    assert len(h.of(ev.ReceiverJoined)) == 3
    assert h.of(ev.TransferStarted) == [ev.TransferStarted(3, T0)]


def test_late_joiner_is_refused_in_wait_mode() -> None:
    h = Harness(2)
    h.channel.write(bytes(3000))
    h.pump()
    h.syn(9, connection=99)
    out = h.pump()
    assert [(p.type, dest) for p, dest, _ in out] == [(PacketType.RST, peer(9))]
    (refused,) = h.of(ev.ReceiverDropped)
    assert refused.reason is ev.DropReason.REFUSED


def test_late_joiner_in_continuous_mode_starts_at_the_current_sequence() -> None:
    h = Harness(0, admission="continuous", min_receivers=0)
    h.channel.write(bytes(7000))
    h.pump()
    assert h.channel.snd_nxt == 7000
    synack = h.join(0)
    assert synack.seq == 7000


def test_window_edge_waits_for_the_slowest() -> None:
    h = Harness(3)
    h.channel.write(bytes(10 * MSS))
    h.pump()
    h.ack(0, 4 * MSS)
    h.ack(1, 6 * MSS)
    assert h.channel.window_edge == 0
    h.ack(2, 2 * MSS)
    assert h.channel.window_edge == 2 * MSS
    assert h.channel.buffer_base == 2 * MSS


def test_quorum_releases_without_the_slowest() -> None:
    h = Harness(4, window_policy=WindowPolicy.parse("quorum:0.75"))
    h.channel.write(bytes(10 * MSS))
    h.pump()
    for i in range(3):
        h.ack(i, 5 * MSS)
    assert h.channel.window_edge == 5 * MSS
    assert h.channel.buffer_base == 0  # kept for the fourth receiver's repairs


def test_fast_retransmit_repairs_one_receiver_by_unicast() -> None:
    h = Harness(10)
    h.channel.write(bytes(10 * MSS))
    h.pump()
    h.ack(3, 2 * MSS, sack=((3 * MSS, 6 * MSS),))  # segment [2000, 3000) is missing
    assert h.repairs() == [(2 * MSS, peer(3), False)]
    assert h.channel.stats.repair_unicast == 1


def test_rack_detects_loss_in_a_small_window_after_a_reordering_window() -> None:
    h = Harness(2)
    h.channel.write(bytes(3 * MSS))
    h.pump()
    h.now = T0 + 0.01
    h.ack(0, 0, tsecr=timestamp(T0))
    h.ack(0, MSS, sack=((2 * MSS, 3 * MSS),), tsecr=timestamp(T0))
    assert h.repairs() == []  # only one segment above the hole: not yet
    h.advance(0.05)
    assert (MSS, peer(0), False) in h.repairs()


def test_enough_receivers_missing_the_same_segment_get_one_multicast_repair() -> None:
    h = Harness(40, repair_multicast_fraction=0.1)  # threshold: 4 of 40
    h.channel.write(bytes(10 * MSS))
    h.pump()
    for index in range(4):
        h.ack(index, 0, sack=((MSS, 5 * MSS),))
    assert h.repairs() == [(0, peer(0), False), (0, peer(1), False), (0, peer(2), False), (0, GROUP, True)]
    h.ack(4, 0, sack=((MSS, 5 * MSS),))  # a fifth report just after: covered by the multicast
    assert len(h.repairs()) == 4
    assert h.channel.stats.repair_multicast == 1


@pytest.mark.parametrize("live", [2, 20])
def test_a_segment_two_receivers_miss_goes_to_each_by_unicast_and_a_third_brings_the_multicast(live: int) -> None:
    """The first reporter already has its unicast repair: for the second, a multicast would
    save no packet and land on every other receiver as a duplicate (5% of 20 is one)."""
    h = Harness(live)
    h.channel.write(bytes(10 * MSS))
    h.pump()
    h.ack(0, 0, sack=((MSS, 5 * MSS),))
    h.ack(1, 0, sack=((MSS, 5 * MSS),))
    assert h.repairs() == [(0, peer(0), False), (0, peer(1), False)]
    assert h.channel.stats.repair_multicast == 0
    if live > 2:
        h.ack(2, 0, sack=((MSS, 5 * MSS),))
        assert h.repairs() == [(0, peer(0), False), (0, peer(1), False), (0, GROUP, True)]


def test_timeout_repairs_and_collapses_the_window() -> None:
    h = Harness(1)
    h.channel.write(bytes(4 * MSS))
    h.pump()
    h.advance(1.5)  # no ACK at all: probe, then retransmission timeout
    assert h.repairs()
    (info,) = h.channel.receivers()
    assert info.cwnd == MSS


def test_a_silent_receiver_is_dropped_and_the_others_go_on() -> None:
    h = Harness(3, drop_rules=DropRules(progress_timeout=2.0))
    h.channel.write(bytes(6 * MSS))
    h.pump()
    for _ in range(1, 30):
        h.advance(0.1)
        h.ack(0, 6 * MSS)
        h.ack(1, 6 * MSS)
        if h.of(ev.ReceiverDropped):
            break
    (dropped,) = h.of(ev.ReceiverDropped)
    assert dropped.reason is ev.DropReason.NO_PROGRESS and dropped.address == peer(2)
    assert any(p.type is PacketType.RST and dest == peer(2) for p, dest, _ in h.sent)
    assert h.channel.window_edge == 6 * MSS
    assert h.channel.live == 2


@pytest.mark.parametrize("answers", [True, False])
def test_a_receiver_that_answers_probes_is_not_dropped_while_it_backs_off(answers: bool) -> None:
    """Every repair to it is lost, but it answers each probe with an ACK: alive. Its RTO stops
    doubling at an eighth of the progress timeout, so it is probed that often."""
    h = Harness(1, drop_rules=DropRules(progress_timeout=4.0, min_rate_fraction=None))
    h.channel.write(bytes(4 * MSS))
    h.pump()
    probes = []
    for _ in range(300):  # 30 s
        out = h.advance(0.1)
        if any(p.type is PacketType.REPAIR for p, _, _ in out):
            probes.append(h.now)
            if answers:
                h.ack(0, 0)  # a duplicate ACK: the repair was lost, but it is there
        if h.of(ev.ReceiverDropped):
            break
    dropped = h.of(ev.ReceiverDropped)
    if answers:
        assert not dropped and max(b - a for a, b in itertools.pairwise(probes)) <= 0.5 + 0.11
    else:
        assert [d.reason for d in dropped] == [ev.DropReason.NO_PROGRESS] and h.now < 6.0


def test_excessive_rtt_is_dropped_by_the_sweep() -> None:
    h = Harness(4, drop_rules=DropRules(rtt_factor=5.0, rtt_floor=0.1), sweep_interval=0.05)
    h.channel.write(bytes(MSS))
    h.pump()
    h.now = T0 + 0.02
    for i in range(3):
        h.ack(i, MSS, tsecr=timestamp(T0))
    h.now = T0 + 1.0
    h.ack(3, MSS, tsecr=timestamp(T0))
    h.advance(0.1)
    (dropped,) = h.of(ev.ReceiverDropped)
    assert dropped.reason is ev.DropReason.RTT_EXCESSIVE and dropped.address == peer(3)


def test_cwnd_floor_rule() -> None:
    h = Harness(
        2, drop_rules=DropRules(cwnd_floor=3 * MSS, cwnd_floor_time=0.5, progress_timeout=None), sweep_interval=0.1
    )
    h.channel.write(bytes(20 * MSS))
    h.pump()
    for _ in range(15):
        h.advance(0.1)
        h.ack(0, h.channel.snd_nxt)
    dropped = h.of(ev.ReceiverDropped)
    assert [d.reason for d in dropped] == [ev.DropReason.CWND_FLOOR]  # receiver 1 timed out down to 1 MSS


def test_close_finishes_every_receiver_with_fin() -> None:
    h = Harness(2)
    h.channel.write(bytes(2500))
    h.channel.close()
    h.pump()
    h.ack(0, 2500)
    h.ack(1, 2500)
    fins = [(p.seq, dest) for p, dest, _ in h.sent if p.type is PacketType.FIN]
    assert sorted(fins) == [(2500, peer(0)), (2500, peer(1))]
    h.ack(0, 2501)
    h.ack(1, 2501)
    assert len(h.of(ev.ReceiverCompleted)) == 2
    assert h.of(ev.ChannelFinished) == [ev.ChannelFinished(2, 0, T0)]
    assert h.channel.finished


def test_bad_input_is_counted_and_answered_sensibly() -> None:
    h = Harness(1)
    h.channel.receive_datagram(b"\x01\x03 not a packet", peer(0), 0.0)
    h.channel.receive_datagram(encode(Packet(PacketType.ACK, 42, 1)), peer(0), 0.0)
    h.channel.receive_datagram(encode(Packet(PacketType.ACK, 1, 77)), peer(5), 0.0)
    out = h.pump()
    assert h.channel.stats.malformed == 1
    assert h.channel.stats.foreign == 1
    assert [(p.type, p.connection, dest) for p, dest, _ in out] == [(PacketType.RST, 77, peer(5))]
    assert h.channel.live == 1


def test_acks_beyond_what_was_sent_are_ignored() -> None:
    h = Harness(1)
    h.channel.write(bytes(2 * MSS))
    h.pump()
    h.ack(0, 50 * MSS)
    assert h.channel.window_edge == 0


def test_an_ack_covering_a_repair_samples_the_rtt_of_the_repair_it_echoes() -> None:
    """RFC 6298 (3): with timestamps, Karn's rule is not needed. The queue that caused a loss
    grows during its recovery; the estimate must follow it, or every repair is sent again
    before its ACK can return (the RACK-style timer of a repair counts from the smoothed RTT)."""
    h = Harness(1)
    h.channel.write(bytes(6 * MSS))
    h.pump()
    h.now = T0 + 0.01
    h.ack(0, MSS, tsecr=timestamp(T0))
    srtt = h.channel.receivers()[0].srtt
    assert srtt == pytest.approx(0.01, abs=1e-5)
    h.ack(0, MSS, sack=((2 * MSS, 6 * MSS),))
    (repair,) = [p for p, _, _ in h.sent if p.type is PacketType.REPAIR]
    assert repair.seq == MSS and repair.tsval == timestamp(h.now)
    h.now += 0.2  # the repair's own round trip, behind a queue that grew
    h.ack(0, 6 * MSS, tsecr=repair.tsval)  # the receiver echoes the repair that filled its hole
    assert h.channel.receivers()[0].srtt == pytest.approx(0.875 * srtt + 0.125 * 0.2, abs=1e-5)


def test_write_after_close_is_the_callers_mistake() -> None:
    h = Harness(1)
    h.channel.close()
    with pytest.raises(Exception, match="after close"):
        h.channel.write(b"x")


def test_a_receiver_whose_window_stays_shut_is_dropped() -> None:
    h = Harness(2, drop_rules=DropRules(progress_timeout=1.0), sweep_interval=0.1)
    h.channel.write(bytes(40 * MSS))
    h.pump()
    h.ack(0, 10 * MSS)
    h.ack(1, 10 * MSS, window=0)  # it takes everything sent, then shuts its window
    for _ in range(30):
        h.advance(0.1)
        h.ack(0, h.channel.snd_nxt)
    (dropped,) = h.of(ev.ReceiverDropped)
    assert dropped.address == peer(1) and "window" in dropped.detail
    assert dropped.info is not None and dropped.info.acked == 10 * MSS


def test_completion_reports_the_final_accounting() -> None:
    h = Harness(1)
    h.channel.write(bytes(3 * MSS))
    h.channel.close()
    h.pump()
    h.ack(0, 3 * MSS, tsecr=timestamp(T0))
    h.ack(0, 3 * MSS + 1)
    (done,) = h.of(ev.ReceiverCompleted)
    assert done.info is not None and done.info.acked == 3 * MSS and done.info.srtt is not None


def test_continuous_mode_without_receivers_sends_everything_written() -> None:
    h = Harness(0, admission="continuous", min_receivers=0)
    h.channel.write(bytes(200 * MSS))
    h.pump()
    assert h.channel.pending_bytes == 0 and len(h.data_sent()) == 200


def test_a_written_bytearray_is_copied_so_later_changes_do_not_leak() -> None:
    h = Harness(1)
    buffer = bytearray(b"a" * MSS)
    h.channel.write(buffer)
    buffer[:] = b"b" * MSS
    h.pump()
    (data,) = h.data_sent()
    assert data.payload == b"a" * MSS


def test_each_receiver_counts_the_multicast_repairs_it_asked_for() -> None:
    """Three receivers miss segment 0: the third report sends it once to the group, and every
    reporter's accounting (the send table, records, JSON) counts that multicast repair."""
    h = Harness(4)
    h.channel.write(bytes(5 * MSS))
    h.pump()
    hole = ((MSS, 5 * MSS),)  # everything but the first segment arrived
    first = h.ack(0, 0, sack=hole)
    second = h.ack(1, 0, sack=hole)
    third = h.ack(2, 0, sack=hole)
    for reply in (first, second):
        assert [(p.type, multicast) for p, _, multicast in reply if p.type is PacketType.REPAIR] == [
            (PacketType.REPAIR, False)
        ]
    assert [(p.seq, multicast) for p, _, multicast in third if p.type is PacketType.REPAIR] == [(0, True)]
    info = {r.receiver: r for r in h.channel.receivers()}
    assert [(info[i].repairs_unicast, info[i].repairs_multicast) for i in (1, 2, 3, 4)] == [
        (1, 1),
        (1, 1),
        (0, 1),
        (0, 0),
    ]
    assert h.channel.stats.repair_multicast == 1


def test_after_a_timeout_the_lost_window_is_repaired_in_slow_start() -> None:
    """RFC 5681 (3.1): after a retransmission timeout the sender restarts from one segment and
    slow-starts. A receiver that lost the whole flight gets its repairs in rounds that double,
    not one segment per round trip (which held a channel near zero for ten seconds beside TCP)."""
    h = Harness(1)
    h.channel.write(bytes(400 * MSS))
    h.pump()
    for _ in range(4):  # four clean round trips: the window grows well past the initial one
        h.advance(0.01)
        h.ack(0, len(h.data_sent()) * MSS, tsecr=timestamp(h.now - 0.01))
    una = len(h.data_sent()) * MSS
    h.advance(0.01)
    h.ack(0, una, tsecr=timestamp(h.now - 0.01))
    flight = len(h.data_sent()) * MSS - una
    assert flight >= 32 * MSS
    before = len(h.repairs())
    h.advance(1.5)  # the whole flight is lost: the retransmission timeout fires
    rounds: list[int] = []
    sent = h.repairs()[before:]
    while una < len(h.data_sent()) * MSS and len(rounds) < 60:
        rounds.append(len(sent))
        h.advance(0.01)
        now_sent = len(h.repairs())
        for _ in sent:  # each repair arrives and is acknowledged, one segment further each
            una += MSS
            h.ack(0, una, tsecr=timestamp(h.now - 0.01))
        sent = h.repairs()[now_sent:]
    # the timer fired three times more before the first ACK (each time one more repair, the
    # threshold kept), then each round doubles: 4, 8, 16, 32 and the rest
    assert all(later >= 2 * earlier for earlier, later in itertools.pairwise(rounds[:4]))
    assert len(rounds) <= 6  # not one round trip per lost segment (23 rounds before)
